"""build: dbt builds everything after staging (intermediate, marts, snapshots) in the
working copy. Seeds and staging were built (and validated by the gate) in the validate
step, so they are not built twice.

dbt unit tests pin the definitions, not the night's data: CI runs them
(tests/test_pipeline_e2e.py, make test-fast), the nightly build skips them.
A failure discards the working copy (the published warehouse is untouched).
"""

from __future__ import annotations

from pathlib import Path

from csc_pipeline import workspace
from csc_pipeline.config import Settings
from csc_pipeline.steps.discover import night_of

# Not at night: dbt unit tests and the `code_only` tests (the marts' privacy guard reads
# column names, which the enforced contracts fix: its outcome depends on the code, so CI
# runs it). The marts' keys are primary_key constraints of their contracts, enforced by
# the database as each mart is written, not repeated as unique/not_null tests.
NIGHTLY_EXCLUDE = [
    "--exclude",
    "test_type:unit",
    "tag:code_only",
    "resource_type:seed",
    "path:models/staging",
]


def run(ref: dict, cfg: Settings | None = None) -> dict:
    from csc_pipeline import model_runs
    from csc_pipeline.dbt_runner import run_dbt

    night = night_of(ref)
    try:
        result = run_dbt(
            "build",
            warehouse=Path(ref["work"]),
            la_code=night.la_code,
            export_date=night.export_date,
            extra_args=NIGHTLY_EXCLUDE,
        )
        # per-model status: task-log table + meta.model_runs, published with the night
        models = model_runs.report_build(
            result.target_dir, Path(ref["work"]), night.la_code, night.export_date
        )
    except Exception:
        workspace.discard(Path(ref["warehouse"]), night.export_date)
        raise
    return {**ref, "dbt": result.summary(), **models}
