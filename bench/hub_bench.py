"""The hub benchmark: many councils' nights under the real scheduler, against dag.test().

    .venv/bin/python bench/run_bench.py --sizes hub33            # what `make bench-hub` runs
    .venv/bin/python bench/run_bench.py --sizes hub5 --executors local,celery   # a small hub

A hub size `hubN` is N typical councils (4,100 referrals a year, 10 years of history) in
one DAG run. How it is run (the steady state is night 2; night 1 is the one-off load of
an empty warehouse):

1. night 1 of every council under the LocalExecutor (the quickest way to get there);
   it is reported as the LocalExecutor's night 1;
2. the resulting warehouses and var folder are copied, once per executor, and night 2
   runs on each copy from the same starting state: `serial` (dag.test(), as `make run`
   and the older hub figure: councils one after another), `LocalExecutor` and
   `CeleryExecutor` (the real scheduler, dag-processor and api-server; two Celery
   workers) on a PostgreSQL metadata database of its own and Redis db 7.

The scheduler deployments are tests/airflow_cluster.py's (one home for that code). The
`csc_warehouse` pool has `slots` slots (default: the machine's cores); the executor has
2 x slots task slots (the light tasks — sensor, alerts, deadline check — run beside the
writers). `workers` in the efficiency is the pool's slots: how many councils build at
once.

Figures per run (bench/README.md explains them): wall time (first task start -> last
task end of the DAG run), per-council time (the sum of the council's task durations)
and its p50/p95, per-council latency (run start -> the council's publish end), CPU
seconds of the deployment's process trees (sampled every 0.25 s from /proc) and CPU
utilisation (CPU s / (wall x cores)), peak RSS of the trees, and
parallel_efficiency = sum of per-council times / (wall x workers). Because councils
that run side by side slow each other down (shared cores, disk), the same sum taken
from the serial run of the same night gives `efficiency_vs_serial` (= speed-up over
serial / workers); both are recorded.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # tests/airflow_cluster.py: the deployment harness

DAG_ID = "csc_nightly"
POOL = "csc_warehouse"
EXECUTOR_NAMES = {"serial": "serial", "local": "LocalExecutor", "celery": "CeleryExecutor"}
STAGES = {
    "land": "landing",
    "validate": "validation",
    "build": "dbt_build",
    "publish": "publish",
    "alerts": "alerts",
}


def hub_params(name: str) -> dict | None:
    """`hub33` -> 33 typical councils (None if the name is not a hub size)."""
    if not name.startswith("hub") or not name[3:].isdigit():
        return None
    return {"referrals_per_year": 4100, "years": 10, "la_codes": int(name[3:])}


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of a small sample."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[int(q) - 1]


# ------------------------------------------------------------------ CPU and memory


class TreeSampler:
    """CPU seconds and peak RSS of process trees, sampled from /proc every `every` s.

    CPU = the sum over every process seen of its own user+system time at its last
    sample (children's times are not added: they are counted as processes of their own),
    so a process that ends between two samples loses at most `every` s of CPU."""

    def __init__(self, roots, every: float = 0.25) -> None:
        self.roots = roots  # callable -> list of root pids (components may be restarted)
        self.every = every
        self.cpu: dict[tuple[int, float], float] = {}
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        total_rss = 0
        for root in self.roots():
            try:
                procs = [psutil.Process(root)]
                procs += procs[0].children(recursive=True)
            except psutil.Error:
                continue
            for p in procs:
                try:
                    with p.oneshot():
                        t = p.cpu_times()
                        key = (p.pid, p.create_time())
                        self.cpu[key] = t.user + t.system
                        total_rss += p.memory_info().rss
                except psutil.Error:
                    pass
        self.peak_rss = max(self.peak_rss, total_rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def __enter__(self) -> TreeSampler:
        self._base = dict(self.cpu)
        self._sample()
        self._start_cpu = dict(self.cpu)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._sample()
        self._stop.set()
        self._thread.join()

    @property
    def cpu_s(self) -> float:
        """CPU used since __enter__ (processes alive at the start count from there)."""
        return sum(v - self._start_cpu.get(k, 0.0) for k, v in self.cpu.items())


# ------------------------------------------------------------------ task-instance figures


def _tis(cluster, run_id: str) -> list[dict]:
    tis = cluster.task_instances(DAG_ID, run_id)
    return [t for t in tis if t["source"] == "current"]


def timings_from_tis(tis: list[dict], run_start, run_end) -> dict:
    """The night's figures from its task instances (scheduler runs and dag.test alike)."""
    ran = [t for t in tis if t["start_date"] and t["end_date"]]
    first = min([t["start_date"] for t in ran] + ([run_start] if run_start else []))
    last = max([t["end_date"] for t in ran] + ([run_end] if run_end else []))
    wall = (last - first).total_seconds()
    per_council: dict[int, dict] = {}
    for t in ran:
        if t["map_index"] is None or t["map_index"] < 0:
            continue
        c = per_council.setdefault(
            t["map_index"], {"busy_s": 0.0, "stages": {}, "start": None, "end": None}
        )
        dur = (t["end_date"] - t["start_date"]).total_seconds()
        c["busy_s"] += dur
        short = t["task_id"].rsplit(".", 1)[-1]
        if short in STAGES:
            c["stages"][STAGES[short]] = c["stages"].get(STAGES[short], 0.0) + dur
        if short == "publish":
            c["published_after_s"] = (t["end_date"] - first).total_seconds()
        c["start"] = min(x for x in (c["start"], t["start_date"]) if x)
        c["end"] = max(x for x in (c["end"], t["end_date"]) if x)
    busy = [c["busy_s"] for c in per_council.values()]
    latency = [c["published_after_s"] for c in per_council.values() if "published_after_s" in c]
    stages = {
        v: sum(c["stages"].get(v, 0.0) for c in per_council.values()) for v in STAGES.values()
    }
    return {
        "dag_run_wall_s": wall,
        "stages_s": stages,
        "per_council_s": {str(k): round(c["busy_s"], 3) for k, c in sorted(per_council.items())},
        "per_council_p50_s": percentile(busy, 50),
        "per_council_p95_s": percentile(busy, 95),
        "per_council_sum_s": sum(busy),
        "published_after_p50_s": percentile(latency, 50),
        "published_after_p95_s": percentile(latency, 95),
        "published_after_max_s": max(latency) if latency else None,
        "councils": len(per_council),
        "per_council_median_s": {
            v: statistics.median([c["stages"].get(v, 0.0) for c in per_council.values()])
            for v in STAGES.values()
        }
        if per_council
        else {},
        "states": sorted({t["state"] for t in tis}),
    }


def sqlite_tis(home: Path) -> tuple[list[dict], object, object, str, str]:
    """The last DAG run's task instances from a dag.test() SQLite metadata DB."""
    import sqlite3

    from run_bench import _ts  # noqa: PLC0415 (sibling module, imported late on purpose)

    con = sqlite3.connect(home / "airflow.db")
    try:
        run_id, state, start, end = con.execute(
            "select run_id, state, start_date, end_date from dag_run where dag_id = ? "
            "order by id desc limit 1",
            (DAG_ID,),
        ).fetchone()
        rows = con.execute(
            "select task_id, map_index, try_number, state, start_date, end_date "
            "from task_instance where dag_id = ? and run_id = ?",
            (DAG_ID, run_id),
        ).fetchall()
    finally:
        con.close()
    tis = [
        {
            "task_id": r[0],
            "map_index": r[1],
            "try_number": r[2],
            "state": r[3],
            "start_date": _ts(r[4]),
            "end_date": _ts(r[5]),
        }
        for r in rows
    ]
    return tis, _ts(start), _ts(end), run_id, state


# ------------------------------------------------------------------ deployments


def cluster_env(exports: Path, var: Path, base: dict) -> dict:
    keep = (
        "PYTHONPATH",
        "CSC_PSEUDONYM_KEY",
        "DBT_SEND_ANONYMOUS_USAGE_STATS",
        "DO_NOT_TRACK",
        "CSC_PRELOAD_TASK_LIBRARIES",  # on unless set: the preload A/B (bench/README.md)
    )
    env = {k: base[k] for k in keep if k in base}
    env.update(
        {
            "GX_ANALYTICS_ENABLED": "False",
            "CSC_EXPORTS_ROOT": str(exports),
            "CSC_VAR_DIR": str(var),
            "CSC_WAREHOUSE": str(var / "warehouse" / "csc_{la_code}.duckdb"),
        }
    )
    return env


def start_cluster(executor: str, exports: Path, var: Path, base: dict, slots: int):
    from airflow_cluster import AirflowCluster, create_database

    database = create_database("csc_bench")
    home = Path(tempfile.mkdtemp(prefix=f"csc-bench-{executor}-"))
    kwargs = {"parallelism": 2 * slots, "executor": executor}
    if executor == "CeleryExecutor":
        kwargs.update(workers=2, worker_concurrency=slots)  # 2 x slots task slots in all
    cluster = AirflowCluster(
        home, ROOT / "dags", database, cluster_env(exports, var, base), **kwargs
    )
    try:
        cluster.init(pools={POOL: slots})
        cluster.start()
        cluster.wait_for_api(timeout=300)
        if executor == "CeleryExecutor":
            cluster.wait_for_workers(timeout=300)
        cluster.wait_for_dag(DAG_ID, timeout=300)
        cluster.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster, keep_home: bool = False) -> None:
    from airflow_cluster import drop_database

    try:
        cluster.stop()
    finally:
        drop_database(cluster.database)
        if keep_home:
            print(f"  (logs kept in {cluster.home})", flush=True)
        else:
            shutil.rmtree(cluster.home, ignore_errors=True)


