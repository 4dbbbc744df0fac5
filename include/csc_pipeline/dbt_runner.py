"""Run dbt for one council's night.

dbt runs in the task's own process (csc_pipeline.dbt_invoke: dbtRunner, the parsed
project reused between the night's staging and marts builds). The warehouse path and the
as-at date are passed explicitly, never read from the wall clock. dbt writes no
manifest.json at night (`--no-write-json`; run_results.json, the one artefact the
pipeline reads, is written from the result), except for the commands whose point is
their artefacts (`docs generate`, `compile`, `ls`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from csc_pipeline import dbt_invoke
from csc_pipeline.config import DBT_PROJECT_DIR
from csc_pipeline.warehouse import MEMORY_LIMIT_ENV, memory_limit

log = logging.getLogger(__name__)


class DbtFailed(RuntimeError):
    """dbt reported errors or failing tests."""


@dataclass
class DbtResult:
    command: str
    returncode: int
    counts: dict[str, int]
    failures: list[str]
    elapsed_s: float
    target_dir: Path | None = None  # where run_results.json is (csc_pipeline.model_runs)

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        return f"dbt {self.command}: {parts} in {self.elapsed_s:.1f}s"


# commands run for their JSON artefacts (catalog, manifest): dbt writes them as usual
WRITES_ARTEFACTS = {"docs", "compile", "ls", "list", "parse"}


def dbt_executable() -> str:
    """The `dbt` script beside this interpreter (for tools that start dbt themselves)."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(
    command: str,
    *,
    warehouse: Path,
    la_code: str,
    export_date: str,
    target: str = "duckdb",
    extra_args: list[str] | None = None,
    target_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> DbtResult:
    """Run `dbt <command>` against one warehouse; raise DbtFailed on any error."""
    target_dir = target_path or (warehouse.parent / "dbt_target" / la_code)
    words = command.split()  # e.g. "build", "docs generate"
    quiet_json = [] if words[0] in WRITES_ARTEFACTS else ["--no-write-json"]
    vars_json = json.dumps({"la_code": la_code})
    args = [
        *words,
        *quiet_json,
        # dbt's log lines go to its file log (DBT_LOG_PATH); errors and warnings reach the
        # task log through DbtFailed and the per-model table (csc_pipeline.model_runs)
        "--quiet",
        "--no-use-colors",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        target,
        "--target-path",
        str(target_dir),
        # the as-at date goes in the environment, not --vars: a changed --vars forces
        # dbt to re-parse the whole project every night (dbt_project/macros/calendar.sql)
        "--vars",
        vars_json,
        *(extra_args or []),
    ]
    run_env = {
        "CSC_DBT_WAREHOUSE": str(warehouse),
        "CSC_AS_AT_DATE": export_date,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DBT_LOG_PATH": str(target_dir / "logs"),
        # dbt's file log at info (each node's start, result and any error), not debug
        # (every SQL statement: ~3 MB and 1.5-3 s of a night's build); set
        # DBT_LOG_LEVEL_FILE=debug in the environment to trace a failing night.
        "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", "info"),
        # dbt's DuckDB gets the pipeline's memory cap (one default: csc_pipeline.warehouse)
        MEMORY_LIMIT_ENV: memory_limit(),
        **(env or {}),
    }
    # dbt-duckdb writes the file's stem into every parsed node: part of what was parsed
    database = warehouse.stem if target == "duckdb" else run_env.get("CSC_PG_DATABASE", "")
    key = dbt_invoke.manifest_key(DBT_PROJECT_DIR, target, database, vars_json)
    with dbt_invoke.environment(run_env):
        outcome = dbt_invoke.invoke(args, key=key, target_dir=target_dir)
    result = _parse_run_results(command, outcome.returncode, target_dir)
    if outcome.returncode != 0:
        if outcome.exception is not None:
            outcome.messages.append(f"{type(outcome.exception).__name__}: {outcome.exception}")
        tail = "\n".join("\n".join(outcome.messages).strip().splitlines()[-40:])
        raise DbtFailed(
            f"dbt {command} failed for {la_code} {export_date} (exit {outcome.returncode}); "
            f"failures: {result.failures[:10]}\n{tail}"
        )
    log.info(result.summary())
    return result


def _parse_run_results(command: str, returncode: int, target_dir: Path) -> DbtResult:
    path = target_dir / "run_results.json"
    counts: dict[str, int] = {}
    failures: list[str] = []
    elapsed = 0.0
    if path.is_file():
        data = json.loads(path.read_text())
        elapsed = float(data.get("elapsed_time") or 0.0)
        for r in data.get("results", []):
            status = str(r.get("status"))
            counts[status] = counts.get(status, 0) + 1
            if status in {"error", "fail", "runtime error"}:
                failures.append(r.get("unique_id", "?"))
    return DbtResult(command, returncode, counts, failures, elapsed, target_dir)
