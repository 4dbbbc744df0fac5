"""Where a council's published warehouse is (one home: the pipeline's own rule)."""

from __future__ import annotations

from pathlib import Path

from csc_pipeline.config import Settings


def warehouse_for(la_code: str, cfg: Settings) -> Path:
    try:
        from csc_pipeline.tasks import warehouse_for as _wf
    except ImportError:  # after the restructure (steps/)
        from csc_pipeline.steps.discover import warehouse_for as _wf  # type: ignore[no-redef]
    return _wf(la_code, cfg)