def scheduler_night(cluster, date: str, timeout: float) -> dict:
    """One night of every council under the cluster's scheduler; figures + CPU + RSS."""
    roots = lambda: [p.pid for p in cluster.procs.values() if p.poll() is None]  # noqa: E731
    with TreeSampler(roots) as sampler:
        t0 = time.perf_counter()
        run_id = cluster.trigger(DAG_ID, {"wait": False, "export_date": date})
        state = cluster.wait_for_run(DAG_ID, run_id, timeout=timeout)
        proc_wall = time.perf_counter() - t0
    if state != "success":
        states = cluster.task_states(DAG_ID, run_id)
        failed = [k for k, v in states.items() if v == "failed"][:2]
        logs = "\n".join(
            cluster.task_log(DAG_ID, run_id, k.split("[")[0], int(k.split("[")[1][:-1]))
            for k in failed
        )
        raise RuntimeError(f"hub night {date} {state}: {states}\n{logs}")
    ((start, end),) = cluster.sql(
        "select start_date, end_date from dag_run where dag_id = %s and run_id = %s",
        (DAG_ID, run_id),
    )
    out = timings_from_tis(_tis(cluster, run_id), start, end)
    out.update(
        {
            "run_id": run_id,
            "state": state,
            "process_wall_s": proc_wall,
            "cpu_s": sampler.cpu_s,
            "peak_rss_mb": sampler.peak_rss / 2**20,
        }
    )
    return out


