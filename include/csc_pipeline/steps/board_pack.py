"""board_pack step: the Improvement Board pack of the latest complete month, HTML and PDF.

Runs in its own DAG, `csc_board_pack` (dags/csc_board_pack.py), scheduled on the
published-night asset (csc_pipeline.assets): once a council's night is published, its
pack is rendered from the published file, read-only. It is not a step of the nightly
DAG: the Board reads a monthly pack, so a slow or failed render (Vega-Lite charts, then
Chromium printing the PDF: 6-10 s a council) must neither delay a night's publish nor
hold a nightly worker slot. The pack of a month is re-rendered after each published
night until the next month is complete (late recording moves the figures); its cover
carries the as-at date it was produced from.

Idempotent: re-running writes the same files (atomically replaced).

CSC_BOARD_PACK: `on` (default) or `off` (no pack: e.g. for benchmarks of the load
itself); CSC_BOARD_PACK_PDF=false renders the HTML only.
"""

from __future__ import annotations

import logging
from pathlib import Path

from csc_pipeline.config import Settings, env_flag, settings

log = logging.getLogger(__name__)


def enabled() -> bool:
    return env_flag("CSC_BOARD_PACK", True)


def nights_to_render(events: list[dict], cfg: Settings | None = None) -> list[dict]:
    """One ref per council to render: the latest published night of each council named
    by the triggering asset events' extra; with no events (a manual run, `make run`),
    every council's latest published night."""
    latest: dict[str, dict] = {}
    for extra in events:
        code = extra["la_code"]
        if code not in latest or extra["export_date"] > latest[code]["export_date"]:
            latest[code] = {
                "la_code": code,
                "export_date": extra["export_date"],
                "warehouse": extra["warehouse"],
            }
    if events:
        return [latest[c] for c in sorted(latest)]
    from csc_pipeline import nights
    from csc_pipeline.councils import council_codes, warehouse_for

    cfg = cfg or settings()
    refs = []
    for code in council_codes(cfg):
        warehouse = warehouse_for(code, cfg)
        published = [
            d
            for d, (status, _) in nights.seen_nights(warehouse, code).items()
            if status == "published"
        ]
        if published:
            refs.append(
                {"la_code": code, "export_date": max(published), "warehouse": str(warehouse)}
            )
    return refs


def run(ref: dict, cfg: Settings | None = None) -> dict:
    """Render the latest complete month's pack of the council's published night."""
    from csc_pipeline.pack import PackError, build_pack

    cfg = cfg or settings()
    la_code, export_date = ref["la_code"], ref["export_date"]
    if not enabled():
        log.info("board pack skipped (CSC_BOARD_PACK=off)")
        return {**ref, "board_pack": None}
    try:
        result = build_pack(
            Path(ref["warehouse"]),
            la_code,
            None,
            var_dir=cfg.var_dir,
            pdf=env_flag("CSC_BOARD_PACK_PDF", True),
        )
    except PackError as exc:  # e.g. no complete month yet: nothing to report, not a failure
        log.warning("no board pack for %s as at %s: %s", la_code, export_date, exc)
        return {**ref, "board_pack": None, "board_pack_skipped": str(exc)}
    return {**ref, "board_pack": result.as_dict()}
