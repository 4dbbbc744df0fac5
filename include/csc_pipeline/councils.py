"""Which councils a run covers, and where each council's warehouse file is.

A library module (not a step): the DAG's first task, the run driver, the alerts and the
pack all need the same answer, so it lives once here.
"""

from __future__ import annotations

from pathlib import Path

from csc_pipeline import nights
from csc_pipeline.config import Settings, pseudonym_key, settings


def council_codes(cfg: Settings | None = None) -> list[str]:
    """Councils with an export folder, plus those delivering from a database (their
    folder appears with their first extract). Reading the profiles validates them."""
    from csc_pipeline.profile import load_profiles

    cfg = cfg or settings()
    database = load_profiles(cfg.councils_dir).database_councils()
    codes = sorted(set(nights.councils(cfg.exports_root)) | set(database))
    if cfg.la_codes:
        codes = [c for c in codes if c in cfg.la_codes]
    return codes


def check_configuration(cfg: Settings | None = None) -> list[str]:
    """The run's councils, after checking what would otherwise fail late: every council
    profile (ProfileError names file and line) and the pseudonym key of each council
    (CSC_PSEUDONYM_KEY, required for all but the sample council). Raises ConfigError."""
    codes = council_codes(cfg)
    for code in codes:
        pseudonym_key(code)
    return codes


def warehouse_for(la_code: str, cfg: Settings | None = None) -> Path:
    """The council's published DuckDB file (one file per council when there are several)."""
    cfg = cfg or settings()
    return cfg.warehouse_for(la_code, multi=len(council_codes(cfg)) > 1)