def serial_night(exports: Path, var: Path, date: str, env: dict, home: Path) -> dict:
    """One night of every council through dag.test() (`python -m csc_pipeline.run`)."""
    from run_bench import dag_test_night  # noqa: PLC0415

    r = dag_test_night(exports, date, var, env, "csc_{la_code}.duckdb")
    tis, start, end, run_id, state = sqlite_tis(home)
    if r["rc"] != 0 or state != "success":
        tail = "\n".join(r["output"].splitlines()[-30:])
        raise RuntimeError(f"serial hub night {date} failed (rc={r['rc']}, {state}):\n{tail}")
    out = timings_from_tis(tis, start, end)
    out.update(
        {
            "run_id": run_id,
            "state": state,
            "process_wall_s": r["wall_s"],
            "cpu_s": r["cpu_s"],
            "peak_rss_mb": max(r["peak_tree_rss_mb"], r["maxrss_single_mb"]),
        }
    )
    return out


# ------------------------------------------------------------------ rebuild


def measure_rebuild(exports: Path, var: Path, env: dict) -> dict:
    """`python -m csc_pipeline.rebuild` of the first council on the serial run's state
    (its 2 published nights): seconds per replayed night, and x 365 for a year."""
    from run_bench import PY, run_measured  # noqa: PLC0415

    la_code = sorted(p.name for p in exports.iterdir() if p.is_dir())[0]
    r = run_measured(
        [PY, "-m", "csc_pipeline.rebuild", la_code],
        {
            **env,
            "CSC_EXPORTS_ROOT": str(exports),
            "CSC_VAR_DIR": str(var),
            "CSC_WAREHOUSE": str(var / "warehouse" / "csc_{la_code}.duckdb"),
        },
        cwd=ROOT,
    )
    if r["rc"] != 0:
        raise RuntimeError(f"rebuild failed:\n{r['output'][-3000:]}")
    nights = len([p for p in (exports / la_code).iterdir() if (p / "manifest.json").exists()])
    per_night = r["wall_s"] / nights
    out = {
        "la_code": la_code,
        "nights": nights,
        "wall_s": r["wall_s"],
        "cpu_s": r["cpu_s"],
        "s_per_night": per_night,
        "hours_per_year_of_nights": per_night * 365 / 3600,
        "peak_rss_mb": max(r["peak_tree_rss_mb"], r["maxrss_single_mb"]),
    }
    print(
        f"  rebuild of {la_code}: {nights} nights in {r['wall_s']:.1f}s "
        f"({per_night:.1f}s a night -> {out['hours_per_year_of_nights']:.1f} h a year of nights)",
        flush=True,
    )
    return out


