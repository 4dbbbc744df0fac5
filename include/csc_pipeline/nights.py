"""Which nights exist, which are complete, and what happened to each.

A night's folder is complete only when its manifest is present (the case system writes
it last). `meta.nights` in each council's warehouse records every night the pipeline
has seen and its status, so re-runs are idempotent and a quarantined night is not
retried until it is delivered again (a changed manifest) or re-run explicitly. Which
night to process next is steps/discover.py's (it reads this module and quarantine.py;
this module imports neither).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from csc_pipeline import warehouse as wh
from csc_pipeline.contract import MANIFEST_NAME

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

STATUS_LANDED = "landed"
STATUS_QUARANTINED = "quarantined"
STATUS_PUBLISHED = "published"

META_DDL = """
create schema if not exists meta;
create table if not exists meta.nights (
    la_code varchar not null,
    export_date date not null,
    manifest_sha256 varchar,
    status varchar not null,
    landed_at timestamp,
    validated_at timestamp,
    published_at timestamp,
    message varchar,
    primary key (la_code, export_date)
);
create table if not exists meta.load_log (
    la_code varchar not null,
    export_date date not null,
    table_name varchar not null,
    file_name varchar not null,
    sha256 varchar,
    manifest_rows bigint,
    rows_loaded bigint,
    extra_columns varchar[],
    missing_columns varchar[],
    loaded_at timestamp,
    status varchar default 'loaded',  -- loaded | not_supplied (an optional feed absent)
    primary key (la_code, export_date, table_name)
);
"""


@dataclass(frozen=True)
class Night:
    """One night's export folder."""

    la_code: str
    export_date: str
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_NAME

    @property
    def is_complete(self) -> bool:
        return self.manifest_path.is_file()

    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_path.read_bytes()).hexdigest()

    def manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text(encoding="utf-8-sig"))


def utcnow() -> datetime:
    """Naive UTC timestamp (DuckDB TIMESTAMP has no zone)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def councils(exports_root: Path) -> list[str]:
    """Council codes with an export folder, sorted."""
    if not exports_root.is_dir():
        return []
    return sorted(
        p.name for p in exports_root.iterdir() if p.is_dir() and not p.name.startswith(".")
    )


def complete_nights(exports_root: Path, la_code: str) -> list[Night]:
    """Complete nights (manifest present) of one council, oldest first."""
    base = exports_root / la_code
    if not base.is_dir():
        return []
    nights = [
        Night(la_code, p.name, p) for p in base.iterdir() if p.is_dir() and DATE_RE.match(p.name)
    ]
    return sorted((n for n in nights if n.is_complete), key=lambda n: n.export_date)


def ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(META_DDL)
    # warehouses created before load_log had a status column
    con.execute(
        "alter table meta.load_log add column if not exists status varchar default 'loaded'"
    )


def seen_nights(warehouse: Path, la_code: str) -> dict[str, tuple[str, str]]:
    """export_date -> (status, manifest_sha256) for nights recorded in the warehouse."""
    if not warehouse.exists():
        return {}
    with wh.connect(warehouse, read_only=True) as con:
        if not wh.table_exists(con, "meta", "nights"):
            return {}
        rows = con.execute(
            "select strftime(export_date, '%Y-%m-%d'), status, manifest_sha256 "
            "from meta.nights where la_code = ?",
            [la_code],
        ).fetchall()
    return {d: (s, h) for d, s, h in rows}


def set_status(
    con: duckdb.DuckDBPyConnection,
    la_code: str,
    export_date: str,
    status: str,
    *,
    manifest_sha256: str | None = None,
    message: str | None = None,
) -> None:
    """Record a night's status (insert or update), stamping the matching timestamp."""
    ensure_meta(con)
    now = utcnow()
    column = {
        STATUS_LANDED: "landed_at",
        STATUS_QUARANTINED: "validated_at",
        STATUS_PUBLISHED: "published_at",
    }[status]
    con.execute(
        f"""
        insert into meta.nights (la_code, export_date, manifest_sha256, status, {column}, message)
        values (?, ?, ?, ?, ?, ?)
        on conflict (la_code, export_date) do update set
            manifest_sha256 = coalesce(excluded.manifest_sha256, meta.nights.manifest_sha256),
            status = excluded.status,
            {column} = excluded.{column},
            message = excluded.message
        """,
        [la_code, export_date, manifest_sha256, status, now, message],
    )
