"""The contract against the SSD itself: every SSD v1.4.5 column list (SystemC, Eclipse,
Mosaic; docs/spec/ssd-v1.4.5-columns.json, read from D2I's deployment scripts at a
recorded commit) is accepted — no unknown column, no missing column that would be a
finding — so the next SSD rename is caught here, not by a council."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from csc_pipeline import contract

DATA = Path(__file__).resolve().parents[1] / "docs" / "spec" / "ssd-v1.4.5-columns.json"
SSD = json.loads(DATA.read_text(encoding="utf-8"))
CASES = [
    (system, table, columns)
    for system, spec in SSD["systems"].items()
    for table, columns in spec["tables"].items()
]


def test_source_is_recorded():
    assert SSD["source"]["repository"].endswith("data-to-insight/ssd-data-model")
    assert len(SSD["source"]["commit"]) == 40
    assert set(SSD["systems"]) == {"systemc", "eclipse", "mosaic"}
    for spec in SSD["systems"].values():
        assert spec["paths"] and set(spec["tables"]) == set(contract.TABLE_NAMES) - {"case_audits"}


@pytest.mark.parametrize(
    ("system", "table", "columns"), CASES, ids=[f"{s}-{t}" for s, t, _ in CASES]
)
def test_contract_accepts_ssd_columns(system, table, columns):
    problems = contract.TABLES_BY_NAME[table].header_problems(columns)
    assert problems["extra"] == [], f"{system} {table}: unknown columns"
    assert problems["missing"] == [], f"{system} {table}: contract columns not delivered"
    assert problems["missing_required"] == [], f"{system} {table}: required columns missing"


def test_json_columns_are_never_landed():
    for _system, table, columns in CASES:
        t = contract.TABLES_BY_NAME[table]
        for name in columns:
            if name.endswith("_json"):
                assert name in t.known_columns and name not in t.landed_ssd_columns
