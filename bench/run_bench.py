"""Benchmark the nightly pipeline end to end at fixed export sizes.

    .venv/bin/python bench/run_bench.py [--sizes typical,large,hub] [--repeats N] [--quick]

For every size: generate (once, cached under bench/cache/<params>/) two consecutive
nights, then run night 1 and night 2 each through the real DAG exactly as `make run`
does (`python -m csc_pipeline.run` with CSC_EXPORT_DATE, i.e. dag.test(), in a fresh
subprocess against a fresh var dir per size and repeat). Per-stage durations come from
the Airflow metadata DB (task_instance rows of the night's DAG run); Airflow overhead =
DAG run wall time - the sum of the stage tasks. Peak RSS is the process tree's (psutil
sampling, plus wait4's ru_maxrss). The floor is DuckDB alone reading every CSV of the
same night into tables. Results: bench/results/<timestamp>.json and latest.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hub_bench  # noqa: E402  (bench/hub_bench.py: the hub under the real scheduler)

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CACHE = BENCH / "cache"
RESULTS = BENCH / "results"
PY = sys.executable
DAG_ID = "csc_nightly"
SEED = 20261120
BENCH_KEY = "BENCHMARK-ONLY-pseudonym-key-not-for-real-data"

SIZES: dict[str, dict] = {
    "typical": {"referrals_per_year": 4100, "years": 10, "la_codes": ["999"]},
    "large": {"referrals_per_year": 15000, "years": 10, "la_codes": ["999"]},
    "hub": {"referrals_per_year": 4100, "years": 10, "la_codes": 10},
}
QUICK = {"typical": {"referrals_per_year": 4100, "years": 3, "la_codes": ["999"]}}
NIGHTS = 2
STAGES = {
    "land": "landing",
    "validate": "validation",
    "build": "dbt_build",
    "publish": "publish",
    "alerts": "alerts",
    "dq_page": "dq_page",  # after publish: the night's data-quality page
}
# Round 4: the Board pack (HTML + PDF) is its own DAG on the published-night asset,
# run after the night in a process of its own and measured beside it
# (`board_pack_dag_s`, `board_pack_process`), not inside the night's total or RSS.
PACK_DAG_ID = "csc_board_pack"
STAGE_COLS = list(STAGES.values())


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "include"), str(ROOT / "tools"), env.get("PYTHONPATH", "")) if p
    )
    env.update(
        {
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "DO_NOT_TRACK": "1",
            "GX_ANALYTICS_ENABLED": "False",
            "CSC_PSEUDONYM_KEY": BENCH_KEY,
        }
    )
    for k in ("CSC_EXPORT_DATE", "CSC_LA_CODES", "CSC_SERVER_WAREHOUSE"):
        env.pop(k, None)
    return env


# ---------------------------------------------------------------- exports (cached)


def cache_dir(params: dict) -> Path:
    codes = params["la_codes"]
    la = f"n{codes}" if isinstance(codes, int) else "-".join(codes)
    return CACHE / (
        f"seed{SEED}_rpy{params['referrals_per_year']}_y{params['years']}_nights{NIGHTS}_la{la}"
    )


def ensure_exports(params: dict, env: dict) -> tuple[Path, float | None]:
    out = cache_dir(params)
    if (out / ".complete").exists():
        return out, None
    shutil.rmtree(out, ignore_errors=True)
    code = (
        "import sys, json; from csc_generator import generate; "
        "p = json.loads(sys.argv[1]); generate(sys.argv[2], seed=p['seed'], "
        "referrals_per_year=p['referrals_per_year'], years=p['years'], "
        "nights=p['nights'], la_codes=p['la_codes'])"
    )
    args = {**params, "seed": SEED, "nights": NIGHTS}
    print(f"  generating exports -> {out.relative_to(ROOT)} ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run([PY, "-c", code, json.dumps(args), str(out)], env=env, check=True)
    took = time.perf_counter() - t0
    (out / ".complete").write_text(json.dumps({**args, "seconds": round(took, 1)}))
    return out, took


def night_dates(exports: Path) -> list[str]:
    council = sorted(p for p in exports.iterdir() if p.is_dir())[0]
    return sorted(p.name for p in council.iterdir() if (p / "manifest.json").exists())


def csv_stats(exports: Path, date: str) -> tuple[int, int]:
    """(data rows, bytes) of every CSV of the night, from the manifests."""
    rows = size = 0
    for council in sorted(p for p in exports.iterdir() if p.is_dir()):
        night = council / date
        manifest = json.loads((night / "manifest.json").read_text(encoding="utf-8"))
        rows += sum(int(e["rows"]) for e in manifest["files"].values())
        size += sum(p.stat().st_size for p in night.glob("*.csv"))
    return rows, size


# ---------------------------------------------------------------- measuring processes


def run_measured(cmd: list[str], env: dict, cwd: Path | None = None) -> dict:
    """Run a subprocess; wall time, peak tree RSS (sampled) and wait4 maxrss."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            root = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not done.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            peak = max(peak, total)
            done.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    return {
        "wall_s": wall,
        "rc": proc.returncode,
        "output": output,
        "cpu_s": usage.ru_utime + usage.ru_stime,  # the process and every child it waited for
        "peak_tree_rss_mb": peak / 2**20,
        "maxrss_single_mb": usage.ru_maxrss / 1024,
    }  # Linux: KiB