# ------------------------------------------------------------------ sizing


def dir_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def sizing(exports: Path, var: Path, date: str, councils: int, keep_nights: int) -> dict:
    """Disk per council: the night's export, the warehouse file, one night of Parquet and
    Data Docs; per year: 365 kept exports (the archive a rebuild replays), the warehouse
    (x2 while a night builds: the working copy), keep_nights of Parquet and Data Docs."""
    export_mb = statistics.mean(dir_mb(c / date) for c in exports.iterdir() if c.is_dir())
    wh = sorted((var / "warehouse").glob("csc_*.duckdb"))
    warehouse_mb = statistics.mean(p.stat().st_size / 2**20 for p in wh) if wh else 0.0
    parquet_mb = statistics.mean(
        dir_mb(c / date) for c in (var / "parquet").iterdir() if (c / date).is_dir()
    )
    docs = (
        [c / date for c in (var / "dq_docs").iterdir() if (c / date).is_dir()]
        if (var / "dq_docs").is_dir()
        else []
    )
    docs_mb = statistics.mean(dir_mb(d) for d in docs) if docs else 0.0
    year_gb = (365 * export_mb + 2 * warehouse_mb + keep_nights * (parquet_mb + docs_mb)) / 1024
    return {
        "export_mb_per_night": export_mb,
        "warehouse_mb": warehouse_mb,
        "parquet_mb_per_night": parquet_mb,
        "dq_docs_mb_per_night": docs_mb,
        "keep_nights": keep_nights,
        "disk_gb_per_council_year": year_gb,
        "councils_measured": councils,
    }


# ------------------------------------------------------------------ one hub size


