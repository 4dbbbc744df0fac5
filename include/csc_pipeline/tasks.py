"""The steps of a council's night, as plain functions the DAG's tasks call.

Keeping the work here (not in the DAG file) makes the DAG cheap to parse and lets the
tests drive each step directly. Every step is idempotent: it can be retried or re-run
for the same night and leaves the same result. Steps exchange small JSON-able dicts
(XCom), never data.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import duckdb

from csc_pipeline import nights, quarantine, retention, workspace
from csc_pipeline.config import Settings, settings

log = logging.getLogger(__name__)


class NightQuarantined(RuntimeError):
    """The night failed a critical check; it is quarantined and must not be retried."""


def council_codes(cfg: Settings | None = None) -> list[str]:
    """Councils with an export folder, plus those delivering from a database (their
    folder appears with their first extract). Reading the profiles validates them."""
    from csc_pipeline.profile import load_profiles

    cfg = cfg or settings()
    database = load_profiles(cfg.councils_dir).database_councils()
    codes = sorted(set(nights.councils(cfg.exports_root)) | set(database))
    if cfg.la_codes:
        codes = [c for c in codes if c in cfg.la_codes]
    return codes


def check_configuration(cfg: Settings | None = None) -> list[str]:
    """The run's councils, after checking what would otherwise fail late: every council
    profile (ProfileError names file and line) and the pseudonym key of each council
    (CSC_PSEUDONYM_KEY, required for all but the sample council). Raises ConfigError."""
    from csc_pipeline.config import pseudonym_key

    codes = council_codes(cfg)
    for code in codes:
        pseudonym_key(code)
    return codes


def warehouse_for(la_code: str, cfg: Settings | None = None) -> Path:
    cfg = cfg or settings()
    return cfg.warehouse_for(la_code, multi=len(council_codes(cfg)) > 1)


def select_night(
    la_code: str, export_date: str | None = None, cfg: Settings | None = None
) -> dict | None:
    """The night to process: the given date (must be complete), else the oldest pending."""
    cfg = cfg or settings()
    warehouse = warehouse_for(la_code, cfg)
    if export_date:
        night = nights.Night(la_code, export_date, cfg.exports_root / la_code / export_date)
        if not night.is_complete:
            return None
    else:
        pending = nights.pending_nights(cfg.exports_root, warehouse, la_code, cfg.var_dir)
        if not pending:
            return None
        night = pending[0]
    return {
        "la_code": la_code,
        "export_date": night.export_date,
        "path": str(night.path),
        "warehouse": str(warehouse),
    }


def _night(ref: dict) -> nights.Night:
    return nights.Night(ref["la_code"], ref["export_date"], Path(ref["path"]))


def land(ref: dict, cfg: Settings | None = None) -> dict:
    """Start the night's working copy and land the export into its raw schema."""
    from csc_pipeline.landing import NightRejected, land_night

    cfg = cfg or settings()
    night, warehouse = _night(ref), Path(ref["warehouse"])
    work = workspace.start(warehouse, night.export_date)
    try:
        result = land_night(work, night)
    except NightRejected as exc:
        workspace.discard(warehouse, night.export_date)
        report = quarantine.quarantine(
            cfg.var_dir,
            night,
            stage="landing",
            message=str(exc),
            findings=[{"file": exc.file, "check": exc.check, "row": exc.row, "column": exc.column}],
        )
        raise NightQuarantined(
            f"Night {night.la_code} {night.export_date} quarantined at landing: "
            f"{exc} (report: {report})"
        ) from exc
    except Exception:
        workspace.discard(warehouse, night.export_date)
        raise
    log.info(result.summary())
    return {**ref, "work": str(work), "rows_landed": result.total_rows, "landing": result.summary()}


