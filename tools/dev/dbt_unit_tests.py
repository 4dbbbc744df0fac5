"""Run the dbt project's unit tests on their own, in seconds: `make test-fast` calls it.

dbt unit tests pin the definitions (every KPI's rules) with fixture rows; they need the
models' parent relations to exist only for their column types. So this lands one tiny
generated night (a few hundred records) into a throw-away warehouse, builds the models
with `--empty` (the SQL runs, no rows are written: types only), then runs
`dbt test --select test_type:unit`. The nightly build never runs them (they test
definitions, not the night's data); `make test` runs them on a real night too
(tests/test_pipeline_e2e.py).

    python -m dev.dbt_unit_tests [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path


def run(workdir: Path) -> int:
    from csc_generator import generate
    from csc_pipeline import nights
    from csc_pipeline.dbt_runner import DbtFailed, run_dbt
    from csc_pipeline.landing import land_night

    t0 = time.perf_counter()
    exports = workdir / "exports"
    generate(exports, seed=7, referrals_per_year=150, years=1, nights=1, messy=False)
    night_dir = next((exports / "999").iterdir())
    warehouse = workdir / "unit.duckdb"
    land_night(warehouse, nights.Night("999", night_dir.name, night_dir))
    t1 = time.perf_counter()
    common = dict(
        warehouse=warehouse,
        la_code="999",
        export_date=night_dir.name,
        target_path=workdir / "target",
    )
    run_dbt("build", extra_args=["--empty", "--exclude", "resource_type:test"], **common)
    t2 = time.perf_counter()
    try:
        result = run_dbt("test", extra_args=["--select", "test_type:unit"], **common)
    except DbtFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    t3 = time.perf_counter()
    print(
        f"dbt unit tests: {result.counts.get('pass', 0)} passed "
        f"(night {t1 - t0:.1f}s, empty build {t2 - t1:.1f}s, unit tests {t3 - t2:.1f}s)"
    )
    return 0 if result.counts.get("pass", 0) and not result.failures else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return run(args.keep)
    workdir = Path(tempfile.mkdtemp(prefix="csc-dbt-unit-"))
    try:
        return run(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