def run_hub(name: str, params: dict, executors: list[str], env: dict, slots: int) -> list[dict]:
    """Night 1 under LocalExecutor, then night 2 under each executor from that state."""
    from airflow_cluster import (
        celery_unusable_reason,
        postgres_unavailable_reason,
        redis_unavailable_reason,
    )
    from run_bench import csv_stats, ensure_exports, night_dates, setup_airflow

    print(f"\n== {name}: {params}, executors {executors}, pool slots {slots}", flush=True)
    exports, gen_s = ensure_exports(params, env)
    dates = night_dates(exports)
    reason = postgres_unavailable_reason()
    if reason:
        raise RuntimeError(f"the hub benchmark needs PostgreSQL for the scheduler: {reason}")
    if "CeleryExecutor" in executors:
        reason = redis_unavailable_reason() or celery_unusable_reason()
        if reason:
            print(f"  CeleryExecutor skipped: {reason}", flush=True)
            executors = [e for e in executors if e != "CeleryExecutor"]
    timeout = 1800 + 300 * params["la_codes"]  # a ceiling for a loaded machine, not a target
    base = Path(tempfile.mkdtemp(prefix=f"csc-bench-{name}-"))
    results: dict[str, list[dict]] = {e: [] for e in executors}
    rebuilt = None
    try:
        seed_var = base / "seed"
        cluster = start_cluster("LocalExecutor", exports, seed_var, env, slots)
        ok = False
        try:
            n1 = scheduler_night(cluster, dates[0], timeout)
            ok = True
        finally:
            stop_cluster(cluster, keep_home=not ok)
        n1["night"] = 1
        n1["date"] = dates[0]
        print(_line(name, "LocalExecutor", n1), flush=True)
        if "LocalExecutor" in results:
            results["LocalExecutor"].append(n1)
        size = sizing(exports, seed_var, dates[0], params["la_codes"], keep_nights=35)
        serial_sum = None
        for executor in executors:  # serial first: its per-council times feed the others
            var = base / executor
            shutil.copytree(seed_var, var, symlinks=True)
            if executor == "serial":
                home = setup_airflow(env)
                try:
                    n2 = serial_night(exports, var, dates[1], env, home)
                finally:
                    shutil.rmtree(home, ignore_errors=True)
                    env.pop("AIRFLOW_HOME", None)
                serial_sum = n2["per_council_sum_s"]
                rebuilt = measure_rebuild(exports, var, env)
            else:
                cluster = start_cluster(executor, exports, var, env, slots)
                ok = False
                try:
                    n2 = scheduler_night(cluster, dates[1], timeout)
                    ok = True
                finally:
                    stop_cluster(cluster, keep_home=not ok)
            n2["night"] = 2
            n2["date"] = dates[1]
            results[executor].append(n2)
            print(_line(name, executor, n2), flush=True)
            shutil.rmtree(var, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    if str(ROOT / "include") not in sys.path:  # the bench runs without the Makefile's PYTHONPATH
        sys.path.insert(0, str(ROOT / "include"))
    from csc_pipeline.config import parse_flag
    from csc_pipeline.preload import ENV

    out = []
    cpus = os.cpu_count() or 1
    for executor, nights in results.items():
        for n in nights:
            rows, mb = csv_stats(exports, n["date"])
            wall = n["dag_run_wall_s"]
            workers = 1 if executor == "serial" else slots
            n.update(
                {
                    "raw_rows": rows,
                    "csv_mb": mb,
                    "total_s": wall,
                    "rows_per_s": rows / wall if wall else None,
                    "airflow_overhead_s": None,
                    "cpu_utilisation": n["cpu_s"] / (wall * cpus) if wall else None,
                    "cpu_s_per_council": n["cpu_s"] / params["la_codes"],
                    "workers": workers,
                    "parallel_efficiency": n["per_council_sum_s"] / (wall * workers),
                    "efficiency_vs_serial": (
                        serial_sum / (wall * workers) if serial_sum and n["night"] == 2 else None
                    ),
                    "floor_s": None,
                    "ratio_to_floor": None,
                }
            )
        last = nights[-1] if nights else {}
        out.append(
            {
                "size": name,
                "executor": executor,
                "councils": params["la_codes"],
                "workers": 1 if executor == "serial" else slots,
                "task_slots": 1 if executor == "serial" else 2 * slots,
                "parallel_efficiency": last.get("parallel_efficiency"),
                "efficiency_vs_serial": last.get("efficiency_vs_serial"),
                "params": params,
                "exports": str(exports.relative_to(ROOT)),
                "generate_s": gen_s,
                "repeats": 1,
                "sizing": size,
                "rebuild": rebuilt if executor == "serial" else None,
                "started_from": "night 1 under LocalExecutor (same state for every executor)",
                # csc_pipeline.preload: task libraries imported by the task-forking processes
                "preload_task_libraries": executor != "serial"
                and parse_flag(ENV, env.get(ENV), default=True),
                "nights": nights,
            }
        )
    return out


def _line(name: str, executor: str, n: dict) -> str:
    return (
        f"  {name} {executor} night {n['night']} ({n['date']}): wall {n['dag_run_wall_s']:.1f}s, "
        f"per council p50 {n['per_council_p50_s']:.1f}s p95 {n['per_council_p95_s']:.1f}s, "
        f"CPU {n['cpu_s']:.0f}s, peak RSS {n['peak_rss_mb']:.0f} MB"
    )


def print_hub(results: list[dict]) -> None:
    hubs = [r for r in results if r.get("executor")]
    if not hubs:
        return
    cols = ["size", "executor", "night", "wall s", "p50 s", "p95 s", "publ p95", "CPU s",
            "CPU %", "eff", "eff/serial", "RSS MB"]  # fmt: skip
    widths = [7, 15, 5, 8, 7, 7, 8, 8, 6, 6, 10, 7]
    line = " ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True))
    print("\n" + line + "\n" + "-" * len(line))
    for r in hubs:
        for n in r["nights"]:
            vals = [
                r["size"],
                r["executor"],
                str(n["night"]),
                f"{n['dag_run_wall_s']:.1f}",
                f"{n['per_council_p50_s']:.1f}",
                f"{n['per_council_p95_s']:.1f}",
                f"{n['published_after_p95_s']:.1f}" if n.get("published_after_p95_s") else "-",
                f"{n['cpu_s']:.0f}",
                f"{100 * n['cpu_utilisation']:.0f}",
                f"{n['parallel_efficiency']:.2f}",
                f"{n['efficiency_vs_serial']:.2f}" if n.get("efficiency_vs_serial") else "-",
                f"{n['peak_rss_mb']:.0f}",
            ]
            print(" ".join(v.rjust(w) for v, w in zip(vals, widths, strict=True)))
    s = hubs[0]["sizing"]
    print(
        f"per council: {hubs[0]['nights'][0]['cpu_s_per_council']:.0f} CPU-s a night (night 1); "
        f"export {s['export_mb_per_night']:.1f} MB/night, warehouse {s['warehouse_mb']:.1f} MB, "
        f"Parquet {s['parquet_mb_per_night']:.1f} MB/night, Data Docs "
        f"{s['dq_docs_mb_per_night']:.1f} MB/night -> {s['disk_gb_per_council_year']:.1f} GB a year"
    )


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def dump(obj) -> str:
    return json.dumps(obj, default=str)
