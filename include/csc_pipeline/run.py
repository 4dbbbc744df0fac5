"""`make run`: run the nightly DAG through Airflow, in-process, on every pending night.

Uses Airflow's own `dag.test()` against a project-local SQLite metadata database, so
the run goes through the real DAG, tasks, XComs and trigger rules. With no export
folder configured it first generates the built-in sample council's exports.

    CSC_EXPORTS_ROOT=<dir> CSC_WAREHOUSE=<file.duckdb> [CSC_EXPORT_DATE=YYYY-MM-DD] make run

Database delivery on the sample: `CSC_SOURCE=postgres make run` loads each of the
sample's nights (generated as OLM Eclipse's SSD holds them: no case_audits, no FTE, so
those figures are "not supplied") in turn into a local SSD database in Eclipse's shape
(CSC_SSD_URL, default postgresql://postgres@127.0.0.1:5432/csc_ssd_sample; created if
missing) and runs the night with council 999 in `delivery: database` mode: the first
task extracts the night's folder from the database. Everything goes under
var/from-postgres/ (its own exports, warehouse and Airflow connection csc_ssd_999).
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


PACK_DAG_ID = "csc_board_pack"


def load_dag(dag_id: str = DAG_ID):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags"))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    return bag.get_dag(dag_id)


def run_board_packs() -> str | None:
    """The Board pack DAG once, after the nights: under a scheduler it runs on the
    published-night asset; here (no scheduler) it renders every council's latest
    published night. Skipped when CSC_BOARD_PACK=off."""
    from csc_pipeline.steps.board_pack import enabled

    if not enabled():
        return None
    t0 = time.perf_counter()
    state = str(load_dag(PACK_DAG_ID).test().state)
    print(f"DAG run {PACK_DAG_ID}: {state} in {time.perf_counter() - t0:.1f}s")
    return state


def preload_task_libraries() -> None:
    """dag.test() runs every task in this process: import the tasks' libraries before the
    first DAG run, as the scheduler and a Celery worker do before forking tasks
    (csc_pipeline.preload), so a DAG run here pays what it pays under the scheduler."""
    from csc_pipeline import preload

    if preload.wanted():
        t0 = time.perf_counter()
        preload.preload()
        print(f"Task libraries preloaded in {time.perf_counter() - t0:.1f}s (csc_pipeline.preload)")


IN_PROCESS = "http://in-process.invalid./"  # the base URL dag.test()'s task client uses


def start_execution_api() -> None:
    """Build dag.test()'s in-process Execution API before the first DAG run.

    Under a deployment the API is the api-server, up before any run; dag.test() builds
    an in-process one (Airflow caches it for the process) inside whichever task runs
    first, which then takes 3.5-5 s longer (bench/README.md, "Round 6"). Built here, a
    DAG run's time is its tasks' and the task runner's, as under a deployment. The
    process's own time is unchanged (make bench reports both). Airflow internals: if
    they move, the run goes on and the first task pays as before.
    """
    t0 = time.perf_counter()
    try:
        import httpx
        from airflow.sdk.execution_time.supervisor import in_process_api_server

        # the API's own health route, through the transport the task runner will use
        # (its first request starts the app: routes built, lifespan entered)
        client = httpx.Client(transport=in_process_api_server().transport, base_url=IN_PROCESS)
        status = client.get("health").status_code
    except Exception as exc:  # noqa: BLE001 - an optimisation only
        print(f"In-process Execution API not started ahead ({type(exc).__name__}: {exc})")
        return
    print(f"In-process Execution API started in {time.perf_counter() - t0:.1f}s (health: {status})")


def run_night(dag, export_date: str | None) -> str:
    """One DAG run (every council's oldest pending night, or the given date)."""
    conf = {"export_date": export_date, "wait": False}
    dr = dag.test(run_conf=conf)
    return str(dr.state)


DEFAULT_SSD_URL = "postgresql://postgres@127.0.0.1:5432/csc_ssd_sample"


def run_from_postgres(max_nights: int) -> int:
    """`CSC_SOURCE=postgres make run`: the sample through database delivery (see above)."""
    from csc_pipeline.config import SAMPLE_LA_CODE

    var = Path(os.environ.setdefault("CSC_VAR_DIR", str(PROJECT_ROOT / "var" / "from-postgres")))
    councils = var / "councils"
    councils.mkdir(parents=True, exist_ok=True)
    (councils / f"{SAMPLE_LA_CODE}.yml").write_text(
        "# written by `CSC_SOURCE=postgres make run` (see config/councils/example.yml)\n"
        "source_system: eclipse\ndelivery: database\ntables_not_supplied: [case_audits]\n"
    )
    os.environ.setdefault("CSC_COUNCILS_DIR", str(councils))
    url = os.environ.get("CSC_SSD_URL", DEFAULT_SSD_URL)
    os.environ[f"AIRFLOW_CONN_CSC_SSD_{SAMPLE_LA_CODE}"] = url
    home = ensure_airflow_env()
    cfg = settings()
    logging.basicConfig(level=logging.WARNING)

    from csc_generator import ssd_database

    source = var / "sample-source"  # the generated nights: the SSD's content, night by night
    if not (source / SAMPLE_LA_CODE).is_dir():
        from csc_generator import generate

        print(f"Generating the sample council's nights as Eclipse's SSD holds them in {source} ...")
        generate(source, flavour="eclipse")
    try:
        ssd_database.create_database(url)
    except Exception as exc:  # noqa: BLE001 - say what to start, not a traceback
        print(f"Cannot reach the SSD database server at {url}: {exc}".strip())
        print("Start a PostgreSQL server there, or set CSC_SSD_URL (see docs/deployment.md).")
        return 2
    migrate_metadata_db(home)

    from csc_pipeline import nights, report
    from csc_pipeline.councils import warehouse_for

    dag = load_dag()
    warehouse = warehouse_for(SAMPLE_LA_CODE, cfg)
    done = {
        d for d, (s, _) in nights.seen_nights(warehouse, SAMPLE_LA_CODE).items() if s == "published"
    }
    todo = [
        n
        for n in sorted((source / SAMPLE_LA_CODE).iterdir())
        if nights.DATE_RE.match(n.name) and n.name not in done
    ]
    if cfg.export_date:
        todo = [n for n in todo if n.name == cfg.export_date]
    failures = 0
    started = time.perf_counter()
    for night in todo[:max_nights]:
        counts = ssd_database.load_night(night, url)
        print(
            f"SSD database {url.rsplit('/', 1)[-1]}: loaded night {night.name} "
            f"({sum(counts.values()):,} rows, Eclipse shape)"
        )
        t0 = time.perf_counter()
        state = run_night(dag, night.name)
        print(
            f"DAG run for night {night.name} (database delivery): {state} in {time.perf_counter() - t0:.1f}s"
        )
        if state != "success":
            failures += 1
            break
    if run_board_packs() not in (None, "success"):
        failures += 1
    print(f"\nAll runs finished in {time.perf_counter() - started:.1f}s\n")
    print(report.council_summary(SAMPLE_LA_CODE, warehouse, cfg))
    print(report.where_to_look([SAMPLE_LA_CODE], cfg))
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-nights", type=int, default=50)
    parser.add_argument(
        "--board-pack-only",
        action="store_true",
        help="run only the Board pack DAG (every council's latest published night)",
    )
    args = parser.parse_args(argv)
    if args.board_pack_only:
        ensure_airflow_env()
        logging.basicConfig(level=logging.WARNING)
        migrate_metadata_db(Path(os.environ["AIRFLOW_HOME"]))
        return 0 if run_board_packs() in (None, "success") else 1

    source = os.environ.get("CSC_SOURCE", "folder").strip().lower()
    if source == "postgres":
        return run_from_postgres(args.max_nights)
    if source != "folder":
        print(f"CSC_SOURCE must be folder (the default) or postgres, not {source!r}")
        return 2

    home = ensure_airflow_env()
    cfg = settings()
    if "CSC_EXPORTS_ROOT" not in os.environ:
        ensure_sample(cfg.exports_root)
    logging.basicConfig(level=logging.WARNING)
    migrate_metadata_db(home)

    from csc_pipeline import report
    from csc_pipeline.config import ConfigError
    from csc_pipeline.councils import check_configuration, warehouse_for
    from csc_pipeline.steps.discover import pending_nights

    try:
        codes = check_configuration(cfg)  # a config error: say it now, not after retries
    except ConfigError as exc:
        print(f"Configuration error: {exc}")
        return 2
    dag = load_dag()
    if not codes:
        print(f"No council export folders under {cfg.exports_root}")
        return 1
    preload_task_libraries()
    start_execution_api()
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
    if run_board_packs() not in (None, "success"):
        failures += 1
    print(f"\nAll runs finished in {time.perf_counter() - started:.1f}s\n")
    for code in codes:
        print(report.council_summary(code, warehouse_for(code, cfg), cfg))
    print(report.where_to_look(codes, cfg))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
