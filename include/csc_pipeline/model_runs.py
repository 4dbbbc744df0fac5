"""Per-model status of the night's dbt build: a task-log table and `meta.model_runs`.

Why not one Airflow task per model: the night is ONE `dbt build` process writing a
working copy that is swapped in atomically (DuckDB allows one writer; see
docs/per-model-visibility.md for the astronomer-cosmos watcher-mode evaluation). So the
build task reports each node itself, from dbt's run_results.json:

- in the task log, a table of every node (status, seconds, rows), slowest first, so an
  engineer sees which model failed or got slow without leaving the Airflow UI;
- in the warehouse, `meta.model_runs` (one row per node per night), written into the
  working copy before publish, so it is published atomically with the night it
  describes and the dashboard's pipeline-health page can chart model timings over
  nights. A re-run of a night replaces that night's rows (idempotent).

Only node names, statuses, timings and counts are kept: no SQL, no error text (a
database error can quote a data value, and a child's name must never leave the marts).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from csc_pipeline import warehouse as wh

log = logging.getLogger(__name__)

TABLE = "meta.model_runs"
EXECUTED = {"model", "seed", "snapshot", "test", "unit_test"}  # node types dbt runs
DDL = f"""
create schema if not exists meta;
create table if not exists {TABLE} (
    la_code varchar not null,
    export_date date not null,
    invocation_id varchar,
    unique_id varchar not null,
    resource_type varchar not null,
    node_name varchar not null,
    status varchar not null,
    started_at timestamp,
    completed_at timestamp,
    execution_seconds double,
    rows_affected bigint,
    failures bigint,
    primary key (la_code, export_date, unique_id)
)
"""


@dataclass(frozen=True)
class ModelRun:
    unique_id: str
    resource_type: str
    name: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    execution_seconds: float
    rows_affected: int | None
    failures: int | None


def _ts(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def read_run_results(target_dir: Path) -> tuple[str | None, list[ModelRun]]:
    """(invocation id, one ModelRun per node) from dbt's run_results.json."""
    path = Path(target_dir) / "run_results.json"
    if not path.is_file():
        return None, []
    data = json.loads(path.read_text())
    runs = []
    for r in data.get("results", []):
        unique_id = r.get("unique_id", "?")
        if unique_id.split(".", 1)[0] not in EXECUTED:
            continue  # exposures and the like: "no-op", nothing was run
        execute = next((t for t in r.get("timing") or [] if t.get("name") == "execute"), {})
        rows = (r.get("adapter_response") or {}).get("rows_affected")
        runs.append(
            ModelRun(
                unique_id=unique_id,
                resource_type=unique_id.split(".", 1)[0],
                # model.csc.kpi_monthly, test.csc.not_null_x_y.1a2b3c (hash suffix dropped)
                name=parts[2] if len(parts := unique_id.split(".")) >= 3 else unique_id,
                status=str(r.get("status")),
                started_at=_ts(execute.get("started_at")),
                completed_at=_ts(execute.get("completed_at")),
                execution_seconds=round(float(r.get("execution_time") or 0.0), 3),
                rows_affected=int(rows) if isinstance(rows, int) and rows >= 0 else None,
                failures=r.get("failures") if isinstance(r.get("failures"), int) else None,
            )
        )
    return data.get("metadata", {}).get("invocation_id"), runs


def summary_table(runs: list[ModelRun], limit: int = 200) -> str:
    """Every node (failures first, then slowest first) as a fixed-width table for the log."""
    order = sorted(runs, key=lambda r: (r.status in ("success", "pass"), -r.execution_seconds))
    width = max([len(r.name) for r in order] + [4])
    lines = [f"{'node':<{width}}  {'type':<8}  {'status':<8}  {'seconds':>7}  {'rows':>8}"]
    for r in order[:limit]:
        rows = "" if r.rows_affected is None else str(r.rows_affected)
        if r.failures:
            rows = f"{r.failures} fail"
        lines.append(
            f"{r.name:<{width}}  {r.resource_type:<8}  {r.status:<8}  "
            f"{r.execution_seconds:>7.2f}  {rows:>8}"
        )
    if len(order) > limit:
        lines.append(f"... and {len(order) - limit} more")
    return "\n".join(lines)


def record(
    warehouse: Path, la_code: str, export_date: str, invocation_id: str | None, runs: list[ModelRun]
) -> int:
    """Replace the night's rows in meta.model_runs of `warehouse` (the working copy)."""
    with wh.connect(warehouse) as con, wh.transaction(con):
        con.execute(DDL)
        con.execute(
            f"delete from {TABLE} where la_code = ? and export_date = ?", [la_code, export_date]
        )
        con.executemany(
            f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    la_code,
                    export_date,
                    invocation_id,
                    r.unique_id,
                    r.resource_type,
                    r.name,
                    r.status,
                    r.started_at,
                    r.completed_at,
                    r.execution_seconds,
                    r.rows_affected,
                    r.failures,
                ]
                for r in runs
            ],
        )
    return len(runs)


def report_build(target_dir: Path, warehouse: Path, la_code: str, export_date: str) -> dict:
    """Log the per-node table and record it in the working copy; a small dict for XCom."""
    invocation_id, runs = read_run_results(target_dir)
    if not runs:
        log.warning("no run_results.json in %s: per-model status not recorded", target_dir)
        return {"model_runs": 0}
    log.info("dbt build, per node (%s):\n%s", la_code, summary_table(runs))
    record(warehouse, la_code, export_date, invocation_id, runs)
    slowest = max(runs, key=lambda r: r.execution_seconds)
    return {
        "model_runs": len(runs),
        "slowest_model": slowest.name,
        "slowest_seconds": slowest.execution_seconds,
    }
