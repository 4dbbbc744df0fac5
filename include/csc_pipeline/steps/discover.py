"""discover: which night of a council to process (the DAG's sensor calls ``run``).

A night is a folder ``<exports_root>/<la_code>/<YYYY-MM-DD>/`` whose manifest is present
(the case system, or the extract step, writes it last). The night to process is the
given date (it must be complete), else the oldest pending one.
"""

from __future__ import annotations

from pathlib import Path

from csc_pipeline import nights, quarantine
from csc_pipeline.config import Settings, settings
from csc_pipeline.councils import council_codes, warehouse_for


def pending_nights(
    exports_root: Path, warehouse: Path, la_code: str, var_dir: Path | None = None
) -> list[nights.Night]:
    """Complete nights not yet processed, oldest first.

    A night is pending when the warehouse has never seen it, or it was seen with a
    different manifest (re-delivered after a fix), or it landed but was never published
    (an interrupted run). A night delivered twice unchanged is not pending, and neither
    is a delivery already quarantined (see csc_pipeline.quarantine).
    """
    seen = nights.seen_nights(warehouse, la_code)
    out = []
    for night in nights.complete_nights(exports_root, la_code):
        if var_dir is not None and quarantine.is_quarantined(var_dir, night):
            continue
        status = seen.get(night.export_date)
        if status is None:
            out.append(night)
            continue
        state, sha = status
        if sha != night.manifest_sha256() or state == nights.STATUS_LANDED:
            out.append(night)
    return out


def select_night(
    la_code: str, export_date: str | None = None, cfg: Settings | None = None
) -> dict | None:
    """The night to process: the given date (must be complete), else the oldest pending."""
    cfg = cfg or settings()
    warehouse = warehouse_for(la_code, cfg)
    if export_date:
        night = nights.Night(la_code, export_date, cfg.exports_root / la_code / export_date)
        if not night.is_complete:
            return None
    else:
        pending = pending_nights(cfg.exports_root, warehouse, la_code, cfg.var_dir)
        if not pending:
            return None
        night = pending[0]
    return {
        "la_code": la_code,
        "export_date": night.export_date,
        "path": str(night.path),
        "warehouse": str(warehouse),
    }


def run(ref: dict, cfg: Settings | None = None) -> dict | None:
    """``ref`` = {"la_code", "export_date" (optional)} -> the night's ref, or None when
    no complete night is there yet."""
    return select_night(ref["la_code"], ref.get("export_date"), cfg)


def night_of(ref: dict) -> nights.Night:
    """The Night a ref names (every later step starts from it)."""
    return nights.Night(ref["la_code"], ref["export_date"], Path(ref["path"]))


__all__ = ["council_codes", "night_of", "pending_nights", "run", "select_night"]