# ---------------------------------------------------------------- Airflow


def setup_airflow(env: dict) -> Path:
    home = Path(tempfile.mkdtemp(prefix="csc-bench-airflow-"))
    env["AIRFLOW_HOME"] = str(home)
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    env["AIRFLOW__API_AUTH__JWT_SECRET"] = os.urandom(48).hex()
    t0 = time.perf_counter()
    subprocess.run(
        [str(Path(PY).with_name("airflow")), "db", "migrate"],
        env=env,
        check=True,
        capture_output=True,
    )
    (home / ".migrated").touch()  # csc_pipeline.run's stamp: skip its own migrate
    print(f"airflow db migrate: {time.perf_counter() - t0:.1f}s ({home})", flush=True)
    return home


def _ts(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    d = dt.datetime.fromisoformat(str(value))
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)


def pack_dag_wall(home: Path) -> float | None:
    """Wall time of the latest Board pack DAG run (first task start to last task end)."""
    con = sqlite3.connect(home / "airflow.db")
    try:
        row = con.execute(
            "select run_id from dag_run where dag_id = ? order by id desc limit 1",
            (PACK_DAG_ID,),
        ).fetchone()
        if row is None:
            return None
        spans = con.execute(
            "select min(start_date), max(end_date) from task_instance "
            "where dag_id = ? and run_id = ?",
            (PACK_DAG_ID, row[0]),
        ).fetchone()
    finally:
        con.close()
    if not spans or not spans[0] or not spans[1]:
        return None
    return (_ts(spans[1]) - _ts(spans[0])).total_seconds()


