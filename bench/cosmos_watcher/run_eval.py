"""Measure astronomer-cosmos' WATCHER mode against the project's single build task.

    .venv/bin/pip install -r bench/cosmos_watcher/requirements.txt -c constraints.txt
    PYTHONPATH=include:tools:tests .venv/bin/python bench/cosmos_watcher/run_eval.py

(cosmos is not a runtime dependency: the evaluation rejected it, and its Airflow plugin
would load in every scheduler, worker and task process; docs/per-model-visibility.md.)

Under a real Airflow deployment (tests/airflow_cluster.py: api-server, scheduler,
dag-processor, triggerer on PostgreSQL, LocalExecutor, parallelism 4) the same council
night is built by `eval_single_build` and by `eval_watcher` (dags/csc_cosmos_eval.py);
the run times, task counts and the published marts are compared. Then a fault run: the
producer's `dbt build` is killed part-way, as a lost worker would, and what the consumer
sensors do next is recorded (the question is whether anything but ONE dbt process ever
writes the night's working copy). Results: bench/cosmos_watcher/results.json.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests"))

from airflow_cluster import (  # noqa: E402
    AirflowCluster,
    create_database,
    drop_database,
    postgres_unavailable_reason,
)


class PatientCluster(AirflowCluster):
    """The test cluster, with API calls retried: on a loaded 2-core machine the
    api-server can take longer than one request's 30 s timeout to answer."""

    def _request(self, method, path, body=None, token=None):
        import urllib.error

        for attempt in range(6):
            try:
                return super()._request(method, path, body, token)
            except (TimeoutError, urllib.error.URLError) as exc:
                if isinstance(exc, urllib.error.HTTPError) or attempt == 5:
                    raise
                time.sleep(5)


def marts(path: Path) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema='marts' "
                "order by 1"
            ).fetchall()
        ]
        return {
            n: sorted(map(repr, con.execute(f"select * from marts.{n}").fetchall())) for n in names
        }
    finally:
        con.close()


def run_times(cluster: AirflowCluster, dag_id: str, run_id: str) -> dict:
    run = cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
    tis = cluster.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=500")[
        "task_instances"
    ]
    states: dict[str, int] = {}
    for ti in tis:
        states[ti["state"]] = states.get(ti["state"], 0) + 1
    duration = pendulum_seconds(run["start_date"], run["end_date"])
    return {
        "run_seconds": duration,
        "tasks": len(tis),
        "task_states": states,
        "state": run["state"],
    }


def pendulum_seconds(start: str, end: str | None) -> float | None:
    import pendulum

    if not start or not end:
        return None
    return round((pendulum.parse(end) - pendulum.parse(start)).total_seconds(), 1)


