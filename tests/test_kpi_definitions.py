"""The KPI catalogue and thresholds exist once (dbt seeds) and every reader names real rows."""

from __future__ import annotations

import re

import pytest

from csc_pipeline import kpi_definitions
from csc_pipeline.config import DBT_PROJECT_DIR, PROJECT_ROOT


def test_thresholds_are_read_from_the_seed():
    values = kpi_definitions.thresholds()
    assert values["assessment_timescale_working_days"] == 45
    assert values["assessment_due_soon_working_days"] == 5
    assert values["icpc_timescale_working_days"] == 15
    assert values["cp_visit_overdue_working_days"] == 10
    assert values["caseload_flag_per_fte"] == 50
    with pytest.raises(KeyError, match="known:"):
        kpi_definitions.threshold("no_such_threshold")


def test_every_threshold_used_exists_and_no_model_writes_a_number():
    """dbt models call threshold('<code>'), Python threshold("<code>"): each code must be a
    row of the seed, and no model compares with a literal 45/15/10/5/50 of its own (the
    DfE's fixed duration bands, "when ... <= 45 then '41-45'", are not thresholds)."""
    known = set(kpi_definitions.thresholds())
    used: set[str] = set()
    for path in [*DBT_PROJECT_DIR.glob("models/**/*.sql"), *DBT_PROJECT_DIR.glob("macros/*.sql")]:
        text = path.read_text()
        used |= set(re.findall(r"threshold\('([a-z_0-9]+)'", text))
        for line in text.splitlines():
            if "then '" not in line:
                assert not re.search(r"(<=|>=|<|>)\s*(45|15|10|5|50)\b", line), (path, line)
    for path in (PROJECT_ROOT / "include").rglob("*.py"):
        used |= set(re.findall(r'threshold\("([a-z_0-9]+)"\)', path.read_text()))
    assert used and used <= known, used - known


def test_catalogue_rows_are_complete():
    rows = kpi_definitions.catalogue()
    assert "ASSESS_45WD_PCT" in rows and "CASELOAD_PER_WORKER" in rows
    for code, row in rows.items():
        assert row["kpi_type"] in {"FLOW", "STOCK", "AS_AT"}, code
        assert row["higher_is_better"] in {"true", "false"}, code
        assert set(row["requires_feed"].split()) <= {
            "case_audits",
            "fte",
            "agency_flags",
            "case_holders",
        }, code
        assert row["spec_link"].startswith("docs/spec/kpis.md"), code
        assert (PROJECT_ROOT / row["spec_link"].split("#")[0]).is_file(), code
        assert bool(row["target"]) == bool(row["amber_tolerance"]), code
