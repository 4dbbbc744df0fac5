"""`make run`: run the nightly DAG through Airflow, in-process, on every pending night.

Uses Airflow's own `dag.test()` against a project-local SQLite metadata database, so
the run goes through the real DAG, tasks, XComs and trigger rules. With no export
folder configured it first generates the built-in sample council's exports.

    CSC_EXPORTS_ROOT=<dir> CSC_WAREHOUSE=<file.duckdb> [CSC_EXPORT_DATE=YYYY-MM-DD] make run
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from csc_pipeline.config import PROJECT_ROOT, settings

DAG_ID = "csc_nightly"


def ensure_airflow_env() -> Path:
    """Project-local Airflow home on SQLite (set before importing airflow)."""
    home = Path(os.environ.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / "var" / "airflow")))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    os.environ.setdefault("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", os.urandom(48).hex())
    return home


def migrate_metadata_db(home: Path) -> None:
    """`airflow db migrate` once per metadata DB (a stamp file records it)."""
    stamp = home / ".migrated"
    if stamp.exists():
        return
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    stamp.touch()


def ensure_sample(exports_root: Path) -> None:
    if exports_root.is_dir() and any(exports_root.iterdir()):
        return
    from csc_generator import generate

    print(f"Generating the built-in sample council's exports in {exports_root} ...")
    generate(exports_root)


def load_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    return bag.get_dag(DAG_ID)


def run_night(dag, export_date: str | None) -> str:
    """One DAG run (every council's oldest pending night, or the given date)."""
    conf = {"export_date": export_date, "wait": False}
    dr = dag.test(run_conf=conf)
    return str(dr.state)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-nights", type=int, default=50)
    args = parser.parse_args(argv)

    home = ensure_airflow_env()
    cfg = settings()
    if "CSC_EXPORTS_ROOT" not in os.environ:
        ensure_sample(cfg.exports_root)
    logging.basicConfig(level=logging.WARNING)
    migrate_metadata_db(home)

    from csc_pipeline import report
    from csc_pipeline.councils import council_codes, warehouse_for
    from csc_pipeline.steps.discover import pending_nights

    dag = load_dag()
    codes = council_codes(cfg)
    if not codes:
        print(f"No council export folders under {cfg.exports_root}")
        return 1
    failures = 0
    started = time.perf_counter()
    previous: dict | None = None
    for _ in range(args.max_nights if not cfg.export_date else 1):
        pending = {
            c: [
                n.export_date
                for n in pending_nights(cfg.exports_root, warehouse_for(c, cfg), c, cfg.var_dir)
            ]
            for c in codes
        }
        if not cfg.export_date and not any(pending.values()):
            break
        if pending == previous:  # the last run changed nothing: stop rather than loop
            print("A night failed without being quarantined; stopping (see the task logs).")
            break
        previous = pending
        dates = sorted({n[0] for n in pending.values() if n}) or [cfg.export_date]
        label = cfg.export_date or ", ".join(dates)
        t0 = time.perf_counter()
        state = run_night(dag, cfg.export_date)
        print(f"DAG run for night(s) {label}: {state} in {time.perf_counter() - t0:.1f}s")
        if state != "success":
            failures += 1
    print(f"\nAll runs finished in {time.perf_counter() - started:.1f}s\n")
    for code in codes:
        print(report.council_summary(code, warehouse_for(code, cfg), cfg))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
