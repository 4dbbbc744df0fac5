"""Runtime settings, all from the environment, so nothing secret lives in the repo.

``Settings`` is a pydantic-settings model: every field is read from ``CSC_<FIELD>``
(e.g. ``CSC_KEEP_NIGHTS``) when ``settings()`` is called, at task run time, never when
the DAG file is parsed. Every setting has a safe local default so that `make run`
works on a fresh clone; a production deployment sets them in its env file (see
.env.example). A bad value is a ``ConfigError`` naming the variable, raised at once
(the DAG never retries a configuration error).

Booleans anywhere in the package go through ``env_flag``: the one parser of
1/true/yes/y/on and 0/false/no/n/off. This module imports nothing of the package.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# The built-in fictional council. Only its data may use the development pseudonym key.
SAMPLE_LA_CODE = "999"
SAMPLE_LA_NAME = "Northbridge"
DEV_PSEUDONYM_KEY = "DEVELOPMENT-ONLY-KEY-for-the-Northbridge-sample-NEVER-for-real-data"

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "off"})
ENV_PREFIX = "CSC_"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ConfigError(RuntimeError):
    """A setting is missing or unsafe."""


def parse_flag(name: str, value: str | None, default: bool = False) -> bool:
    """A boolean setting's text: unset or blank -> ``default``; anything but the
    accepted words is a ConfigError naming the setting (a typo must not silently
    switch a feature off)."""
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false (1/0, yes/no, on/off), not {value!r}")


def env_flag(name: str, default: bool = False) -> bool:
    """The boolean environment variable ``name`` (see ``parse_flag``)."""
    return parse_flag(name, os.environ.get(name), default)


def server_warehouse_enabled() -> bool:
    """Is the server warehouse (csc_pipeline.server_warehouse) switched on? A choice of
    server (more may come), not a boolean: env_flag does not apply. Read when the nightly
    DAG file is parsed (the task exists only when it is on) and again by the task."""
    return (os.environ.get("CSC_SERVER_WAREHOUSE") or "").strip().lower() in {
        "postgres",
        "postgresql",
    }


class Settings(BaseSettings):
    """The pipeline's settings. Derived folders are properties, not settings."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="ignore", case_sensitive=False
    )

    var_dir: Path = PROJECT_ROOT / "var"
    exports_root: Path = Field(default=None, validate_default=False)  # default var_dir/exports
    # may contain "{la_code}"; default var_dir/warehouse/csc.duckdb; see warehouse_for()
    warehouse: Path = Field(default=None, validate_default=False)
    export_date: str | None = None
    la_codes: Annotated[tuple[str, ...] | None, NoDecode] = None
    timezone: str = "Europe/London"
    keep_nights: int = Field(35, ge=1)  # Parquet and Data Docs folders kept per council
    # Council profiles, one <la_code>.yml each (csc_pipeline.profile).
    councils_dir: Path = PROJECT_ROOT / "config" / "councils"

    @model_validator(mode="before")
    @classmethod
    def _defaults_under_var_dir(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
            var_dir = Path(data.get("var_dir") or PROJECT_ROOT / "var")
            data.setdefault("exports_root", var_dir / "exports")
            data.setdefault("warehouse", var_dir / "warehouse" / "csc.duckdb")
        return data

    @field_validator("la_codes", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            codes = tuple(c.strip() for c in value.split(",") if c.strip())
            return codes or None
        return value

    @field_validator("export_date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value is not None and not _DATE_RE.match(value.strip()):
            raise ValueError("must be a date YYYY-MM-DD")
        return value.strip() if value else None

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


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        name = ENV_PREFIX + str(err["loc"][0]).upper() if err["loc"] else "a setting"
        value = err.get("input")
        if err["type"] in {"int_parsing", "int_from_float"}:
            parts.append(f"{name} must be a whole number, not {value!r}")
        elif err["type"] == "greater_than_equal":
            parts.append(f"{name} must be at least {err['ctx']['ge']}, not {value}")
        else:
            parts.append(f"{name}: {err['msg']} (got {value!r})")
    return "; ".join(parts)


def settings(**overrides: Any) -> Settings:
    """Read settings from the environment (called at task run time, never at DAG parse).

    Keyword overrides win over the environment (tests, tools)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def pseudonym_key(la_code: str) -> bytes:
    """The key for pseudonymous child keys.

    Real councils must set CSC_PSEUDONYM_KEY (env file or secrets backend). The
    development default is accepted only for the fictional sample council, so a real
    export can never be pseudonymised with a key published in this repository. Kept out
    of ``Settings`` on purpose: a secret is read only where it is used, never logged
    with the other settings.
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