def last_run_timings(home: Path) -> dict:
    con = sqlite3.connect(home / "airflow.db")
    try:
        run_id, state, start, end = con.execute(
            "select run_id, state, start_date, end_date from dag_run where dag_id = ? "
            "order by id desc limit 1",
            (DAG_ID,),
        ).fetchone()
        tis = con.execute(
            "select task_id, map_index, state, start_date, end_date from task_instance "
            "where dag_id = ? and run_id = ?",
            (DAG_ID, run_id),
        ).fetchall()
    finally:
        con.close()
    run_start, run_end = _ts(start), _ts(end)
    per_council: dict[int, dict[str, float]] = {}
    other: dict[str, float] = {}
    states: dict[str, str] = {}
    first_ti = min((_ts(t[3]) for t in tis if t[3]), default=run_start)
    last_ti = max((_ts(t[4]) for t in tis if t[4]), default=run_end)
    for task_id, map_index, ti_state, s, e in tis:
        states[f"{task_id}[{map_index}]"] = ti_state
        dur = (_ts(e) - _ts(s)).total_seconds() if s and e else 0.0
        short = task_id.rsplit(".", 1)[-1]
        if short in STAGES:
            per_council.setdefault(map_index, {})[STAGES[short]] = dur
        else:
            other[task_id] = other.get(task_id, 0.0) + dur
    # dag.test() may leave dag_run start/end unset or coarse: fall back to the tasks' span
    s0 = min(x for x in (run_start, first_ti) if x)
    s1 = max(x for x in (run_end, last_ti) if x)
    wall = (s1 - s0).total_seconds()
    stage_sum = sum(sum(c.values()) for c in per_council.values())
    stages = {k: sum(c.get(k, 0.0) for c in per_council.values()) for k in STAGE_COLS}
    return {
        "run_id": run_id,
        "state": state,
        "dag_run_wall_s": wall,
        "stages_s": stages,
        "airflow_overhead_s": wall - stage_sum,
        "other_tasks_s": other,
        "per_council_s": {str(k): v for k, v in sorted(per_council.items())},
        "task_states": states,
        "board_pack_dag_s": pack_dag_wall(home),
    }


# ---------------------------------------------------------------- floor

FLOOR_CODE = r"""
import sys, time, duckdb
from pathlib import Path
files = sorted(Path(p) for p in sys.argv[2:])
t0 = time.perf_counter()
con = duckdb.connect(sys.argv[1])
rows = 0
for i, f in enumerate(files):
    path = str(f).replace("'", "''")
    con.execute(f"create table t{i} as select * from read_csv('{path}', all_varchar = true, header = true)")
    rows += con.execute(f"select count(*) from t{i}").fetchone()[0]
con.execute("checkpoint")
con.close()
print(f"FLOOR {time.perf_counter() - t0:.4f} {rows}")
"""


def measure_floor(exports: Path, date: str, env: dict, tmp: Path) -> dict:
    files = sorted(str(p) for p in exports.glob(f"*/{date}/*.csv"))
    db = tmp / f"floor_{date}.duckdb"
    r = run_measured([PY, "-c", FLOOR_CODE, str(db), *files], env)
    db.unlink(missing_ok=True)
    line = next(ln for ln in r["output"].splitlines() if ln.startswith("FLOOR"))
    _, secs, rows = line.split()
    return {
        "floor_s": float(secs),
        "floor_rows": int(rows),
        "floor_proc_wall_s": r["wall_s"],
        "floor_peak_rss_mb": r["peak_tree_rss_mb"],
    }


# ---------------------------------------------------------------- one size


KPI_DIR = BENCH / "kpi_monthly"


def save_kpis(var: Path, size: str, night: int, date: str, label: str) -> Path:
    """The night's published kpi_monthly as a sorted CSV (bench/kpi_monthly/<label>/), so
    that the figures before and after a change can be diffed (issue 11: no figure changes).
    """
    import duckdb

    out = KPI_DIR / label / f"{size}_night{night}.csv.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    src = next((var / "parquet").glob(f"*/{date}/kpi_monthly.parquet"))
    con = duckdb.connect()
    try:
        rel = con.read_parquet(str(src))
        cols = ", ".join(f'"{c}"' for c in rel.columns)
        target = str(out).replace("'", "''")
        con.execute(
            f"copy (select * from read_parquet('{src}') order by {cols}) to '{target}' (header, compression gzip)"
        )
    finally:
        con.close()
    return out


