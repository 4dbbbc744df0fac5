"""The dbt process of a night: `python -m csc_pipeline.dbt_invoke <dbt arguments>`.

csc_pipeline.dbt_runner starts this instead of the `dbt` script, for one reason: dbt
writes manifest.json (about 2 MB, ~1.5 s of serialising on a 2-core worker) after every
invocation, and nothing reads it at night. With `--no-write-json` dbt writes no JSON
artefact at all, so this wrapper writes the one the pipeline reads, run_results.json
(per-node status and timings: csc_pipeline.model_runs, DbtFailed's failure list), from
the invocation's own result object — the same artefact, in dbt's own format.

Exit codes follow dbt's CLI: 0 success, 1 a node failed, 2 dbt itself failed.
Commands that exist to write artefacts (`docs generate`) are run without
`--no-write-json` by dbt_runner and are left alone here.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _target_path(argv: list[str]) -> Path | None:
    if "--target-path" in argv:
        i = argv.index("--target-path")
        if i + 1 < len(argv):
            return Path(argv[i + 1])
    return None


def main(argv: list[str] | None = None) -> int:
    from dbt.cli.main import dbtRunner

    argv = list(sys.argv[1:] if argv is None else argv)
    target = _target_path(argv)
    if target is not None:  # never leave an earlier invocation's results to be misread
        (target / "run_results.json").unlink(missing_ok=True)
    res = dbtRunner().invoke(argv)
    result = res.result
    if "--no-write-json" in argv and target is not None and hasattr(result, "write"):
        target.mkdir(parents=True, exist_ok=True)
        result.write(str(target / "run_results.json"))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        print(f"dbt failed: {type(res.exception).__name__}: {res.exception}", file=sys.stderr)
        return 2
    return 0 if res.success else 1


if __name__ == "__main__":
    sys.exit(main())
