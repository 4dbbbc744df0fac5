"""validate: the night's data-quality gate; a critical finding quarantines the night.

Runs in the working copy, before any mart exists (docs/architecture.md, "Parse once"):
the gate (csc_pipeline.quality.gate) checks the landed night and records dq.* in the
working copy. On a critical finding the working copy is discarded (so the published
warehouse stays byte-identical), a quarantine report is written and NightQuarantined
raised (the DAG fails the task, never retried).
"""

from __future__ import annotations

from pathlib import Path

from csc_pipeline import quarantine, workspace
from csc_pipeline.config import Settings, settings
from csc_pipeline.steps.discover import night_of
from csc_pipeline.steps.errors import NightQuarantined


def run(ref: dict, cfg: Settings | None = None) -> dict:
    from csc_pipeline.quality.gate import format_critical_message, run_gate

    cfg = cfg or settings()
    night, warehouse = night_of(ref), Path(ref["warehouse"])
    result = run_gate(
        Path(ref["work"]), night.la_code, night.export_date, night.path, cfg.dq_docs_dir
    )
    if result.is_quarantined:
        workspace.discard(warehouse, night.export_date)
        message = format_critical_message(result)
        report = quarantine.quarantine(
            cfg.var_dir,
            night,
            stage="validation",
            message=message,
            findings=[f.as_dict() for f in result.critical],
        )
        raise NightQuarantined(f"{message}\n(report: {report})")
    return {**ref, "dq_summary": result.summary, "dq_docs": str(result.docs_path or "")}
