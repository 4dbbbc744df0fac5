"""Which version of the dbt seeds a warehouse holds, so a night loads them only when they
changed.

The seeds (code maps, role codes, the KPI catalogue and thresholds, bank holidays,
England and neighbour benchmarks) change with a release of this project or an EES
benchmark refresh, never with a night's data. Reloading all of them every night cost
about 2-3 s of a typical night (dbt loads seeds row by row through agate). The
working copy of a night starts as a copy of the published warehouse, so it already
holds the seeds the last night loaded: the validate step loads them again only when
this fingerprint differs from the one recorded beside them (``meta.seed_state``), e.g.
on the first night, after an upgrade, or after a benchmark refresh. A rebuild from the
archive starts from an empty file, so its first night loads them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from csc_pipeline import warehouse as wh
from csc_pipeline.config import DBT_PROJECT_DIR

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"


def fingerprint() -> str:
    """SHA-256 of every seed file and of dbt_project.yml (which sets the seeds' schema)."""
    digest = hashlib.sha256()
    files = sorted(p for p in SEEDS_DIR.rglob("*") if p.is_file())
    for path in [DBT_PROJECT_DIR / "dbt_project.yml", *files]:
        digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def loaded(con: wh.Connection) -> str | None:
    """The fingerprint of the seeds this warehouse holds, or None (never loaded here)."""
    if not wh.table_exists(con, "meta", "seed_state"):
        return None
    row = con.execute("select fingerprint from meta.seed_state").fetchone()
    return row[0] if row else None


def record(con: wh.Connection, value: str) -> None:
    """Record that the seeds of ``value`` are loaded (after dbt loaded them)."""
    con.execute("create schema if not exists meta")
    con.execute(
        "create table if not exists meta.seed_state "
        "(fingerprint varchar not null, loaded_at timestamp not null)"
    )
    with wh.transaction(con):
        con.execute("delete from meta.seed_state")
        con.execute("insert into meta.seed_state values (?, current_timestamp)", [value])


def current(path: Path | str) -> str | None:
    """``loaded`` of the warehouse file at ``path`` (None if the file does not exist)."""
    if not Path(path).exists():
        return None
    with wh.connect(path, read_only=True) as con:
        return loaded(con)
