"""Run dbt for one council's night.

dbt runs as a subprocess of the task (`python -m csc_pipeline.dbt_invoke`): it keeps
dbt's own logging and memory out of the Airflow worker, and a crash in dbt cannot take
the task runner with it. The warehouse path and the as-at date are passed explicitly,
never read from the wall clock. dbt writes no manifest.json (`--no-write-json`; the
wrapper writes run_results.json, the one artefact the pipeline reads), except for the
commands whose point is their artefacts (`docs generate`, `compile`, `ls`).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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
PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # include/: csc_pipeline importable


def dbt_executable() -> str:
    """The `dbt` script beside this interpreter (for tools that start dbt themselves)."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def dbt_command(command: str) -> list[str]:
    """The process to start: this interpreter running the wrapper, plus the command."""
    words = command.split()  # e.g. "build", "docs generate"
    quiet_json = [] if words[0] in WRITES_ARTEFACTS else ["--no-write-json"]
    return [sys.executable, "-m", "csc_pipeline.dbt_invoke", *words, *quiet_json]


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
    args = [
        *dbt_command(command),
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
        json.dumps({"la_code": la_code}),
        *(extra_args or []),
    ]
    run_env = {
        **os.environ,
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
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
        **(env or {}),
    }
    proc = subprocess.run(args, cwd=DBT_PROJECT_DIR, env=run_env, capture_output=True, text=True)
    result = _parse_run_results(command, proc.returncode, target_dir)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise DbtFailed(
            f"dbt {command} failed for {la_code} {export_date} (exit {proc.returncode}); "
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
