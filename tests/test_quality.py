"""The data-quality gate: suites, severity policy, row-level issues, census checks,
dq_issues lifecycle, privacy, and every fault class of the generator.

Nights are written as real CSV + manifest folders and landed with the real
``landing.land_night``; the gate then reads raw.* like the DAG does. Hand-built nights
(small, every value chosen) pin down each rule exactly; generator nights check each
fault class end to end.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest
from helpers import pipeline_env, table_digests

from csc_pipeline import nights
from csc_pipeline.calendar import bank_holidays
from csc_pipeline.contract import TABLES, TABLES_BY_NAME
from csc_pipeline.dbt_runner import DbtFailed
from csc_pipeline.landing import NightRejected, land_night
from csc_pipeline.quality import suites
from csc_pipeline.quality.gate import format_critical_message, run_gate
from csc_pipeline.quality.rules import RULES
from csc_pipeline.steps.validate import build_staging

LA = "999"
EXPORT = "2026-03-02"  # a Monday


# --- building nights ---------------------------------------------------------------------
def _people(n: int = 60) -> list[dict]:
    return [
        {
            "pers_person_id": f"P{i:02d}",
            "pers_forename": f"Forename{i:02d}",
            "pers_surname": f"Surname{i:02d}",
            "pers_sex": "F" if i % 2 else "M",
            "pers_ethnicity": "WBRI",
            "pers_dob": (dt.date(2010, 1, 1) + dt.timedelta(days=i)).isoformat(),
        }
        for i in range(1, n + 1)
    ]


def base_rows() -> dict[str, list[dict]]:
    """A clean night of 60 children; valid-but-varied spellings included on purpose."""
    n = 60
    rows: dict[str, list[dict]] = {t.name: [] for t in TABLES}
    rows["ssd_person"] = _people(n)
    rows["ssd_person"][0]["pers_sex"] = "1"  # legacy code: valid
    rows["ssd_department"] = [
        {"dept_team_id": "T1", "dept_team_name": "Assessment Team 1"},
        {"dept_team_id": "T2", "dept_team_name": "Safeguarding Team 2"},
    ]
    rows["ssd_professionals"] = [
        {
            "prof_professional_id": "W1",
            "prof_professional_department": "T1",
            "prof_full_time_equivalency": "1",
            "prof_agency_worker_flag": "N",
            "prof_professional_name": "Worker Name One",
        },
        {
            "prof_professional_id": "W2",
            "prof_professional_department": "T2",
            "prof_full_time_equivalency": "0.5",
            "prof_agency_worker_flag": "Yes",
        },
        {
            "prof_professional_id": "W3",
            "prof_professional_department": "T1",
            "prof_full_time_equivalency": ".8",
            "prof_agency_worker_flag": "false",
        },
    ]
    for i in range(1, n + 1):
        worker, team = ("W1", "T1") if i <= 20 else ("W2", "T2") if i <= 40 else ("W3", "T1")
        p, r = f"P{i:02d}", f"R{i:02d}"
        rows["ssd_involvements"].append(
            {
                "invo_involvements_id": f"I{i:02d}",
                "invo_professional_id": worker,
                "invo_professional_role_id": "ALLOCATED CASE WORKER",
                "invo_professional_team": team,
                "invo_involvement_start_date": "2025-06-01",
                "invo_person_id": p,
                "invo_referral_id": r,
            }
        )
        rows["ssd_cin_episodes"].append(
            {
                "cine_referral_id": r,
                "cine_person_id": p,
                "cine_referral_date": "2025-06-01",
                "cine_cin_primary_need_code": "N1",
                "cine_referral_source_code": "1A",
                "cine_referral_nfa": "N",
                "cine_referral_team": team,
                "cine_referral_worker_id": worker,
            }
        )
        rows["ssd_cin_assessments"].append(
            {
                "cina_assessment_id": f"A{i:02d}",
                "cina_person_id": p,
                "cina_referral_id": r,
                "cina_assessment_start_date": "2025-06-05",
                "cina_assessment_child_seen": "Y",
                "cina_assessment_auth_date": "2025-07-01",
                "cina_assessment_outcome_nfa": "N",
                "cina_assessment_team": team,
                "cina_assessment_worker_id": worker,
            }
        )
    # other accepted date and flag spellings
    rows["ssd_cin_assessments"][1]["cina_assessment_start_date"] = "05/06/2025"
    rows["ssd_cin_assessments"][2]["cina_assessment_start_date"] = "2025-06-05 09:30:00.125"
    rows["ssd_cin_assessments"][3]["cina_assessment_child_seen"] = "true"
    for i in range(1, 11):
        p, r = f"P{i:02d}", f"R{i:02d}"
        rows["ssd_s47_enquiry"].append(
            {
                "s47e_s47_enquiry_id": f"S{i:02d}",
                "s47e_referral_id": r,
                "s47e_person_id": p,
                "s47e_s47_start_date": "2025-07-01",
                "s47e_s47_end_date": "2025-07-10",
                "s47e_s47_nfa": "N",
                "s47e_s47_completed_by_team": "T2",
                "s47e_s47_completed_by_worker_id": "W2",
            }
        )
        rows["ssd_initial_cp_conference"].append(
            {
                "icpc_icpc_id": f"C{i:02d}",
                "icpc_s47_enquiry_id": f"S{i:02d}",
                "icpc_person_id": p,
                "icpc_cp_plan_id": f"CP{i:02d}",
                "icpc_referral_id": r,
                "icpc_icpc_transfer_in": "N",
                "icpc_icpc_target_date": "2025-07-22",
                "icpc_icpc_date": "2025-07-15",
                "icpc_icpc_outcome_cp_flag": "Y",
                "icpc_icpc_team": "T2",
                "icpc_icpc_worker_id": "W2",
            }
        )
        rows["ssd_cp_plans"].append(
            {
                "cppl_cp_plan_id": f"CP{i:02d}",
                "cppl_referral_id": r,
                "cppl_icpc_id": f"C{i:02d}",
                "cppl_person_id": p,
                "cppl_cp_plan_start_date": "2025-07-15",
                "cppl_cp_plan_initial_category": "NEG",
                "cppl_cp_plan_latest_category": "EMO",
                "cppl_cp_plan_ola": "N",
            }
        )
        rows["ssd_cp_visits"].append(
            {
                "cppv_cp_visit_id": f"V{i:02d}",
                "cppv_person_id": p,
                "cppv_cp_plan_id": f"CP{i:02d}",
                "cppv_cp_visit_date": "2025-08-01",
                "cppv_cp_visit_seen": "Y",
                "cppv_cp_visit_seen_alone": "1",
            }
        )
        rows["case_audits"].append(
            {
                "audit_id": f"AU{i:02d}",
                "audit_person_id": p,
                "audit_referral_id": r,
                "audit_completed_date": "2025-10-01",
                "audit_type": "ROUTINE",
                "audit_team": "T1",
                "audit_case_worker_id": "W1",
                "auditor_id": "W3",
                "auditor_role": "TEAM_MANAGER",
                "audit_grade": ["GOOD", "Adequate", "Requires improvement", "3"][i % 4],
                "moderated_grade": "good" if i == 1 else "",
                "moderation_date": "2025-10-20" if i == 1 else "",
                "std_timescales_met": "NA",
                "std_voice_of_child_met": "Y",
            }
        )
    for i in range(11, 16):
        rows["ssd_cla_episodes"].append(
            {
                "clae_cla_episode_id": f"L{i:02d}",
                "clae_person_id": f"P{i:02d}",
                "clae_cla_episode_start_date": "2025-09-01",
                "clae_cla_episode_start_reason": "S",
                "clae_cla_primary_need_code": "N1",
                "clae_referral_id": f"R{i:02d}",
            }
        )
    return rows


def write_night(
    root: Path,
    export_date: str,
    rows: dict[str, list[dict]],
    *,
    drop: dict[str, list[str]] | None = None,
    extra: dict[str, list[str]] | None = None,
) -> nights.Night:
    """Write a night's CSVs and manifest (rows and sha256 of what was written)."""
    folder = root / LA / export_date
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for table in TABLES:
        cols = [c for c in table.column_names if c not in (drop or {}).get(table.name, [])]
        cols += (extra or {}).get(table.name, [])
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(cols)
        for row in rows.get(table.name, []):
            writer.writerow(
                [row.get(c, "X" if c in (extra or {}).get(table.name, []) else "") for c in cols]
            )
        data = buf.getvalue().encode()
        (folder / table.file_name).write_bytes(data)
        files[table.file_name] = {
            "rows": len(rows.get(table.name, [])),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    manifest = {
        "contract_version": "1",
        "la_code": LA,
        "la_name": "Northbridge",
        "export_date": export_date,
        "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return nights.Night(LA, export_date, folder)


def gate(warehouse: Path, la_code: str, export_date: str, night_dir: Path, docs: Path):
    """The validate step's order: dbt builds staging (typed once), then the gate (which
    reports a table staging could not build as not validated)."""
    try:
        build_staging(warehouse, la_code, export_date)
    except DbtFailed:
        pass
    return run_gate(warehouse, la_code, export_date, night_dir, docs)


def land_and_gate(tmp: Path, night: nights.Night, warehouse: Path | None = None):
    warehouse = warehouse or tmp / "warehouse.duckdb"
    land_night(warehouse, night)
    return gate(warehouse, LA, night.export_date, night.path, tmp / "dq_docs"), warehouse


def issues(warehouse: Path) -> list[dict]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cur = con.execute("select * from dq.dq_issues order by table_name, rule_id, record_id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def find(rows: list[dict], id_column: str, value: str) -> dict:
    return next(r for r in rows if r[id_column] == value)


def working_days_between(a: dt.date, b: dt.date) -> int:
    hols = [d for d, _ in bank_holidays(a.year, b.year)]
    return int(np.busday_count(a + dt.timedelta(days=1), b + dt.timedelta(days=1), holidays=hols))


def add_working_days(a: dt.date, n: int) -> dt.date:
    hols = [d for d, _ in bank_holidays(a.year, a.year + 1)]
    return np.busday_offset(a, n, roll="forward", holidays=hols).astype(dt.date)


# --- suites --------------------------------------------------------------------------------
# The suites' drift test is tests/test_contract_artifacts.py (one check of everything
# generated from contract.py).


def test_every_suite_loads_in_gx_and_covers_its_contract():
    import great_expectations as gx

    for table in TABLES:
        data = suites.load_suite(table.name)
        suite = gx.ExpectationSuite(name=data["name"], expectations=data["expectations"])
        assert len(suite.expectations) == len(data["expectations"])
        rules = {e["meta"]["rule_id"] for e in data["expectations"]}
        assert {
            "column_missing",
            "manifest_rows",
            "volume_drop",
            "pk_missing",
            "pk_duplicate",
        } <= rules
        assert rules <= set(RULES)
        checked = {c for e in data["expectations"] for c in e["meta"]["columns"]}
        unchecked = set(table.warehouse_columns) - checked  # only columns a system may omit
        assert checked <= set(table.warehouse_columns)
        assert unchecked <= {c.name for c in table.columns if c.may_be_absent}
        assert not {"pers_forename", "pers_surname"} & checked


def test_legacy_codes_are_valid_input():
    """Legacy codes are staging's to map (the generated code map); the gate's suite checks
    staging's parse flag, never a value list of its own (parse once)."""
    from csc_pipeline.contract import normalise_code

    assert [normalise_code("sex", v) for v in ("M", "f", "1", "2", "0", "9")] == [
        "M",
        "F",
        "M",
        "F",
        "U",
        "U",
    ]
    assert normalise_code("audit_grade", "Good") == "GOOD"
    sex = next(
        e
        for e in suites.load_suite("ssd_person")["expectations"]
        if e["meta"]["rule_id"] == "code_invalid" and e["meta"]["columns"] == ["pers_sex"]
    )
    assert sex["kwargs"] == {"column": "pers_sex__unparsed", "value_set": [False]}


# --- parsing: the same acceptance rules as dbt's macros/cleaning.sql ------------------------
# Date and decimal parsing is dbt staging's alone (parse once): its unit tests pin it
# (dbt_project/models/staging/*unit_tests*), the gate reads staging's flags.


# --- a clean night ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clean")
    night = write_night(tmp / "exports", EXPORT, base_rows())
    result, warehouse = land_and_gate(tmp, night)
    return {"tmp": tmp, "night": night, "result": result, "warehouse": warehouse}


def test_clean_night_passes_with_no_issues(clean):
    result = clean["result"]
    assert not result.is_quarantined, format_critical_message(result)
    assert result.critical == [] and result.warnings == [], result.summary
    assert issues(clean["warehouse"]) == []
    assert "passed" in result.summary


def test_every_check_is_recorded_per_night(clean):
    con = duckdb.connect(str(clean["warehouse"]), read_only=True)
    rows = con.execute(
        "select rule_id, outcome, count(*) from dq.dq_runs where export_date = ? group by all",
        [EXPORT],
    ).fetchall()
    ran = {r[0] for r in rows}
    assert {
        r
        for r in RULES
        if r not in ("check_error", "stale_extract", "file_missing", "wrong_night", "extra_column")
    } <= ran
    assert {r[1] for r in rows} == {"pass"}


def test_data_docs_are_built_per_night(clean):
    result = clean["result"]
    docs = clean["tmp"] / "dq_docs" / LA / EXPORT
    assert result.docs_path == docs / "index.html"
    assert (docs / "index.html").is_file()
    pages = list((docs / "validations").rglob("*.html"))
    assert len(pages) == len(TABLES)


# --- many row-level problems in one night ---------------------------------------------------
def messy_rows() -> dict[str, list[dict]]:
    rows = base_rows()
    person = {r["pers_person_id"]: r for r in rows["ssd_person"]}
    asm = {r["cina_assessment_id"]: r for r in rows["ssd_cin_assessments"]}
    epi = {r["cine_referral_id"]: r for r in rows["ssd_cin_episodes"]}
    s47 = {r["s47e_s47_enquiry_id"]: r for r in rows["ssd_s47_enquiry"]}
    icpc = {r["icpc_icpc_id"]: r for r in rows["ssd_initial_cp_conference"]}
    plans = {r["cppl_cp_plan_id"]: r for r in rows["ssd_cp_plans"]}
    pros = {r["prof_professional_id"]: r for r in rows["ssd_professionals"]}
    invo = {r["invo_involvements_id"]: r for r in rows["ssd_involvements"]}

    rows["ssd_cin_assessments"].insert(5, dict(asm["A05"]))  # duplicate key, next line
    asm["A06"]["cina_person_id"] = ""  # blank mandatory
    asm["A07"]["cina_assessment_start_date"] = "31/02/2026"  # not a real date
    asm["A08"]["cina_assessment_start_date"] = "2026/01/05"  # not an accepted format
    epi["R09"]["cine_cin_primary_need_code"] = "ZZ"  # bad code
    asm["A10"]["cina_assessment_child_seen"] = "maybe"  # bad flag
    pros["W3"]["prof_full_time_equivalency"] = "1.5"  # FTE out of range
    rows["ssd_professionals"].append(
        {
            "prof_professional_id": "W4",
            "prof_professional_department": "T1",
            "prof_full_time_equivalency": "full",
        }
    )  # not a number
    pros["W2"]["prof_full_time_equivalency"] = "0.3"  # 20 children / 0.3 FTE > 50
    rows["ssd_cla_episodes"][0]["clae_cla_episode_ceased_date"] = "2026-06-01"  # future (L11)
    person["P12"]["pers_dob"] = "1985-03-03"  # implausible
    person["P13"]["pers_dob"] = "2027-01-01"  # after the export date
    invo["I14"]["invo_involvement_end_date"] = "2025-05-01"  # end before start
    plans["CP02"]["cppl_cp_plan_end_date"] = "2025-07-01"  # 8925
    plans["CP03"]["cppl_cp_plan_end_date"] = "2025-07-15"  # 8840 (same day)
    rows["ssd_cp_plans"].append(
        {
            "cppl_cp_plan_id": "CP11",
            "cppl_person_id": "P04",
            "cppl_referral_id": "R04",
            "cppl_cp_plan_start_date": "2025-08-01",
            "cppl_cp_plan_initial_category": "PHY",
        }
    )  # 8940 with CP04
    rows["ssd_cin_episodes"].append(
        {"cine_referral_id": "R61", "cine_person_id": "P05", "cine_referral_date": "2025-09-01"}
    )  # 8820 with R05
    asm["A15"]["cina_assessment_start_date"] = "2025-05-20"  # 1103: before referral 2025-06-01
    epi["R06"]["cine_close_date"] = "2025-06-30"  # 8565: S06, C06, CP06 after closure
    epi["R06"]["cine_close_reason"] = "RC1"
    asm["A17"]["cina_assessment_start_date"] = "2025-12-01"  # 8670Q: open, overdue
    asm["A17"]["cina_assessment_auth_date"] = ""
    asm["A18"]["cina_assessment_start_date"] = "2026-02-16"  # open, not yet overdue
    asm["A18"]["cina_assessment_auth_date"] = ""
    s47["S07"].update(s47e_s47_start_date="2026-02-02", s47e_s47_end_date="")  # 8675Q
    icpc["C07"]["icpc_icpc_date"] = ""
    icpc["C07"]["icpc_icpc_target_date"] = "2026-02-23"
    s47["S08"].update(
        s47e_s47_start_date="2026-02-02", s47e_s47_end_date="2026-02-05", s47e_s47_nfa="Y"
    )  # NFA: no conference needed
    icpc["C08"]["icpc_s47_enquiry_id"] = ""
    plans["CP09"]["cppl_person_id"] = "P99"  # orphan
    rows["ssd_cp_visits"][9]["cppv_cp_plan_id"] = "CP99"  # orphan (V10)
    return rows


EXPECTED_MESSY = {
    ("pk_duplicate", "ssd_cin_assessments", "A05"),
    ("mandatory_missing", "ssd_cin_assessments", "A06"),
    ("date_unparseable", "ssd_cin_assessments", "A07"),
    ("date_unparseable", "ssd_cin_assessments", "A08"),
    ("code_invalid", "ssd_cin_episodes", "R09"),
    ("flag_invalid", "ssd_cin_assessments", "A10"),
    ("fte_out_of_range", "ssd_professionals", "W3"),
    ("decimal_unparseable", "ssd_professionals", "W4"),
    ("caseload_over_50", "ssd_professionals", "W2"),
    ("future_date", "ssd_cla_episodes", "L11"),
    ("dob_implausible", "ssd_person", "P12"),
    ("dob_implausible", "ssd_person", "P13"),
    ("end_before_start", "ssd_involvements", "I14"),
    ("8925", "ssd_cp_plans", "CP02"),
    ("8840", "ssd_cp_plans", "CP03"),
    ("8940", "ssd_cp_plans", "CP11"),
    ("8820", "ssd_cin_episodes", "R61"),
    ("1103", "ssd_cin_assessments", "A15"),
    ("8565", "ssd_s47_enquiry", "S06"),
    ("8565", "ssd_initial_cp_conference", "C06"),
    ("8565", "ssd_cp_plans", "CP06"),
    ("8670Q", "ssd_cin_assessments", "A17"),
    ("8675Q", "ssd_s47_enquiry", "S07"),
    ("orphan", "ssd_cp_plans", "CP09"),
    ("orphan", "ssd_cp_visits", "V10"),
    ("extra_column", "ssd_cin_episodes", None),
    ("column_missing", "ssd_cin_assessments", None),
}


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("messy")
    night = write_night(
        tmp / "exports",
        EXPORT,
        messy_rows(),
        drop={"ssd_cin_assessments": ["cina_assessment_outcome_nfa"]},
        extra={"ssd_cin_episodes": ["mystery_column"]},
    )
    result, warehouse = land_and_gate(tmp, night)
    return {
        "tmp": tmp,
        "night": night,
        "result": result,
        "warehouse": warehouse,
        "issues": issues(warehouse),
    }


def test_row_problems_are_warnings_not_quarantine(messy):
    result = messy["result"]
    assert not result.is_quarantined, format_critical_message(result)
    assert result.critical == []


def test_every_offending_record_is_an_issue_and_nothing_else(messy):
    found = {(i["rule_id"], i["table_name"], i["record_id"]) for i in messy["issues"]}
    assert found == EXPECTED_MESSY
    assert all(i["severity"] == "warning" for i in messy["issues"])
    assert all(
        i["first_seen"] == i["last_seen"] == dt.date.fromisoformat(EXPORT)
        and i["resolved_on"] is None
        for i in messy["issues"]
    )


def test_findings_name_file_check_column_and_source_rows(messy):
    by_rule = {(f.rule_id, f.column): f for f in messy["result"].warnings}
    dup = by_rule[("pk_duplicate", "cina_assessment_id")]
    assert dup.file == "ssd_cin_assessments.csv" and dup.count == 2
    assert [(e.source_row, e.record_id) for e in dup.examples] == [(5, "A05")]
    issue = find(messy["issues"], "record_id", "A05")
    assert issue["source_rows"] == "5, 6"  # the duplicate is on the next line
    blank = by_rule[("mandatory_missing", "cina_person_id")]
    assert [(e.source_row, e.record_id) for e in blank.examples] == [(7, "A06")]
    assert "ssd_cin_assessments.csv, column cina_person_id: check mandatory_missing" in str(blank)
    missing = by_rule[("column_missing", "cina_assessment_outcome_nfa")]
    assert missing.severity == "warning"


def test_data_docs_show_the_failed_expectations_details(messy):
    """GX runs in two passes (gx_runner: pass/fail first, then COMPLETE for the failures);
    the night's Data Docs are still one page per table, and a failed expectation's entry
    carries its counts from the second pass."""
    docs = messy["tmp"] / "dq_docs" / LA / EXPORT / "validations"
    pages = list(docs.rglob("*.html"))
    assert len(pages) == len(TABLES)
    assert not [p for p in pages if "__failed" in str(p)]
    (page,) = [p for p in pages if "ssd_cin_assessments" in str(p)]
    html = page.read_text()
    # the blank cina_person_id (mandatory_missing) and the two unparseable start dates:
    # counts that only a COMPLETE result has
    assert "1 unexpected" in html and "2 unexpected" in html


def test_descriptions_are_plain_english(messy):
    text = {(i["rule_id"], i["record_id"]): i["description"] for i in messy["issues"]}
    start, now = dt.date(2025, 12, 1), dt.date.fromisoformat(EXPORT)
    days, due = working_days_between(start, now), add_working_days(start, 45)
    assert text[("8670Q", "A17")] == (
        f"Assessment A17 has been open {days} working days with no authorisation (due {due})"
    )
    s47_days = working_days_between(dt.date(2026, 2, 2), now)
    assert text[("8675Q", "S07")] == (
        f"Section 47 enquiry S07 started 2026-02-02 ({s47_days} working days ago) and no initial "
        f"child protection conference has been held (due by {add_working_days(dt.date(2026, 2, 2), 15)})"
    )
    assert text[("8925", "CP02")] == (
        "Child protection plan CP02 has CP plan end date 2025-07-01, before its CP plan start date 2025-07-15"
    )
    assert (
        text[("1103", "A15")]
        == "Assessment A15 started 2025-05-20, before its referral R15 on 2025-06-01"
    )
    assert text[("orphan", "CP09")] == (
        "Child protection plan CP09 refers to child P99, which is not in ssd_person.csv"
    )
    assert text[("caseload_over_50", "W2")].startswith(
        "Worker W2 holds 20 children at 0.3 FTE (66.7 per FTE)"
    )
    assert "after the export date 2026-03-02" in text[("future_date", "L11")]
    assert text[("dob_implausible", "P13")] == (
        "Child P13 has an implausible date of birth (before 1990-01-01 or after the export date 2026-03-02)"
    )


def test_issue_names_person_team_and_worker(messy):
    rows = messy["issues"]
    a15 = find(rows, "record_id", "A15")  # the assessment's own team and worker
    assert (a15["person_id"], a15["team_id"], a15["worker_id"]) == ("P15", "T1", "W1")
    cp03 = find(rows, "record_id", "CP03")  # plans have no team/worker: current allocation
    assert (cp03["person_id"], cp03["team_id"], cp03["worker_id"]) == ("P03", "T1", "W1")
    s07 = find(rows, "record_id", "S07")
    assert (s07["person_id"], s07["team_id"], s07["worker_id"]) == ("P07", "T2", "W2")
    w2 = find(rows, "record_id", "W2")
    assert (w2["person_id"], w2["team_id"], w2["worker_id"]) == (None, "T2", "W2")


def test_no_names_or_dates_of_birth_anywhere(messy):
    con = duckdb.connect(str(messy["warehouse"]), read_only=True)
    dq_text = " ".join(
        str(v)
        for schema_table in ("dq.dq_issues", "dq.dq_runs")
        for row in con.execute(f"select * from {schema_table}").fetchall()
        for v in row
    )
    con.close()
    result = messy["result"]
    texts = [
        dq_text,
        result.summary,
        format_critical_message(result),
        json.dumps([f.as_dict() for f in result.warnings], default=str),
    ]
    docs = messy["tmp"] / "dq_docs" / LA / EXPORT
    texts += [p.read_text(errors="ignore") for p in docs.rglob("*.html")]
    blob = "\n".join(texts)
    for person in messy_rows()["ssd_person"]:
        assert person["pers_forename"] not in blob
        assert person["pers_surname"] not in blob
        assert person["pers_dob"] not in blob
        assert dt.date.fromisoformat(person["pers_dob"]).strftime("%d/%m/%Y") not in blob
    assert "Worker Name One" not in blob


def test_summary_counts_by_rule_and_severity(messy):
    result = messy["result"]
    assert result.counts["warning"]["date_unparseable"] == 2
    assert result.counts["warning"]["8565"] == 3
    assert "date_unparseable" in result.summary and "warning" in result.summary
    assert messy["result"].issue_stats["new"] == len(EXPECTED_MESSY)


# --- critical: the extract cannot be trusted --------------------------------------------
def _quarantined(result, file: str, check: str) -> str:
    assert result.is_quarantined
    message = format_critical_message(result)
    assert file in message and f"check {check}" in message, message
    assert any(f.file == file and f.rule_id == check for f in result.critical)
    return message


def test_missing_mandatory_column_quarantines(tmp_path):
    night = write_night(
        tmp_path / "exports", EXPORT, base_rows(), drop={"ssd_cin_assessments": ["cina_person_id"]}
    )
    result, warehouse = land_and_gate(tmp_path, night)
    message = _quarantined(result, "ssd_cin_assessments.csv", "column_missing")
    assert "column cina_person_id" in message
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from dq.dq_issues").fetchone()[0] == 0
    run = con.execute(
        "select severity, outcome from dq.dq_runs where rule_id = 'column_missing' "
        "and column_name = 'cina_person_id'"
    ).fetchone()
    assert run == ("critical", "fail")


def test_broken_extract_rate_quarantines_with_example_rows(tmp_path):
    rows = base_rows()
    for r in rows["ssd_cin_assessments"][:20]:
        r["cina_assessment_start_date"] = "2025.06.05"
    night = write_night(tmp_path / "exports", EXPORT, rows)
    result, _ = land_and_gate(tmp_path, night)
    message = _quarantined(result, "ssd_cin_assessments.csv", "date_unparseable")
    assert "20 of 60 rows (33.3%)" in message and "the extract looks broken" in message
    assert "e.g. row 1 (id A01), row 2 (id A02), row 3 (id A03)" in message


def test_sharp_volume_drop_quarantines(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    land_night(warehouse, write_night(tmp_path / "exports", "2026-02-27", base_rows()))
    rows = base_rows()
    rows["ssd_involvements"] = rows["ssd_involvements"][:40]
    result, _ = land_and_gate(tmp_path, write_night(tmp_path / "exports", EXPORT, rows), warehouse)
    message = _quarantined(result, "ssd_involvements.csv", "volume_drop")
    assert "40 rows against 60 on the previous night 2026-02-27 (33% fewer)" in message


def test_small_shrink_is_not_a_volume_drop(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    land_night(warehouse, write_night(tmp_path / "exports", "2026-02-27", base_rows()))
    rows = base_rows()
    rows["ssd_involvements"] = rows["ssd_involvements"][:55]  # -8%
    rows["ssd_department"] = rows["ssd_department"][:1]  # small table: only empty is critical
    result, _ = land_and_gate(tmp_path, write_night(tmp_path / "exports", EXPORT, rows), warehouse)
    assert not any(f.rule_id == "volume_drop" for f in result.critical + result.warnings)


def test_manifest_disagreement_quarantines(tmp_path):
    night = write_night(tmp_path / "exports", EXPORT, base_rows())
    warehouse = tmp_path / "warehouse.duckdb"
    land_night(warehouse, night)
    manifest = json.loads(night.manifest_path.read_text())
    manifest["files"]["ssd_person.csv"]["rows"] = 61
    night.manifest_path.write_text(json.dumps(manifest))
    result = gate(warehouse, LA, EXPORT, night.path, tmp_path / "docs")
    message = _quarantined(result, "ssd_person.csv", "manifest_rows")
    assert "60 rows loaded but the manifest declares 61" in message


def test_stale_extract_quarantines(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    first = write_night(tmp_path / "exports", "2026-02-27", base_rows())
    land_night(warehouse, first)
    second = write_night(tmp_path / "exports", EXPORT, base_rows())  # same files, new manifest
    result, _ = land_and_gate(tmp_path, second, warehouse)
    _quarantined(result, "all files", "stale_extract")


def test_table_missing_from_raw_and_wrong_night_quarantine(tmp_path):
    night = write_night(tmp_path / "exports", EXPORT, base_rows())
    warehouse = tmp_path / "warehouse.duckdb"
    land_night(warehouse, night)
    con = duckdb.connect(str(warehouse))
    con.execute("drop table raw.ssd_cp_visits")
    con.close()
    result = gate(warehouse, LA, EXPORT, night.path, tmp_path / "docs")
    _quarantined(result, "ssd_cp_visits.csv", "file_missing")
    other = gate(warehouse, LA, "2026-03-03", night.path, tmp_path / "docs")
    _quarantined(other, "ssd_person.csv", "wrong_night")


# --- dq_issues across nights ------------------------------------------------------------------
def test_issue_lifecycle_new_open_resolved_reopened_and_idempotent(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    exports = tmp_path / "exports"
    n1, n2, n3 = "2026-03-02", "2026-03-03", "2026-03-04"

    def night(date, dup_a05, bad_r09, blank_a06):
        rows = base_rows()
        if blank_a06:
            rows["ssd_cin_assessments"][5]["cina_assessment_start_date"] = ""
        if dup_a05:
            rows["ssd_cin_assessments"].insert(5, dict(rows["ssd_cin_assessments"][4]))
        if bad_r09:
            rows["ssd_cin_episodes"][8]["cine_cin_primary_need_code"] = "N99"
        # keep every night distinct so no night is a stale copy
        rows["ssd_department"][0]["dept_team_parent_name"] = date
        return write_night(exports, date, rows)

    def state():
        return {
            (i["rule_id"], i["record_id"]): (
                str(i["first_seen"]),
                str(i["last_seen"]),
                i["resolved_on"] and str(i["resolved_on"]),
                i["reopened_on"] and str(i["reopened_on"]),
            )
            for i in issues(warehouse)
        }

    land_and_gate(tmp_path, night(n1, True, True, False), warehouse)
    assert state() == {
        ("pk_duplicate", "A05"): (n1, n1, None, None),
        ("code_invalid", "R09"): (n1, n1, None, None),
    }
    land_and_gate(tmp_path, night(n2, False, True, True), warehouse)
    assert state() == {
        ("pk_duplicate", "A05"): (n1, n1, n2, None),  # resolved
        ("code_invalid", "R09"): (n1, n2, None, None),  # still open
        ("mandatory_missing", "A06"): (n2, n2, None, None),
    }  # new
    third = night(n3, True, False, True)
    result, _ = land_and_gate(tmp_path, third, warehouse)
    assert state() == {
        ("pk_duplicate", "A05"): (n1, n3, None, n3),  # reopened
        ("code_invalid", "R09"): (n1, n2, n3, None),  # resolved
        ("mandatory_missing", "A06"): (n2, n3, None, None),
    }
    assert result.issue_stats == {"new": 0, "reopened": 1, "resolved": 1, "open": 2}
    before = table_digests(warehouse, ("dq",))
    again = gate(warehouse, LA, n3, third.path, tmp_path / "dq_docs")  # re-run the night
    assert table_digests(warehouse, ("dq",)) == before
    assert again.issue_stats["new"] == again.issue_stats["resolved"] == 0


def test_quarantined_night_leaves_dq_issues_alone(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    rows = base_rows()
    rows["ssd_cin_episodes"][8]["cine_cin_primary_need_code"] = "N99"
    land_and_gate(tmp_path, write_night(tmp_path / "exports", "2026-02-27", rows), warehouse)
    before = table_digests(warehouse, ("dq",))["dq.dq_issues"]
    bad = write_night(
        tmp_path / "exports", EXPORT, base_rows(), drop={"ssd_cin_episodes": ["cine_referral_date"]}
    )
    result, _ = land_and_gate(tmp_path, bad, warehouse)
    assert result.is_quarantined
    assert table_digests(warehouse, ("dq",))["dq.dq_issues"] == before  # R09 not "resolved"


# --- the generator's fault classes -------------------------------------------------------------
@pytest.fixture(scope="module")
def fault_exports(tmp_path_factory):
    """A small two-night export set per fault, generated once per fault kind on demand."""
    generator = pytest.importorskip("csc_generator", reason="generator not available")
    if not hasattr(generator, "generate"):
        pytest.skip("generator.generate not available yet")
    cache: dict[str, Path] = {}

    def make(spec: str | None) -> Path:
        if spec not in cache:
            root = tmp_path_factory.mktemp("faults")
            faults = [spec] if spec else []
            generator.generate(
                root, seed=11, referrals_per_year=400, years=1, nights=2, faults=faults
            )
            cache[spec] = root
        return cache[spec]

    return make


def _gate_last_night(root: Path, tmp: Path):
    warehouse = tmp / "w.duckdb"
    dirs = sorted(p for p in (root / LA).iterdir() if p.is_dir())
    for d in dirs[:-1]:
        land_night(warehouse, nights.Night(LA, d.name, d))
    last = nights.Night(LA, dirs[-1].name, dirs[-1])
    land_night(warehouse, last)
    return gate(warehouse, LA, last.export_date, last.path, tmp / "docs"), warehouse, last


ROW_FAULTS = {
    # kind -> (fault spec, rule, table, column) the gate must report, as warnings
    "duplicate_pk": (
        "duplicate_pk=ssd_cin_assessments",
        "pk_duplicate",
        "ssd_cin_assessments",
        "cina_assessment_id",
    ),
    "blank_mandatory": (
        "blank_mandatory=ssd_cin_assessments.cina_person_id",
        "mandatory_missing",
        "ssd_cin_assessments",
        "cina_person_id",
    ),
    "unparseable_date": (
        "unparseable_date=ssd_cin_assessments.cina_assessment_start_date",
        "date_unparseable",
        "ssd_cin_assessments",
        "cina_assessment_start_date",
    ),
    "future_date": (
        "future_date=ssd_cp_visits.cppv_cp_visit_date",
        "future_date",
        "ssd_cp_visits",
        "cppv_cp_visit_date",
    ),
    "bad_code": (
        "bad_code=ssd_cin_episodes.cine_cin_primary_need_code",
        "code_invalid",
        "ssd_cin_episodes",
        "cine_cin_primary_need_code",
    ),
    "orphan": ("orphan=ssd_cp_plans.cppl_person_id", "orphan", "ssd_cp_plans", "cppl_person_id"),
    "end_before_start": (
        "end_before_start=ssd_cp_plans",
        "8925",
        "ssd_cp_plans",
        "cppl_cp_plan_end_date",
    ),
    "extra_column": ("extra_column=ssd_cin_episodes", "extra_column", "ssd_cin_episodes", None),
    "missing_column": (
        "missing_column=ssd_cin_assessments.cina_assessment_worker_id",
        "column_missing",
        "ssd_cin_assessments",
        "cina_assessment_worker_id",
    ),
}


# Practice problems the simulated case history legitimately contains (overdue work):
# real-looking warnings, not data faults.
PRACTICE_RULES = {"8670Q", "8675Q", "caseload_over_50"}


@pytest.fixture(scope="module")
def clean_generated(fault_exports, tmp_path_factory):
    return _gate_last_night(fault_exports(None), tmp_path_factory.mktemp("clean_gen"))


def test_generated_clean_nights_pass(clean_generated):
    result, warehouse, _ = clean_generated
    assert not result.is_quarantined, format_critical_message(result)
    assert set(result.counts["warning"]) <= PRACTICE_RULES, result.summary


@pytest.mark.parametrize("kind", sorted(ROW_FAULTS))
def test_row_fault_becomes_warning_issues(kind, fault_exports, clean_generated, tmp_path):
    spec, rule_id, table, column = ROW_FAULTS[kind]
    result, warehouse, last = _gate_last_night(fault_exports(spec), tmp_path)
    assert not result.is_quarantined, format_critical_message(result)
    finding = next(f for f in result.warnings if f.rule_id == rule_id and f.table == table)
    assert finding.column == column
    assert {f.rule_id for f in result.warnings} - PRACTICE_RULES == {rule_id}, result.summary
    rows = [i for i in issues(warehouse) if i["rule_id"] == rule_id]
    if rule_id in ("extra_column", "column_missing"):
        assert len(rows) == 1
        return
    # nothing lost: every damaged line of the file is an issue (by source row)
    damaged = _damaged_rows(fault_exports(None), last.path, table, kind)
    reported = {int(r) for i in rows for r in i["source_rows"].split(", ")}
    assert reported == damaged
    assert finding.examples and finding.examples[0].source_row == min(damaged)


def _damaged_rows(clean_root: Path, night_dir: Path, table: str, kind: str) -> set[int]:
    """Source rows of the faulty file that differ from the clean one (same seed)."""

    def read(path):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return list(csv.DictReader(fh))

    faulty = read(night_dir / f"{table}.csv")
    clean = read(clean_root / LA / night_dir.name / f"{table}.csv")
    if kind == "duplicate_pk":
        key = TABLES_BY_NAME[table].primary_key
        counts: dict[str, int] = {}
        for r in faulty:
            counts[r[key]] = counts.get(r[key], 0) + 1
        return {n for n, r in enumerate(faulty, 1) if counts[r[key]] > 1}
    key = TABLES_BY_NAME[table].primary_key
    clean_by_id = {r[key]: r for r in clean}
    return {n for n, r in enumerate(faulty, 1) if r != clean_by_id.get(r[key])}


@pytest.mark.parametrize(
    "kind, check",
    [
        ("missing_file=ssd_cp_visits", "file_missing"),
        ("truncated_file=ssd_involvements", "checksum_mismatch"),
        ("rowcount_mismatch=ssd_person", "rowcount_mismatch"),
        ("duplicate_night=copy", "manifest_invalid"),
    ],
)
def test_file_faults_are_rejected_before_the_gate(kind, check, fault_exports, tmp_path):
    root = fault_exports(kind)
    dirs = sorted(p for p in (root / LA).iterdir() if p.is_dir())
    warehouse = tmp_path / "w.duckdb"
    land_night(warehouse, nights.Night(LA, dirs[0].name, dirs[0]))
    with pytest.raises(NightRejected) as err:
        land_night(warehouse, nights.Night(LA, dirs[-1].name, dirs[-1]))
    assert err.value.check == check


def test_stale_duplicate_night_is_quarantined(fault_exports, tmp_path):
    result, _, _ = _gate_last_night(fault_exports("duplicate_night=stale"), tmp_path)
    _quarantined(result, "all files", "stale_extract")


def test_missing_mandatory_column_from_generator_quarantines(fault_exports, tmp_path):
    result, _, _ = _gate_last_night(
        fault_exports("missing_column=ssd_cin_assessments.cina_person_id"), tmp_path
    )
    message = _quarantined(result, "ssd_cin_assessments.csv", "column_missing")
    assert "cina_person_id" in message


def test_heavy_row_fault_is_a_broken_extract(fault_exports, tmp_path):
    result, warehouse, _ = _gate_last_night(fault_exports("unparseable_date=0.2"), tmp_path)
    message = _quarantined(result, "ssd_cin_assessments.csv", "date_unparseable")
    assert "e.g. row " in message and "(id " in message
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from dq.dq_issues").fetchone()[0] == 0


def test_quarantined_night_has_its_own_dq_page(fault_exports, tmp_path, monkeypatch):
    """validate on a broken night: quarantined, nothing published, and the night gets its
    own self-contained data-quality page saying why (issue 13: a quarantined night is
    where a team manager most needs to see which records stopped it)."""
    from csc_pipeline import dq_page
    from csc_pipeline.config import settings
    from csc_pipeline.steps import discover, land, validate
    from csc_pipeline.steps.errors import NightQuarantined

    root = fault_exports("unparseable_date=0.2")
    for key, value in pipeline_env(root, tmp_path).items():
        monkeypatch.setenv(key, value)
    cfg = settings()
    last = sorted(p.name for p in (root / LA).iterdir() if p.is_dir())[-1]
    ref = land.run(discover.select_night(LA, last, cfg=cfg), cfg)
    with pytest.raises(NightQuarantined) as err:
        validate.run(ref, cfg)
    page = dq_page.page_path(cfg.var_dir, LA, last)
    assert str(page) in str(err.value)
    html = page.read_text(encoding="utf-8")
    assert "This night was quarantined: nothing was published" in html
    assert "quarantined (nothing published)" in html
    assert "ssd_cin_assessments.csv" in html and "date_unparseable" in html
    assert "http://" not in html and "https://" not in html  # renders offline
    assert not Path(ref["work"]).exists()  # the working copy is gone
    published = Path(ref["warehouse"])
    if published.exists():  # nothing of this night was published
        con = duckdb.connect(str(published), read_only=True)
        try:
            assert not con.execute(
                "select count(*) from meta.nights where export_date = ?", [last]
            ).fetchone()[0]
        finally:
            con.close()


@pytest.mark.parametrize("council_code", [False, True])
def test_caseload_check_counts_the_councils_own_case_holder_role(tmp_path, council_code):
    """Every allocation carries a local role code (as Eclipse writes): with the code in
    the council's profile, the gate's caseload check counts it as the marts do
    (stg_ssd__involvements.is_case_holder_role); without it, nothing is a caseload."""
    from csc_pipeline.profile import CouncilProfile

    rows = base_rows()
    for invo in rows["ssd_involvements"]:
        invo["invo_professional_role_id"] = "Key Worker (local)"
    for pro in rows["ssd_professionals"]:
        if pro["prof_professional_id"] == "W2":
            pro["prof_full_time_equivalency"] = "0.3"  # 20 children / 0.3 FTE > 50
    night = write_night(tmp_path / "exports", EXPORT, rows)
    warehouse = tmp_path / "warehouse.duckdb"
    profile = CouncilProfile(
        la_code=LA, extra_role_codes=("KEY WORKER LOCAL",) if council_code else ()
    )
    land_night(warehouse, night, profile=profile)
    result = gate(warehouse, LA, night.export_date, night.path, tmp_path / "dq_docs")
    over = [f for f in result.warnings if f.rule_id == "caseload_over_50"]
    if council_code:
        assert [f.table for f in over] == ["ssd_professionals"]
        rows_ = [i for i in issues(warehouse) if i["rule_id"] == "caseload_over_50"]
        assert [i["record_id"] for i in rows_] == ["W2"]
    else:
        assert not over
