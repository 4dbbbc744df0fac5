"""publish: the night's marts become the council's published warehouse.

Exports every marts table to Parquet (var/parquet/<la>/<date>/), marks the night
published in meta.nights, then swaps the working copy over the published file with one
atomic rename (csc_pipeline.workspace), points `latest` at the night and prunes old
per-night folders (csc_pipeline.retention). Re-running it for the same night gives the
same files.
"""

from __future__ import annotations

from pathlib import Path

from csc_pipeline import nights, quarantine, retention, warehouse, workspace
from csc_pipeline.config import Settings, settings
from csc_pipeline.steps.discover import night_of


def run(ref: dict, cfg: Settings | None = None) -> dict:
    cfg = cfg or settings()
    night, published, work = night_of(ref), Path(ref["warehouse"]), Path(ref["work"])
    out_dir = cfg.parquet_dir / night.la_code / night.export_date
    out_dir.mkdir(parents=True, exist_ok=True)
    with warehouse.connect(work) as con:
        tables = warehouse.tables(con, "marts", base_tables_only=True)
        for table in tables:
            target = warehouse.sql_literal(str(out_dir / f"{table}.parquet"))
            con.execute(f"copy marts.{table} to {target} (format parquet)")
        nights.set_status(
            con,
            night.la_code,
            night.export_date,
            nights.STATUS_PUBLISHED,
            manifest_sha256=night.manifest_sha256(),
        )
        con.execute("checkpoint")
    workspace.publish(published, night.export_date)
    quarantine.release(cfg.var_dir, night)
    warehouse.atomic_symlink(cfg.parquet_dir / night.la_code / "latest", night.export_date)
    for root in (cfg.parquet_dir, cfg.dq_docs_dir):
        retention.prune_nights(root / night.la_code, cfg.keep_nights, protect=night.export_date)
    return {**ref, "published_tables": tables, "parquet_dir": str(out_dir)}
