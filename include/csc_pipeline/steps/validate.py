"""validate: the night's data-quality gate; a critical finding quarantines the night.

Runs in the working copy, before any mart exists (docs/architecture.md, "Parse once"):
first dbt builds the seeds and staging (the one place each column is typed, with a
parse-failure flag per value), then the gate (csc_pipeline.quality.gate) validates raw's
shape and staging's typed values with GX and SQL and records dq.* in the working copy. On a critical finding the working copy is discarded (so the published
warehouse stays byte-identical), a quarantine report is written and NightQuarantined
raised (the DAG fails the task, never retried).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from csc_pipeline import quarantine, workspace
from csc_pipeline.config import Settings, settings
from csc_pipeline.steps.discover import night_of
from csc_pipeline.steps.errors import NightQuarantined

log = logging.getLogger(__name__)

# Seeds (staging's code maps) and staging, models only: staging's data tests are its key
# tests (unique / not_null on the deduplicated keys), which the gate makes on every
# delivered row (pk_missing, pk_duplicate) and dedupe_on_key guarantees, so the night
# does not pay for them twice; dbt unit tests never run at night (CI runs them).
# The seeds are loaded only when they changed (csc_pipeline.seed_state): the working
# copy already holds the ones the last published night loaded.
SEEDS = ["resource_type:seed"]
STAGING = ["path:models/staging"]
NIGHTLY_EXCLUDE = ["--exclude", "test_type:unit", "test_type:data"]


def staging_selection(work: Path) -> tuple[list[str], str | None]:
    """dbt's --select for the night, and the seed fingerprint to record after it (None
    when the working copy already holds these seeds)."""
    from csc_pipeline import seed_state

    wanted = seed_state.fingerprint()
    if seed_state.current(work) == wanted:
        return ["--select", *STAGING], None
    return ["--select", *SEEDS, *STAGING], wanted


def build_staging(work: Path, la_code: str, export_date: str) -> str:
    """dbt: (changed) seeds + staging in the working copy (typed once, flags per row)."""
    from csc_pipeline import seed_state
    from csc_pipeline import warehouse as wh
    from csc_pipeline.dbt_runner import run_dbt

    select, load_seeds = staging_selection(work)
    result = run_dbt(
        "build",
        warehouse=work,
        la_code=la_code,
        export_date=export_date,
        extra_args=[*select, *NIGHTLY_EXCLUDE],
    )
    if load_seeds is not None:
        with wh.connect(work) as con:
            seed_state.record(con, load_seeds)
    return result.summary() + ("" if load_seeds else " (seeds unchanged: not reloaded)")


def _import_gx_meanwhile() -> threading.Thread:
    """Import Great Expectations in a thread while dbt builds staging (the gate needs GX
    next; importing it costs about 3 s, which overlaps the time dbt waits on DuckDB, the
    SQL running with Python's lock released)."""
    from csc_pipeline.quality.gx_runner import import_gx

    thread = threading.Thread(target=import_gx, name="import-gx", daemon=True)
    thread.start()
    return thread


def _quarantined_night_page(work: Path, night, cfg: Settings) -> Path | str:
    """The quarantined night's own data-quality page (every finding, by rule and team),
    rendered from the working copy's dq.* before the copy is discarded: the one place a
    team manager sees which records stopped the night. Never fatal: the quarantine
    report is the record."""
    from csc_pipeline import dq_page

    try:
        return dq_page.write_page(work, night.la_code, night.export_date, cfg.var_dir)
    except Exception as exc:  # noqa: BLE001 - the page is a courtesy; the quarantine stands
        return f"not written ({type(exc).__name__}: {exc})"


def run(ref: dict, cfg: Settings | None = None) -> dict:
    from csc_pipeline import preload

    # before this step imports anything heavy: what the forking process preloaded
    ready = preload.already_imported()
    log.info("libraries already imported at start: %s", ", ".join(ready) or "none")
    from csc_pipeline.quality.gate import format_critical_message, run_gate

    cfg = cfg or settings()
    night, warehouse = night_of(ref), Path(ref["warehouse"])
    from csc_pipeline.dbt_runner import DbtFailed

    staging_error: DbtFailed | None = None
    gx = _import_gx_meanwhile()  # ~3 s of imports, overlapped with dbt's SQL
    try:
        staging = build_staging(Path(ref["work"]), night.la_code, night.export_date)
    except DbtFailed as exc:  # the gate still runs: it names what is wrong with the night
        staging, staging_error = str(exc), exc
    except Exception:
        workspace.discard(warehouse, night.export_date)
        raise
    gx.join()
    result = run_gate(
        Path(ref["work"]), night.la_code, night.export_date, night.path, cfg.dq_docs_dir
    )
    if result.is_quarantined:
        message = format_critical_message(result)
        try:
            report = quarantine.quarantine(
                cfg.var_dir,
                night,
                stage="validation",
                message=message,
                findings=[f.as_dict() for f in result.critical],
            )
            page = _quarantined_night_page(Path(ref["work"]), night, cfg)
        finally:
            workspace.discard(warehouse, night.export_date)
        raise NightQuarantined(f"{message}\n(report: {report}; data-quality page: {page})")
    if staging_error is not None:  # not the data's fault as far as the gate can tell
        workspace.discard(warehouse, night.export_date)
        raise staging_error
    return {
        **ref,
        "dbt_staging": staging,
        "dq_summary": result.summary,
        "dq_docs": str(result.docs_path or ""),
    }
