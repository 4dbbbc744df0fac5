"""Runtime settings, all from the environment, so nothing secret lives in the repo.

Every setting has a safe local default so that `make run` works on a fresh clone; a
production deployment sets them in its env file (see .env.example).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

# The built-in fictional council. Only its data may use the development pseudonym key.
SAMPLE_LA_CODE = "999"
SAMPLE_LA_NAME = "Northbridge"
DEV_PSEUDONYM_KEY = "DEVELOPMENT-ONLY-KEY-for-the-Northbridge-sample-NEVER-for-real-data"


class ConfigError(RuntimeError):
    """A setting is missing or unsafe."""


@dataclass(frozen=True)
class Settings:
    exports_root: Path
    warehouse: Path  # may contain "{la_code}"; see warehouse_for()
    var_dir: Path
    export_date: str | None
    la_codes: tuple[str, ...] | None
    timezone: str
    keep_nights: int = 35  # Parquet and Data Docs folders kept per council (retention.py)
    # Council profiles, one <la_code>.yml each (csc_pipeline.profile).
    councils_dir: Path = PROJECT_ROOT / "config" / "councils"

    @property
    def dq_docs_dir(self) -> Path:
        return self.var_dir / "dq_docs"

    @property
    def parquet_dir(self) -> Path:
        return self.var_dir / "parquet"

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    def warehouse_for(self, la_code: str, multi: bool = False) -> Path:
        """The DuckDB file of one council.

        `CSC_WAREHOUSE` may name one file (single council), or contain `{la_code}` for
        one file per council. With several councils and a plain file name, each council
        gets `<stem>_<la_code>.duckdb` beside it: DuckDB allows one writer per file, so
        per-council files let councils load in parallel.
        """
        text = str(self.warehouse)
        if "{la_code}" in text:
            return Path(text.format(la_code=la_code))
        if multi:
            return self.warehouse.with_name(
                f"{self.warehouse.stem}_{la_code}{self.warehouse.suffix}"
            )
        return self.warehouse


def settings() -> Settings:
    """Read settings from the environment (called at task run time, never at DAG parse)."""
    var_dir = Path(os.environ.get("CSC_VAR_DIR", PROJECT_ROOT / "var"))
    codes = os.environ.get("CSC_LA_CODES")
    return Settings(
        exports_root=Path(os.environ.get("CSC_EXPORTS_ROOT", var_dir / "exports")),
        warehouse=Path(os.environ.get("CSC_WAREHOUSE", var_dir / "warehouse" / "csc.duckdb")),
        var_dir=var_dir,
        export_date=os.environ.get("CSC_EXPORT_DATE") or None,
        la_codes=tuple(c.strip() for c in codes.split(",") if c.strip()) if codes else None,
        timezone=os.environ.get("CSC_TIMEZONE", "Europe/London"),
        keep_nights=_positive_int("CSC_KEEP_NIGHTS", 35),
        councils_dir=Path(os.environ.get("CSC_COUNCILS_DIR", PROJECT_ROOT / "config" / "councils")),
    )


def _positive_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {text!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, not {value}")
    return value


def pseudonym_key(la_code: str) -> bytes:
    """The key for pseudonymous child keys.

    Real councils must set CSC_PSEUDONYM_KEY (env file or secrets backend). The
    development default is accepted only for the fictional sample council, so a real
    export can never be pseudonymised with a key published in this repository.
    """
    key = os.environ.get("CSC_PSEUDONYM_KEY")
    if key:
        if len(key) < 16:
            raise ConfigError("CSC_PSEUDONYM_KEY must be at least 16 characters")
        return key.encode()
    if la_code == SAMPLE_LA_CODE:
        return DEV_PSEUDONYM_KEY.encode()
    raise ConfigError(
        f"CSC_PSEUDONYM_KEY is not set: it is required for council {la_code} "
        "(the development key is only for the sample council 999)"
    )
