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

import os
import shutil
from pathlib import Path

import duckdb


def work_path(warehouse: Path, export_date: str) -> Path:
    """The working copy for one night (same directory, so the final rename is atomic)."""
    return warehouse.parent / f".{warehouse.stem}.{export_date}.work{warehouse.suffix}"


def start(warehouse: Path, export_date: str) -> Path:
    """Create a fresh working copy of the published warehouse (or an empty one)."""
    work = work_path(warehouse, export_date)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    discard(warehouse, export_date)
    if warehouse.exists():
        checkpoint(warehouse)
        shutil.copy2(warehouse, work)
    return work


def checkpoint(path: Path) -> None:
    """Fold any write-ahead log into the file so a byte copy is complete."""
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        con = duckdb.connect(str(path))
        try:
            con.execute("checkpoint")
        finally:
            con.close()


def publish(warehouse: Path, export_date: str) -> None:
    """Atomically replace the published warehouse with the night's working copy."""
    work = work_path(warehouse, export_date)
    if not work.exists():
        raise FileNotFoundError(f"no working copy to publish for {export_date}: {work}")
    checkpoint(work)
    os.replace(work, warehouse)
    stale_wal = warehouse.with_name(warehouse.name + ".wal")
    if stale_wal.exists():  # a WAL of the old file must not be replayed onto the new one
        stale_wal.unlink()


def discard(warehouse: Path, export_date: str) -> None:
    """Remove a night's working copy (after a failure or quarantine)."""
    work = work_path(warehouse, export_date)
    for p in (work, work.with_name(work.name + ".wal")):
        p.unlink(missing_ok=True)