def dag_test_night(exports: Path, date: str, var: Path, env: dict, warehouse: str) -> dict:
    """One night of every council in `exports` as `make run` does it (`dag.test()` in
    `python -m csc_pipeline.run`), measured by run_measured."""
    night_env = {
        **env,
        "CSC_EXPORTS_ROOT": str(exports),
        "CSC_VAR_DIR": str(var),
        "CSC_WAREHOUSE": str(var / "warehouse" / warehouse),
        "CSC_EXPORT_DATE": date,
    }
    return run_measured([PY, "-m", "csc_pipeline.run"], night_env, cwd=ROOT)


def run_board_pack_dag(exports: Path, var: Path, env: dict) -> dict:
    """The Board pack DAG after the night, in a process of its own (its Chromium must not
    count in the night's memory): `python -m csc_pipeline.run --board-pack-only`."""
    pack_env = {
        **env,
        "CSC_EXPORTS_ROOT": str(exports),
        "CSC_VAR_DIR": str(var),
        "CSC_WAREHOUSE": str(var / "warehouse" / "csc.duckdb"),
        "CSC_BOARD_PACK": "on",
    }
    return run_measured([PY, "-m", "csc_pipeline.run", "--board-pack-only"], pack_env, cwd=ROOT)


def run_night(exports: Path, date: str, var: Path, env: dict, home: Path) -> dict:
    r = dag_test_night(exports, date, var, {**env, "CSC_BOARD_PACK": "off"}, "csc.duckdb")
    pack = run_board_pack_dag(exports, var, env)
    if pack["rc"] != 0:
        raise RuntimeError(f"board pack DAG failed:\n{pack['output'][-3000:]}")
    t = last_run_timings(home)
    if r["rc"] != 0 or t["state"] != "success":
        tail = "\n".join(r["output"].splitlines()[-40:])
        raise RuntimeError(
            f"night {date} failed (rc={r['rc']}, state={t['state']}):\n{tail}\n"
            f"task states: {t['task_states']}"
        )
    rows, size = csv_stats(exports, date)
    total = t["dag_run_wall_s"]
    return {
        "date": date,
        "raw_rows": rows,
        "csv_mb": size / 2**20,
        "total_s": total,
        "process_wall_s": r["wall_s"],
        "process_cpu_s": r["cpu_s"],  # CPU-seconds of the night's run (what a hub pays)
        "board_pack_process": {
            "wall_s": pack["wall_s"],
            "cpu_s": pack["cpu_s"],
            "peak_rss_mb": max(pack["peak_tree_rss_mb"], pack["maxrss_single_mb"]),
        },
        "rows_per_s": rows / total if total else None,
        "peak_rss_mb": max(r["peak_tree_rss_mb"], r["maxrss_single_mb"]),
        "peak_tree_rss_mb": r["peak_tree_rss_mb"],
        "maxrss_single_mb": r["maxrss_single_mb"],
        **{k: v for k, v in t.items() if k != "task_states"},
    }


def run_size(
    name: str, params: dict, repeats: int, env: dict, home: Path, kpis: str | None = None
) -> dict:
    print(f"\n== {name}: {params}", flush=True)
    exports, gen_s = ensure_exports(params, env)
    dates = night_dates(exports)
    reps: list[list[dict]] = []
    for rep in range(repeats):
        var = Path(tempfile.mkdtemp(prefix=f"csc-bench-{name}-"))
        nights = []
        try:
            for i, date in enumerate(dates, 1):
                n = run_night(exports, date, var, env, home)
                n.update(measure_floor(exports, date, env, var))
                n["ratio_to_floor"] = n["total_s"] / n["floor_s"] if n["floor_s"] else None
                n["night"] = i
                if kpis and rep == 0:
                    save_kpis(var, name, i, date, kpis)
                nights.append(n)
                print(
                    f"  repeat {rep + 1} night {i} ({date}): total {n['total_s']:.1f}s, "
                    f"process {n['process_wall_s']:.1f}s, floor {n['floor_s']:.2f}s, "
                    f"peak RSS {n['peak_rss_mb']:.0f} MB",
                    flush=True,
                )
        finally:
            shutil.rmtree(var, ignore_errors=True)
        reps.append(nights)
    return {
        "size": name,
        "params": params,
        "exports": str(exports.relative_to(ROOT)),
        "generate_s": gen_s,
        "repeats": repeats,
        "nights": [median_night([r[i] for r in reps]) for i in range(len(dates))],
    }


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def median_night(runs: list[dict]) -> dict:
    """Medians over repeats of every number (nested dicts too); first run's other fields."""

    def merge(items):
        first = items[0]
        if isinstance(first, dict):
            return {k: merge([it.get(k) for it in items if isinstance(it, dict)]) for k in first}
        if isinstance(first, (int, float)) and not isinstance(first, bool):
            return _median(items)
        return first

    out = merge(runs)
    pcs = out.pop("per_council_s", {})
    out["councils"] = len(pcs)
    out["per_council_median_s"] = (
        {k: _median([c.get(k) for c in pcs.values()]) for k in STAGE_COLS} if pcs else {}
    )
    return out