def validate(ref: dict, cfg: Settings | None = None) -> dict:
    """Run the data-quality gate; quarantine the night on a critical finding."""
    from csc_pipeline.quality.gate import format_critical_message, run_gate

    cfg = cfg or settings()
    night, warehouse = _night(ref), Path(ref["warehouse"])
    result = run_gate(
        Path(ref["work"]), night.la_code, night.export_date, night.path, cfg.dq_docs_dir
    )
    if result.is_quarantined:
        workspace.discard(warehouse, night.export_date)
        message = format_critical_message(result)
        report = quarantine.quarantine(
            cfg.var_dir,
            night,
            stage="validation",
            message=message,
            findings=[f.as_dict() for f in result.critical],
        )
        raise NightQuarantined(f"{message}\n(report: {report})")
    return {**ref, "dq_summary": result.summary, "dq_docs": str(result.docs_path or "")}


def build(ref: dict, cfg: Settings | None = None) -> dict:
    """Build staging, snapshots and marts in the working copy with dbt."""
    from csc_pipeline import model_runs
    from csc_pipeline.dbt_runner import run_dbt

    night = _night(ref)
    try:
        # dbt unit tests pin the definitions, not the night's data: CI runs them
        # (tests/test_pipeline_e2e.py), the nightly build skips them (see bench/README.md).
        result = run_dbt(
            "build",
            warehouse=Path(ref["work"]),
            la_code=night.la_code,
            export_date=night.export_date,
            extra_args=["--exclude", "test_type:unit"],
        )
        # per-model status: task-log table + meta.model_runs, published with the night
        models = model_runs.report_build(
            result.target_dir, Path(ref["work"]), night.la_code, night.export_date
        )
    except Exception:
        workspace.discard(Path(ref["warehouse"]), night.export_date)
        raise
    return {**ref, "dbt": result.summary(), **models}


MART_TABLES_SQL = """
select table_name from information_schema.tables
where table_schema = 'marts' and table_type = 'BASE TABLE' order by table_name
"""


def publish(ref: dict, cfg: Settings | None = None) -> dict:
    """Export the marts to Parquet, mark the night published and swap the warehouse in."""
    cfg = cfg or settings()
    night, warehouse, work = _night(ref), Path(ref["warehouse"]), Path(ref["work"])
    out_dir = cfg.parquet_dir / night.la_code / night.export_date
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(work))
    try:
        tables = [r[0] for r in con.execute(MART_TABLES_SQL).fetchall()]
        for table in tables:
            target = str(out_dir / f"{table}.parquet").replace("'", "''")
            con.execute(f"copy marts.{table} to '{target}' (format parquet)")
        nights.set_status(
            con,
            night.la_code,
            night.export_date,
            nights.STATUS_PUBLISHED,
            manifest_sha256=night.manifest_sha256(),
        )
        con.execute("checkpoint")
    finally:
        con.close()
    workspace.publish(warehouse, night.export_date)
    quarantine.release(cfg.var_dir, night)
    _point_latest(cfg.parquet_dir / night.la_code, night.export_date)
    for root in (cfg.parquet_dir, cfg.dq_docs_dir):
        retention.prune_nights(root / night.la_code, cfg.keep_nights, protect=night.export_date)
    return {**ref, "published_tables": tables, "parquet_dir": str(out_dir)}


def _point_latest(council_dir: Path, export_date: str) -> None:
    """`latest` -> the newest published night's Parquet folder (atomic symlink swap)."""
    link = council_dir / "latest"
    tmp = council_dir / ".latest.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(export_date, target_is_directory=True)
    tmp.replace(link)


def night_report(warehouse: Path) -> dict[str, Any]:
    """What the published warehouse holds (for the run summary)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        schemas = dict(
            con.execute(
                "select table_schema, count(*) from information_schema.tables group by 1 order by 1"
            ).fetchall()
        )
        last = con.execute(
            "select strftime(max(export_date), '%Y-%m-%d') from meta.nights where status = 'published'"
        ).fetchone()[0]
    finally:
        con.close()
    return {"tables_by_schema": schemas, "last_published": last}
