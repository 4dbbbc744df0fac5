"""The hub: every council's latest published figures side by side.

After all councils' nights, one table holds each council's `marts.kpi_monthly` from its
latest published night, with `la_code`, so figures built by the same dbt project from
the same definitions can be compared across councils.

It reads only the Parquet copies that `steps.publish` writes
(var/parquet/<la>/latest/kpi_monthly.parquet): no council's DuckDB file is opened, so
the hub never waits on (or blocks) a writer. A council whose night failed keeps its last
good figures here; `published_export_date` shows how current each council is. Only the
aggregate KPI table is pooled: person-level marts stay with their own council.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from csc_pipeline import warehouse as wh
from csc_pipeline.config import Settings, settings

log = logging.getLogger(__name__)

HUB_TABLES = ("kpi_monthly",)


def hub_dir(cfg: Settings) -> Path:
    return cfg.var_dir / "hub"


def latest_published(parquet_dir: Path, table: str) -> dict[str, tuple[str, Path]]:
    """la_code -> (export date, Parquet file) of each council's latest published night."""
    out = {}
    if not parquet_dir.is_dir():
        return out
    for council in sorted(p for p in parquet_dir.iterdir() if p.is_dir()):
        latest = council / "latest"
        path = latest / f"{table}.parquet"
        if latest.is_symlink() and path.is_file():
            night = latest.resolve()  # pin the night: `latest` may move while we read
            out[council.name] = (night.name, night / f"{table}.parquet")
    return out


def _sql_str(value: str | Path) -> str:
    return wh.sql_literal(str(value))


def build_hub(cfg: Settings | None = None, tables: tuple[str, ...] = HUB_TABLES) -> dict:
    """Write var/hub/<table>.parquet for each table (atomic replace) and a manifest."""
    cfg = cfg or settings()
    out_dir = hub_dir(cfg)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: dict = {"tables": {}, "councils": {}}
    with wh.connect() as con:  # in memory: the hub holds no state of its own
        # One thread: the copy below streams the councils' rows, and with more threads
        # DuckDB holds finished batches back to keep their order whenever one thread lags
        # (a loaded worker), which outgrew a small memory cap in the tests. 3-5 s either way.
        con.execute("set threads = 1")
        for table in tables:
            sources = latest_published(cfg.parquet_dir, table)
            target = out_dir / f"{table}.parquet"
            if not sources:
                log.warning("hub: no council has published %s yet", table)
                target.unlink(missing_ok=True)
                summary["tables"][table] = {"rows": 0, "councils": []}
                continue
            selects = []
            for la_code, (export_date, path) in sources.items():
                columns = {
                    r[0]
                    for r in con.execute(
                        f"describe select * from read_parquet({_sql_str(path)})"
                    ).fetchall()
                }
                if "la_code" in columns:
                    found = con.execute(
                        f"select distinct la_code from read_parquet({_sql_str(path)})"
                    ).fetchall()
                    if any(str(v[0]) != la_code for v in found):
                        raise ValueError(
                            f"{path}: la_code {found} does not match its folder {la_code}"
                        )
                    body = "*"
                else:
                    body = f"{_sql_str(la_code)} as la_code, *"
                selects.append(
                    f"select {body}, cast({_sql_str(export_date)} as date) as published_export_date "
                    f"from read_parquet({_sql_str(path)})"
                )
                summary["councils"].setdefault(la_code, export_date)
            tmp = out_dir / f".{table}.parquet.tmp"
            # Streamed, not sorted: an ORDER BY la_code sorted every council's rows (1.9 M for
            # 33 typical councils) and ran out of the per-process memory cap
            # (bench/README.md, "Round 5"). The file's row order is not part of its contract:
            # readers filter or sort by la_code themselves.
            con.execute(
                f"copy ({' union all by name '.join(selects)}) to {_sql_str(tmp)} (format parquet)"
            )
            wh.atomic_replace(tmp, target)
            rows = con.execute(f"select count(*) from read_parquet({_sql_str(target)})").fetchone()[
                0
            ]
            summary["tables"][table] = {
                "rows": rows,
                "councils": sorted(sources),
                "path": str(target),
            }
    wh.atomic_write_text(out_dir / "hub.json", json.dumps(summary, indent=2))
    log.info("hub: %s", summary["tables"])
    return summary
