"""board_pack step: after a publish, the figures people look at, from the published file.

1. The night's data-quality page (`csc_pipeline.dq_page`): every published night.
2. The Improvement Board pack (`csc_pipeline.pack`) of the latest complete month as at
   the night, HTML and PDF. The pack of a month is re-rendered each night until the
   next month is complete (late recording moves the figures); its cover carries the
   as-at date it was produced from.

Reads the published warehouse read-only, after `publish`, so it never holds a writer's
lock and a failure here cannot touch the published data (the night stays published).
Idempotent: re-running writes the same files (atomically replaced).

CSC_BOARD_PACK: `on` (default) or `off` (skip the pack, keep the DQ page: e.g. for
benchmarks of the load itself); CSC_BOARD_PACK_PDF=false renders the HTML only.
"""

from __future__ import annotations

import logging
from pathlib import Path

from csc_pipeline.config import env_flag, settings

log = logging.getLogger(__name__)


def enabled() -> bool:
    return env_flag("CSC_BOARD_PACK", True)


def run(ref: dict, cfg=None) -> dict:
    """Render the night's DQ page and the latest complete month's pack."""
    from csc_pipeline import dq_page, retention
    from csc_pipeline.pack import PackError, build_pack

    cfg = cfg or settings()
    la_code, export_date = ref["la_code"], ref["export_date"]
    warehouse = Path(ref["warehouse"])
    page = dq_page.write_page(warehouse, la_code, export_date, cfg.var_dir)
    retention.prune_nights(page.parent.parent, cfg.keep_nights, protect=export_date)
    out = {**ref, "dq_page": str(page)}
    if not enabled():
        log.info("board pack skipped (CSC_BOARD_PACK=off)")
        return {**out, "board_pack": None}
    try:
        result = build_pack(
            warehouse, la_code, None, var_dir=cfg.var_dir, pdf=env_flag("CSC_BOARD_PACK_PDF", True)
        )
    except PackError as exc:  # e.g. no complete month yet: nothing to report, not a failure
        log.warning("no board pack for %s as at %s: %s", la_code, export_date, exc)
        return {**out, "board_pack": None, "board_pack_skipped": str(exc)}
    return {**out, "board_pack": result.as_dict()}
