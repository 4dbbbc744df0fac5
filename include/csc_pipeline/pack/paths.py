"""Where a council's published warehouse is (one home: the pipeline's own rule)."""

from __future__ import annotations

from pathlib import Path

from csc_pipeline.config import Settings


def warehouse_for(la_code: str, cfg: Settings) -> Path:
    from csc_pipeline.councils import warehouse_for as _wf

    return _wf(la_code, cfg)
