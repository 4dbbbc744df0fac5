"""CSV files and manifest.json, exactly as export-contract.md describes a delivery.

Files go to `<out>/<la_code>/<export_date>/`: one CSV per contract table (UTF-8,
optional BOM, one header row, RFC 4180 via the csv module with CRLF line ends, empty
field = null), then `manifest.json` LAST, written to a temporary name and renamed, so
a reader that sees the manifest sees a complete folder - which is the contract's
definition of "complete".
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from csc_pipeline import contract

from .extract import Extract
from .names import Council

BOM = b"\xef\xbb\xbf"


def csv_bytes(extract: Extract, bom: bool = False) -> bytes:
    """The CSV file content of one table."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(extract.columns)
    writer.writerows(zip(*(extract.cells[c] for c in extract.columns), strict=True))
    data = buf.getvalue().encode("utf-8")
    return BOM + data if bom else data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FileOut:
    """One file of a night: the bytes to write (None = not written) and what the
    manifest says about it (normally the same file's row count and checksum)."""

    name: str
    data: bytes | None
    manifest_rows: int
    manifest_sha256: str


def manifest_bytes(
    council: Council, export_date: dt.date, extracted_at: dt.datetime, files: list[FileOut]
) -> bytes:
    """manifest.json content (the contract's field order)."""
    doc = {
        "contract_version": contract.CONTRACT_VERSION,
        "la_code": council.la_code,
        "la_name": council.la_name,
        "source_system": council.source_system,
        "export_date": export_date.isoformat(),
        "extracted_at": extracted_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": {f.name: {"rows": f.manifest_rows, "sha256": f.manifest_sha256} for f in files},
    }
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def clear_folder(folder: Path) -> None:
    """Remove a previous delivery from a folder we are about to write (manifest first,
    so the folder is never complete-looking with a mix of old and new files)."""
    manifest = folder / contract.MANIFEST_NAME
    if manifest.exists():
        manifest.unlink()
    if folder.exists():
        for p in folder.glob("*.csv"):
            p.unlink()


def write_night(folder: Path, files: list[FileOut], manifest: bytes) -> None:
    """Write the CSVs, then the manifest last (atomically)."""
    folder.mkdir(parents=True, exist_ok=True)
    clear_folder(folder)
    for f in files:
        if f.data is not None:
            (folder / f.name).write_bytes(f.data)
    tmp = folder / (contract.MANIFEST_NAME + ".tmp")
    tmp.write_bytes(manifest)
    os.replace(tmp, folder / contract.MANIFEST_NAME)
