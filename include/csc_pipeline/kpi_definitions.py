"""The KPI catalogue and the thresholds, read from the dbt seeds that define them.

Each threshold of docs/spec/kpis.md (45 working days for an assessment, 15 for an ICPC,
10 for a CP visit, 5 for "due soon", 50 children per FTE...) is written once, in
``dbt_project/seeds/kpi_thresholds.csv``. dbt reads it as the seed ``kpi_thresholds``
(macro ``threshold()``); Python reads the same file here, so the quality gate's SQL
checks, the alerts and the docs can never disagree with the marts. The KPI catalogue
(codes, names, units, direction, targets, tolerance) is ``seeds/kpi_catalogue.csv``.

Change a value in the CSV, never in code: the next dbt build and the next Python
process both pick it up.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from csc_pipeline.config import DBT_PROJECT_DIR

SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
THRESHOLDS_PATH = SEEDS_DIR / "kpi_thresholds.csv"
CATALOGUE_PATH = SEEDS_DIR / "kpi_catalogue.csv"


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


@cache
def thresholds() -> dict[str, int | float]:
    """threshold_code -> value (an int when whole), e.g. {'icpc_timescale_working_days': 15}."""
    return {row["threshold_code"]: _number(row["value"]) for row in _read(THRESHOLDS_PATH)}


def threshold(code: str) -> int | float:
    """One threshold by its code; a KeyError names the codes that exist."""
    values = thresholds()
    if code not in values:
        raise KeyError(f"no threshold {code!r} in {THRESHOLDS_PATH}; known: {sorted(values)}")
    return values[code]


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """kpi_code -> the catalogue row (kpi_name, kpi_type, value_unit, target, ...), as text."""
    return {row["kpi_code"]: row for row in _read(CATALOGUE_PATH)}
