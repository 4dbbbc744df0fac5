"""The value checks of one table with Great Expectations (and its table-level ones).

Builds the table's DataFrame (only the delivered columns its suite reads), runs its
suite through ``GXRunner`` (pandas engine) and turns each expectation's outcome into a
run row, a table-level finding or row hits (``dq_hits``, by source row) for
``issues``.
"""

from __future__ import annotations

import pandas as pd

from csc_pipeline.contract import Table
from csc_pipeline.quality import issues as issues_mod
from csc_pipeline.quality import typed
from csc_pipeline.quality.findings import TABLE_LEVEL_RULES, NightChecks
from csc_pipeline.quality.gx_runner import GXRunner, applicable
from csc_pipeline.quality.rules import CRITICAL
from csc_pipeline.quality.suites import load_suite
from csc_pipeline.quality.table_checks import columns_present, min_rows, table_level


def validate_table(
    con,
    night: NightChecks,
    runner: GXRunner,
    table: Table,
    logged: dict | None,
    manifest: dict | None,
) -> None:
    """GX validation of one table; row-level failures go to dq_hits."""
    rows = con.execute(f"select count(*) from raw.{typed.q(table.name)}").fetchone()[0]
    night.table_rows[table.name] = rows
    other_nights = con.execute(
        f"select count(*) from raw.{typed.q(table.name)} "
        f"where _export_date is distinct from ?::date",
        [night.export_date],
    ).fetchone()[0]
    if other_nights:
        night.table_finding(
            "wrong_night",
            table.name,
            None,
            f"{other_nights:,} rows of raw.{table.name} are from another night",
        )
    missing = list((logged or {}).get("missing", []))
    extra = list((logged or {}).get("extra", []))
    if extra:
        night.table_finding(
            "extra_column",
            table.name,
            None,
            f"{table.file_name} has unexpected columns (ignored): {', '.join(extra)}",
        )
    declared = None
    if manifest is not None:
        entry = (manifest.get("files") or {}).get(table.file_name)
        if entry is None:
            night.table_finding(
                "file_missing", table.name, None, f"{table.file_name} is not listed in the manifest"
            )
        else:
            declared = entry.get("rows")
    if declared is None and logged:
        declared = logged.get("manifest_rows")
    if declared is None:
        declared = rows  # nothing to compare with: the check passes trivially
    night.manifest_rows[table.name] = int(declared)

    delivered = [c for c in table.warehouse_columns if c not in missing]
    suite, skipped = applicable(load_suite(table.name), set(delivered))
    for exp in skipped:
        cols = exp["meta"].get("columns") or []
        night.run(
            exp["meta"]["rule_id"],
            table.name,
            cols[0] if cols else None,
            "skipped",
            message="column not delivered",
            severity=exp.get("severity"),
        )
    df = typed.frame(con, table, delivered)
    params = {
        "manifest_rows": int(declared),
        "min_rows": min_rows(night.volume.get(table.name, {}).get("rows")),
        # a Timestamp: GX compares datetime64[ns] columns with it vectorised
        "export_date": pd.Timestamp(night.export_date),
    }
    for o in runner.validate(table.name, suite, df, params):
        if o.error:
            night.table_finding(
                "check_error",
                table.name,
                o.column,
                f"check {o.rule_id} ({o.expectation}) could not run: {o.error}",
            )
            night.run(o.rule_id, table.name, o.column, "error", message=o.error, severity=CRITICAL)
            continue
        if o.rule_id == "column_missing":
            columns_present(night, table, o)
            continue
        if o.rule_id in TABLE_LEVEL_RULES:
            if o.success:
                night.run(o.rule_id, table.name, o.column, "pass", severity=o.severity)
            else:
                table_level(night, table, o)
            continue
        failed = int(o.unexpected_count or 0)
        night.run(
            o.rule_id,
            table.name,
            o.column,
            "fail" if failed else "pass",
            failed,
            severity=o.severity,
        )
        if failed and len(o.source_rows):
            issues_mod.insert_gx_hits(
                con, table, o.rule_id, o.columns, o.source_rows, night.export_date
            )
