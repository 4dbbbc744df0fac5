"""dq_page step: the night's data-quality page, from the published file (every night).

Service managers open it the morning after: every finding of the night by rule and team,
offline (`csc_pipeline.dq_page`). Old nights' pages are pruned with the kept nights.
Reads the published warehouse read-only, after `publish`, so it never holds a writer's
lock and a failure here cannot touch the published data. Idempotent.

The Improvement Board pack is not part of the night: it is its own DAG, run on the
published-night asset (steps/board_pack.py, dags/csc_board_pack.py).
"""

from __future__ import annotations

from pathlib import Path

from csc_pipeline.config import Settings, settings


def run(ref: dict, cfg: Settings | None = None) -> dict:
    from csc_pipeline import dq_page, retention

    cfg = cfg or settings()
    la_code, export_date = ref["la_code"], ref["export_date"]
    page = dq_page.write_page(Path(ref["warehouse"]), la_code, export_date, cfg.var_dir)
    retention.prune_nights(page.parent.parent, cfg.keep_nights, protect=export_date)
    return {**ref, "dq_page": str(page)}
