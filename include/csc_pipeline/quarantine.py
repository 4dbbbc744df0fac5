"""Quarantine records: nights that must not be published, and why.

Kept as JSON files beside the warehouse (not in it) so that a rejected night leaves the
warehouse exactly as it was, while engineers still get a durable, readable explanation
and the scheduler does not retry the same bad delivery every few minutes. A night is
released from quarantine by delivering it again (a new manifest) or re-running it with
an explicit export date.
"""

from __future__ import annotations

import json
from pathlib import Path

from csc_pipeline.nights import Night, utcnow
from csc_pipeline.warehouse import atomic_write_text


def report_path(var_dir: Path, night: Night) -> Path:
    return var_dir / "quarantine" / night.la_code / f"{night.export_date}.json"


def quarantine(
    var_dir: Path, night: Night, *, stage: str, message: str, findings: list[dict] | None = None
) -> Path:
    """Write (or overwrite) the quarantine report of a night and return its path."""
    path = report_path(var_dir, night)
    report = {
        "la_code": night.la_code,
        "export_date": night.export_date,
        "manifest_sha256": night.manifest_sha256() if night.is_complete else None,
        "stage": stage,
        "quarantined_at": utcnow().isoformat() + "Z",
        "message": message,
        "findings": findings or [],
    }
    return atomic_write_text(path, json.dumps(report, indent=2, default=str))


def is_quarantined(var_dir: Path, night: Night) -> bool:
    """True when this exact delivery (same manifest) is already quarantined."""
    path = report_path(var_dir, night)
    if not path.is_file():
        return False
    report = json.loads(path.read_text(encoding="utf-8"))
    return night.is_complete and report.get("manifest_sha256") == night.manifest_sha256()


def release(var_dir: Path, night: Night) -> None:
    """Forget a quarantine (the night was published after a fix)."""
    report_path(var_dir, night).unlink(missing_ok=True)