def dbt_processes(root: Path) -> list[tuple[int, str]]:
    """This evaluation's dbt processes only: the machine is shared, and other people's
    dbt builds must never be counted, let alone signalled. A process is ours when its
    environment carries this run's CSC_EVAL_ROOT (the cluster passes it to every task)."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    marker = f"CSC_EVAL_ROOT={root}".encode()
    found = []
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if "/dbt " not in args or not (" build " in args or " run " in args):
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            found.append((int(pid), args))
    return found


def snapshot(root: Path) -> tuple[Path, Path]:
    """A frozen copy of the code, dbt project and DAGs: both variants must build the same
    definitions even if the working tree changes during the (long) evaluation."""
    snap = root / "snapshot"
    for item in ("include", "dbt_project", "expectations", "config"):
        shutil.copytree(
            REPO / item, snap / item, ignore=shutil.ignore_patterns("__pycache__", "target", "logs")
        )
    shutil.copytree(HERE / "dags", root / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    return snap / "include", root / "dags"


def main() -> int:
    reason = postgres_unavailable_reason()
    if reason:
        print(reason)
        return 1
    from csc_generator import generate

    root = Path(tempfile.mkdtemp(prefix="csc-cosmos-eval-"))
    exports = root / "exports"
    generate(exports, seed=7, referrals_per_year=1200, years=2, nights=3)
    nights = sorted(p.name for p in (exports / "999").iterdir())
    include, dags = snapshot(root)
    env = {
        "PYTHONPATH": str(include),
        "CSC_EVAL_ROOT": str(root),
        "CSC_EXPORTS_ROOT": str(exports),
        "CSC_VAR_DIR": str(root / "var"),
        "CSC_WAREHOUSE": str(root / "unused.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "GX_ANALYTICS_ENABLED": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(root / "cosmos_cache"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
        "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "360",
    }
    database = create_database("csc_cosmos_eval")
    cluster = PatientCluster(root / "airflow_home", dags, database, env, parallelism=4)
    results: dict = {"nights": nights}
    try:
        cluster.init()
        cluster.start()
        cluster.wait_for_api()
        for dag_id in ("eval_single_build", "eval_watcher"):
            cluster.wait_for_dag(dag_id, timeout=300)
        # the same night, built both ways, one after the other (2 cores, nothing else)
        for dag_id in ("eval_single_build", "eval_watcher"):
            started = time.monotonic()
            run_id = cluster.trigger(dag_id, {"night": nights[0]})
            state = cluster.wait_for_run(dag_id, run_id, timeout=900)
            results[dag_id] = {
                "wall_seconds": round(time.monotonic() - started, 1),
                **run_times(cluster, dag_id, run_id),
            }
            print(dag_id, state, results[dag_id], flush=True)
        if all((root / v / "csc.duckdb").exists() for v in ("single", "watcher")):
            single = marts(root / "single" / "csc.duckdb")
            watcher = marts(root / "watcher" / "csc.duckdb")
            results["marts_tables"] = len(single)
            results["marts_identical"] = single == watcher
            results["marts_differing"] = sorted(t for t in single if single[t] != watcher.get(t))

        # fault: kill the producer's dbt build part-way (a lost worker, an OOM kill)
        seen: list[list[tuple[int, str]]] = []
        stop = threading.Event()

        def killer() -> None:
            killed = False
            while not stop.is_set():
                procs = dbt_processes(root)
                if procs:
                    seen.append(procs)
                if not killed:
                    for pid, args in procs:
                        if " build " in args:
                            time.sleep(4)  # let some models finish first
                            os.kill(pid, signal.SIGKILL)
                            killed = True
                            break
                time.sleep(0.2)

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        run_id = cluster.trigger("eval_watcher", {"night": nights[1]})
        try:
            state = cluster.wait_for_run("eval_watcher", run_id, timeout=900)
        finally:
            stop.set()
            thread.join(timeout=5)
        concurrent = max((len(p) for p in seen), default=0)
        logs = []
        tis = cluster.api(
            "GET", f"/api/v2/dags/eval_watcher/dagRuns/{run_id}/taskInstances?limit=500"
        )["task_instances"]
        for ti in tis:
            if ti["task_id"].startswith("dbt.") and "producer" not in ti["task_id"]:
                text = cluster.task_log("eval_watcher", run_id, ti["task_id"])
                if "Falling back" in text or "lock" in text.lower():
                    logs.append({"task": ti["task_id"], "state": ti["state"], "log": text[-600:]})
        results["fault_run"] = {
            "state": state,
            **run_times(cluster, "eval_watcher", run_id),
            "max_concurrent_dbt_processes": concurrent,
            "dbt_commands_seen": sorted({a.split(" --")[0][-120:] for p in seen for _, a in p})[
                :20
            ],
            "fallback_or_lock_logs": logs[:5],
            "fallbacks": len(logs),
        }
        print(json.dumps(results["fault_run"], indent=1)[:3000], flush=True)
    finally:
        cluster.stop()
        drop_database(database)
        results["load_average_at_end"] = os.getloadavg()
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "fault_run"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
