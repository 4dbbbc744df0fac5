"""land: start the night's working copy and load the export into its raw schema.

The working copy (csc_pipeline.workspace) is a private copy of the council's published
warehouse; the published file is not touched until publish. Loading is
csc_pipeline.landing (manifest, checksums, row counts; raw.* in one transaction). A
delivery that does not match its manifest is quarantined here (NightQuarantined: the
DAG fails the task without retry); any other error discards the copy and may be retried.
"""

from __future__ import annotations

import logging
from pathlib import Path

from csc_pipeline import quarantine, workspace
from csc_pipeline.config import Settings, settings
from csc_pipeline.steps.discover import night_of
from csc_pipeline.steps.errors import NightQuarantined

log = logging.getLogger(__name__)


def run(ref: dict, cfg: Settings | None = None) -> dict:
    from csc_pipeline.landing import NightRejected, land_night

    cfg = cfg or settings()
    night, warehouse = night_of(ref), Path(ref["warehouse"])
    work = workspace.start(warehouse, night.export_date)
    try:
        result = land_night(work, night)
    except NightRejected as exc:
        workspace.discard(warehouse, night.export_date)
        report = quarantine.quarantine(
            cfg.var_dir,
            night,
            stage="landing",
            message=str(exc),
            findings=[{"file": exc.file, "check": exc.check, "row": exc.row, "column": exc.column}],
        )
        raise NightQuarantined(
            f"Night {night.la_code} {night.export_date} quarantined at landing: "
            f"{exc} (report: {report})"
        ) from exc
    except Exception:
        workspace.discard(warehouse, night.export_date)
        raise
    log.info(result.summary())
    return {**ref, "work": str(work), "rows_landed": result.total_rows, "landing": result.summary()}