# ---------------------------------------------------------------- DAG import time

IMPORT_CODE = r"""
import sys, time, runpy
t0 = time.perf_counter()
import airflow.sdk  # noqa: F401
t1 = time.perf_counter()
runpy.run_path(sys.argv[1], run_name="dag_file")
t2 = time.perf_counter()
print(f"IMPORT {t1 - t0:.4f} {t2 - t1:.4f}")
"""


def dag_import_times(env: dict, n: int = 5) -> dict:
    out = {}
    for f in sorted((ROOT / "dags").glob("*.py")):
        sdk, dag = [], []
        for _ in range(n):
            r = subprocess.run(
                [PY, "-c", IMPORT_CODE, str(f)], env=env, capture_output=True, text=True, check=True
            )
            line = next(ln for ln in r.stdout.splitlines() if ln.startswith("IMPORT"))
            a, b = line.split()[1:]
            sdk.append(float(a))
            dag.append(float(b))
        out[f.name] = {
            "airflow_sdk_import_s": statistics.median(sdk),
            "dag_file_s": statistics.median(dag),
            "samples": n,
        }
    return out


# ---------------------------------------------------------------- report


def _f(v, fmt="{:.1f}"):
    return "-" if v is None else fmt.format(v)


def print_table(results: list[dict], imports: dict) -> None:
    cols = [
        "size",
        "night",
        "rows",
        "land",
        "valid",
        "dbt",
        "publ",
        "alerts",
        "dqpage",
        "airflow",
        "total",
        "proc",
        "rows/s",
        "RSS MB",
        "floor",
        "x floor",
        "pack DAG",
    ]
    widths = [8, 5, 10, 7, 7, 7, 7, 7, 7, 8, 7, 7, 9, 7, 6, 8, 9]
    line = " ".join(c.rjust(w) for c, w in zip(cols, widths, strict=True))
    print("\n" + line + "\n" + "-" * len(line))
    for res in results:
        for n in res["nights"]:
            s = n["stages_s"]
            vals = [
                res["size"],
                str(n["night"]),
                f"{n['raw_rows']:,}",
                _f(s["landing"]),
                _f(s["validation"]),
                _f(s["dbt_build"]),
                _f(s["publish"]),
                _f(s["alerts"]),
                _f(s.get("dq_page")),
                _f(n["airflow_overhead_s"]),
                _f(n["total_s"]),
                _f(n["process_wall_s"]),
                _f(n["rows_per_s"], "{:,.0f}"),
                _f(n["peak_rss_mb"], "{:.0f}"),
                _f(n["floor_s"], "{:.2f}"),
                _f(n["ratio_to_floor"], "{:.0f}x"),
                _f(n.get("board_pack_dag_s")),
            ]
            print(" ".join(v.rjust(w) for v, w in zip(vals, widths, strict=True)))
    print(
        "(seconds; stages from Airflow task_instance; airflow = DAG run wall - stage tasks; "
        "total = DAG run wall; proc = whole `python -m csc_pipeline.run` process; RSS = the "
        "night's process tree; pack DAG = csc_board_pack's run after the night, in a process "
        "of its own, not in total or RSS)"
    )
    for res in results:
        for n in res["nights"]:
            if n["councils"] > 1:
                pc = n["per_council_median_s"]
                print(
                    f"{res['size']} night {n['night']}: {n['councils']} councils, per-council "
                    "median: " + ", ".join(f"{k} {_f(v)}" for k, v in pc.items())
                )
    for name, t in imports.items():
        print(
            f"DAG import {name}: airflow.sdk {t['airflow_sdk_import_s']:.2f}s, then DAG file "
            f"{t['dag_file_s']:.3f}s (median of {t['samples']})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=",".join([*SIZES, "hub33"]))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="typical only, 3 years (smoke)")
    parser.add_argument(
        "--executors",
        default="serial,local,celery",
        help="hub sizes (hubN): which of serial (dag.test), local, celery run night 2",
    )
    parser.add_argument(
        "--hub-slots",
        type=int,
        default=os.cpu_count() or 2,
        help="hub sizes: csc_warehouse pool slots = councils building at once (default: cores)",
    )
    parser.add_argument(
        "--hub-years",
        type=int,
        default=10,
        help="hub sizes: years of history per council (default 10, a typical council)",
    )
    parser.add_argument(
        "--save-kpis",
        metavar="LABEL",
        help="keep each night's kpi_monthly as bench/kpi_monthly/LABEL/<size>_night<N>.csv",
    )
    args = parser.parse_args(argv)
    table = QUICK if args.quick else SIZES
    names = list(QUICK) if args.quick else [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [n for n in names if n not in table and not hub_bench.hub_params(n)]
    if unknown:
        parser.error(f"unknown sizes {unknown}; choose from {list(SIZES)} or hubN (e.g. hub33)")
    executors = []
    for e in (x.strip() for x in args.executors.split(",") if x.strip()):
        if e not in hub_bench.EXECUTOR_NAMES:
            parser.error(f"unknown executor {e!r}; choose from {list(hub_bench.EXECUTOR_NAMES)}")
        executors.append(hub_bench.EXECUTOR_NAMES[e])

    env = base_env()
    started = dt.datetime.now(dt.UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + ("-quick" if args.quick else "")
    imports = dag_import_times(env)
    home = setup_airflow(env)
    results: list[dict] = []
    try:
        for i, n in enumerate(names, 1):  # saved after every size (complete: false until the end)
            hub = hub_bench.hub_params(n)
            if hub:
                hub["years"] = args.hub_years
                results.extend(hub_bench.run_hub(n, hub, executors, dict(env), args.hub_slots))
            else:
                results.append(
                    run_size(n, table[n], max(1, args.repeats), env, home, args.save_kpis)
                )
            save(stamp, started, args, imports, results, complete=i == len(names))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print_table(results, imports)
    hub_bench.print_hub(results)
    print(f"\nResults: {(RESULTS / f'{stamp}.json').relative_to(ROOT)} and latest.json")
    return 0


def save(
    stamp: str, started: dt.datetime, args, imports: dict, results: list[dict], complete: bool
) -> None:
    doc = {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "complete": complete,
        "quick": args.quick,
        "repeats": args.repeats,
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "dag_import": imports,
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_round(doc), indent=1) + "\n"
    for target in (RESULTS / f"{stamp}.json", RESULTS / "latest.json"):
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)


def _round(obj):
    if isinstance(obj, float):
        return round(obj, 3)
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v) for v in obj]
    return obj


def _exit_on_sigterm(signum, frame) -> None:
    """A terminated bench (kill, timeout) unwinds like Ctrl-C: the `finally` blocks stop
    the Airflow deployments it started (a killed bench once left a scheduler running
    tasks beside the next run: bench/README.md, "Round 5")."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    sys.exit(main())
