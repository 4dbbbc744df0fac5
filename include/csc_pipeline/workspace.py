"""Shadow copies of a council's warehouse: how a night is published all or nothing.

Each night is landed, validated and built in a private working copy of the council's
published DuckDB file. Only when every step has succeeded is the copy moved over the
published file with an atomic rename. So:
- a night that fails or is quarantined at any step leaves the published warehouse
  byte-for-byte as it was (the last good marts stay in place);
- BI tools reading the published file never see a half-built night, and a reader's
  open handle keeps working through the swap;
- only one process ever writes a given file (DuckDB's single-writer rule).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from csc_pipeline import warehouse as wh

log = logging.getLogger(__name__)


def work_path(warehouse: Path) -> Path:
    """The working copy of a council's warehouse (same directory: the rename is atomic).

    The name does not carry the night: dbt keeps its parsed project only while the
    profile (which holds this path) is unchanged, and a per-night name forced a full
    re-parse every night. One night is built at a time per council (the DAG's
    max_active_runs=1 and the warehouse pool); the night a copy belongs to is written
    beside it and checked before it is published.
    """
    return warehouse.parent / f".{warehouse.stem}.work{warehouse.suffix}"


def _night_file(warehouse: Path) -> Path:
    return warehouse.parent / f".{warehouse.stem}.work.night"


def start(warehouse: Path, export_date: str) -> Path:
    """Create a fresh working copy of the published warehouse (or an empty one)."""
    work = work_path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    discard(warehouse, export_date)
    if warehouse.exists():
        checkpoint(warehouse)
        shutil.copy2(warehouse, work)
    _night_file(warehouse).write_text(export_date)
    return work


checkpoint = wh.checkpoint  # fold a WAL into its file before a byte copy


def publish(warehouse: Path, export_date: str) -> None:
    """Atomically replace the published warehouse with the night's working copy."""
    work = work_path(warehouse)
    if not work.exists():
        raise FileNotFoundError(f"no working copy to publish for {export_date}: {work}")
    marker = _night_file(warehouse)
    building = marker.read_text().strip() if marker.exists() else None
    if building != export_date:
        raise RuntimeError(
            f"the working copy {work} belongs to night {building}, not {export_date}: not published"
        )
    checkpoint(work)
    wh.atomic_replace(work, warehouse)
    marker.unlink()
    stale_wal = warehouse.with_name(warehouse.name + ".wal")
    if stale_wal.exists():  # a WAL of the old file must not be replayed onto the new one
        stale_wal.unlink()


def discard(warehouse: Path, export_date: str) -> None:
    """Remove the working copy (after a failure or quarantine, or before a new night)."""
    work = work_path(warehouse)
    if work.exists():
        log.info("discarding the working copy %s (night %s)", work, export_date)
    for p in (work, work.with_name(work.name + ".wal"), _night_file(warehouse)):
        p.unlink(missing_ok=True)
