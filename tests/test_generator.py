"""Tests of the sample export generator (csc_generator).

The calibration tests re-measure the published figures from the generated CSV files
with code written here, independently of the generator: dates are parsed with the
contract's accepted formats, flags and legacy codes are normalised as the contract
says, working days come from a cumulative working-day index built from the
`holidays` package, and the indicators follow ../shared/spec/kpis.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path

import holidays
import numpy as np
import pandas as pd
import pytest

from csc_generator import Fault, generate
from csc_generator.faults import UNPARSEABLE_DATES, FaultError
from csc_generator.names import FORENAMES, SURNAMES
from csc_pipeline import contract

END = dt.date(2026, 11, 20)


# --- independent readers --------------------------------------------------------------------
def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV (BOM tolerated), with the csv module."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def read_table(folder: Path, table: str) -> pd.DataFrame:
    """A table as strings ("" = null), columns by contract name (case-insensitive)."""
    header, rows = read_rows(folder / f"{table}.csv")
    frame = pd.DataFrame(rows, columns=[h.lower() for h in header], dtype=object)
    return frame


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates in any format the contract accepts; NaT for blank or unparseable."""
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for fmt in contract.DATE_FORMATS:
        todo = out.isna() & values.ne("")
        if not todo.any():
            break
        out[todo] = pd.to_datetime(values[todo], format=fmt, errors="coerce")
    return out


def parse_flag(values: pd.Series) -> pd.Series:
    up = values.str.upper()
    return up.isin(contract.FLAG_TRUE).where(up.isin(contract.FLAG_TRUE | contract.FLAG_FALSE))


GRADE_RANK = {g: i for i, g in enumerate(contract.AUDIT_GRADES)}


def grade_rank(values: pd.Series) -> pd.Series:
    canon = values.str.upper().map(lambda v: contract.AUDIT_GRADE_LEGACY.get(v, v))
    return canon.map(GRADE_RANK)


class WorkingDays:
    """England working days from a cumulative index (kpis.md definitions)."""

    def __init__(self, first: int = 2000, last: int = 2032) -> None:
        days = pd.date_range(f"{first}-01-01", f"{last}-12-31", freq="D")
        hols = holidays.country_holidays("GB", subdiv="ENG", years=range(first, last + 1))
        working = (days.weekday < 5) & ~days.isin(pd.to_datetime(list(hols)))
        self.cum = pd.Series(np.cumsum(working), index=days)

    def between(self, a: pd.Series, b: pd.Series) -> pd.Series:
        """working days d with a < d <= b."""
        return pd.Series(
            self.cum.reindex(b).to_numpy() - self.cum.reindex(a).to_numpy(), index=a.index
        )


def manifest(folder: Path) -> dict:
    return json.loads((folder / contract.MANIFEST_NAME).read_text(encoding="utf-8"))


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def typical(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A typical council (default 4,100 referrals a year), 3 years, 3 nights, messy."""
    return generate(tmp_path_factory.mktemp("typical"), seed=11, years=3, nights=3)


@pytest.fixture(scope="module")
def last_night(typical: list[Path]) -> Path:
    return typical[-1]


@pytest.fixture(scope="module")
def wd() -> WorkingDays:
    return WorkingDays()


# --- delivery ---------------------------------------------------------------------------------
def test_folders_and_manifest(typical: list[Path]) -> None:
    assert [p.name for p in typical] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    for folder in typical:
        assert folder.parent.name == "999"
        m = manifest(folder)
        assert m["contract_version"] == "1"
        assert (m["la_code"], m["la_name"]) == ("999", "Northbridge")
        assert m["export_date"] == folder.name
        extracted = dt.datetime.strptime(m["extracted_at"], "%Y-%m-%dT%H:%M:%SZ")
        assert extracted.date() == dt.date.fromisoformat(folder.name) + dt.timedelta(days=1)
        assert extracted.hour == 1
        assert set(m["files"]) == {t.file_name for t in contract.TABLES}
        for t in contract.TABLES:
            data = (folder / t.file_name).read_bytes()
            entry = m["files"][t.file_name]
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
            _, rows = read_rows(folder / t.file_name)
            assert entry["rows"] == len(rows)
        # manifest written last
        newest_csv = max((folder / t.file_name).stat().st_mtime_ns for t in contract.TABLES)
        assert (folder / contract.MANIFEST_NAME).stat().st_mtime_ns >= newest_csv


def test_every_table_and_column(last_night: Path) -> None:
    for t in contract.TABLES:
        header, rows = read_rows(last_night / t.file_name)
        assert sorted(h.lower() for h in header) == sorted(t.column_names), t.name
        assert rows, f"{t.name} is empty"
        assert all(len(r) == len(header) for r in rows)


def test_names_fictional(last_night: Path) -> None:
    people = read_table(last_night, "ssd_person")
    ids = set(people["pers_person_id"])
    for col, names in (("pers_forename", FORENAMES), ("pers_surname", SURNAMES)):
        assert (people[col] != "").all()
        assert set(people[col]) <= set(names)
        assert not set(people[col]) & ids
    assert people["pers_person_id"].str.fullmatch(r"[A-Za-z0-9]{1,20}").all()
    staff = read_table(last_night, "ssd_professionals")
    assert (staff["prof_professional_name"] != "").all()
    for name in staff["prof_professional_name"]:
        first, last = name.split(" ")
        assert first in FORENAMES and last in SURNAMES


def test_clean_output_has_no_faults(tmp_path: Path) -> None:
    """messy=False: canonical spellings and none of the contract's fault kinds."""
    folders = generate(tmp_path, seed=3, referrals_per_year=700, years=2, nights=2, messy=False)
    for folder in folders:
        export_day = pd.Timestamp(folder.name)
        tables = {t.name: read_table(folder, t.name) for t in contract.TABLES}
        for t in contract.TABLES:
            df = tables[t.name]
            assert list(df.columns) == list(t.column_names)
            assert not df[t.primary_key].duplicated().any(), t.name
            assert not (folder / t.file_name).read_bytes().startswith(b"\xef\xbb\xbf")
            for c in t.columns:
                v = df[c.name]
                if c.mandatory:
                    assert (v != "").all(), (t.name, c.name)
                present = v[v != ""]
                if c.type == "date":
                    assert present.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all(), (t.name, c.name)
                    if c.name not in ("icpc_icpc_target_date", "pers_expected_dob"):
                        assert (pd.to_datetime(present) <= export_day).all(), (t.name, c.name)
                if c.type == "flag":
                    assert present.isin(["Y", "N"]).all(), (t.name, c.name)
                if c.codes:
                    assert present.isin(c.codes).all(), (t.name, c.name)
                if c.references:
                    parent, pcol = c.references.split(".")
                    assert present.isin(set(tables[parent][pcol])).all(), (t.name, c.name)
            for start, end in t.date_ranges:
                both = df[(df[start] != "") & (df[end] != "")]
                assert (pd.to_datetime(both[end]) >= pd.to_datetime(both[start])).all(), t.name


def test_messy_values_are_accepted_variants(last_night: Path) -> None:
    tables = {t.name: read_table(last_night, t.name) for t in contract.TABLES}
    seen_formats, seen_flags = set(), set()
    for t in contract.TABLES:
        for c in t.columns:
            v = tables[t.name][c.name]
            present = v[v != ""]
            if c.type == "date":
                assert parse_dates(present).notna().all(), (t.name, c.name)
                seen_formats |= {len(s) for s in present}
            if c.type in ("flag", "flag_na"):
                allowed = contract.FLAG_TRUE | contract.FLAG_FALSE | contract.FLAG_NA
                assert present.str.upper().isin(allowed).all(), (t.name, c.name)
                seen_flags |= set(present)
    assert seen_formats == {10, 19}  # ISO and DD/MM/YYYY are 10 long, with time 19
    assert {"1", "true", "Yes"} & seen_flags
    sex = tables["ssd_person"]["pers_sex"]
    assert sex.isin(set(contract.SEX_CODES) | set(contract.SEX_LEGACY)).all()
    assert sex.isin(set(contract.SEX_LEGACY)).any()
    grades = tables["case_audits"]["audit_grade"]
    assert grade_rank(grades).notna().all()
    assert grades.isin(["1", "2", "3", "4", "Adequate"]).any()


def test_deterministic(tmp_path: Path) -> None:
    kwargs = dict(referrals_per_year=500, years=2, nights=2, la_codes=2)
    generate(tmp_path / "a", seed=5, **kwargs)
    generate(tmp_path / "b", seed=5, **kwargs)
    generate(tmp_path / "c", seed=6, **kwargs)
    a, b, c = (file_digests(tmp_path / x) for x in "abc")
    assert len(a) == 2 * 2 * (len(contract.TABLES) + 1)
    assert a == b
    assert a.keys() == c.keys()
    assert all(a[k] != c[k] for k in a if not k.endswith("ssd_department.csv"))
    m = manifest(tmp_path / "a" / "998" / END.isoformat())
    assert m["la_code"] == "998" and m["la_name"] != "Northbridge"


# --- evolution across nights ------------------------------------------------------------------
def test_nights_evolve(typical: list[Path]) -> None:
    first, last = typical[0], typical[-1]
    a1 = read_table(first, "ssd_cin_assessments").set_index("cina_assessment_id")
    a3 = read_table(last, "ssd_cin_assessments").set_index("cina_assessment_id")
    open_then = a1.index[a1["cina_assessment_auth_date"] == ""]
    common = open_then.intersection(a3.index)
    assert (a3.loc[common, "cina_assessment_auth_date"] != "").any()
    for t in ("ssd_cin_episodes", "ssd_person", "ssd_cp_visits"):
        assert len(read_table(last, t)) > len(read_table(first, t)), t
    new_refs = set(read_table(last, "ssd_cin_episodes")["cine_referral_id"]) - set(
        read_table(first, "ssd_cin_episodes")["cine_referral_id"]
    )
    assert new_refs
    # a few records are corrected or deleted (entered in error) between nights
    gone = set(read_table(first, "ssd_cp_visits")["cppv_cp_visit_id"]) - set(
        read_table(last, "ssd_cp_visits")["cppv_cp_visit_id"]
    )
    both = a1.index.intersection(a3.index)
    was, now = a1.loc[both, "cina_assessment_auth_date"], a3.loc[both, "cina_assessment_auth_date"]
    corrected = (was != "") & (was != now)
    assert gone or corrected.any()
    # nothing is dated after its own export date
    refs = read_table(first, "ssd_cin_episodes")
    assert parse_dates(refs["cine_referral_date"]).max() <= pd.Timestamp(first.name)


def test_reallocation_when_worker_leaves(last_night: Path) -> None:
    inv = read_table(last_night, "ssd_involvements")
    inv["start"] = parse_dates(inv["invo_involvement_start_date"])
    inv["end"] = parse_dates(inv["invo_involvement_end_date"])
    left = inv[inv["invo_worker_change_reason"] == "LEFTRL"]
    assert len(left) > 50
    nxt = left.merge(inv, left_on=["invo_person_id", "end"], right_on=["invo_person_id", "start"])
    assert len(nxt) >= 0.9 * len(left)
    assert (nxt["invo_professional_id_x"] != nxt["invo_professional_id_y"]).all()
    roles = set(inv["invo_professional_role_id"])
    assert {contract.CASE_HOLDER_ROLE, "IRO", "PERSONAL ADVISOR"} <= roles


# --- calibration --------------------------------------------------------------------------------
def _period(values: pd.Series, end: pd.Timestamp, days: int = 730) -> pd.Series:
    return (values > end - pd.Timedelta(days=days)) & (values <= end)


def test_calibration_referrals(last_night: Path) -> None:
    d = pd.Timestamp(last_night.name)
    refs = read_table(last_night, "ssd_cin_episodes")
    refs["date"] = parse_dates(refs["cine_referral_date"])
    refs = refs.sort_values(["cine_person_id", "date"])
    refs["prev"] = refs.groupby("cine_person_id")["date"].shift()
    inp = refs[_period(refs["date"], d)]
    assert len(inp) / 2 == pytest.approx(4100, rel=0.08)
    rereferred = inp["prev"].notna() & (inp["prev"] >= inp["date"] - pd.DateOffset(months=12))
    assert rereferred.mean() == pytest.approx(0.226, abs=0.03)
    assert parse_flag(inp["cine_referral_nfa"]).mean() == pytest.approx(0.065, abs=0.015)


def test_calibration_assessments(last_night: Path, wd: WorkingDays) -> None:
    d = pd.Timestamp(last_night.name)
    a = read_table(last_night, "ssd_cin_assessments")
    a["start"] = parse_dates(a["cina_assessment_start_date"])
    a["auth"] = parse_dates(a["cina_assessment_auth_date"])
    done = a[_period(a["auth"], d)].copy()
    assert len(done) / 2 == pytest.approx(4200, rel=0.08)
    days = wd.between(done["start"], done["auth"])
    assert (days <= 45).mean() == pytest.approx(0.857, abs=0.03)
    assert days.median() == pytest.approx(33, abs=2)
    bands = pd.cut(days, [-1, 0, 10, 20, 30, 40, 45, 50, 60, 10_000]).value_counts(
        normalize=True, sort=False
    )
    expected = [0.018, 0.117, 0.173, 0.158, 0.202, 0.189, 0.058, 0.043, 0.042]
    assert np.allclose(bands.to_numpy(), expected, atol=0.025)


def test_calibration_child_protection(last_night: Path, wd: WorkingDays) -> None:
    d = pd.Timestamp(last_night.name)
    s47 = read_table(last_night, "ssd_s47_enquiry")
    s47["start"] = parse_dates(s47["s47e_s47_start_date"])
    assert _period(s47["start"], d).sum() / 2 == pytest.approx(1500, rel=0.12)

    icpc = read_table(last_night, "ssd_initial_cp_conference")
    icpc["date"] = parse_dates(icpc["icpc_icpc_date"])
    icpc = icpc[_period(icpc["date"], d)]
    transfer = parse_flag(icpc["icpc_icpc_transfer_in"]).fillna(False).astype(bool)
    assert transfer.any()
    held = icpc[~transfer].merge(s47, left_on="icpc_s47_enquiry_id", right_on="s47e_s47_enquiry_id")
    assert len(held) / 2 == pytest.approx(470, rel=0.15)
    within = wd.between(held["start"], held["date"]) <= 15
    assert within.mean() == pytest.approx(0.81, abs=0.05)

    plans = read_table(last_night, "ssd_cp_plans")
    plans["start"] = parse_dates(plans["cppl_cp_plan_start_date"])
    plans["end"] = parse_dates(plans["cppl_cp_plan_end_date"])
    ola = parse_flag(plans["cppl_cp_plan_ola"]).fillna(False).astype(bool)
    assert ola.any()
    ours = plans[~ola].sort_values(["cppl_person_id", "start"]).copy()
    ours["sequence"] = ours.groupby("cppl_person_id").cumcount() + 1
    recent = ours[_period(ours["start"], d)]
    assert len(recent) / 2 == pytest.approx(400, rel=0.12)
    assert (recent["sequence"] >= 2).mean() == pytest.approx(0.20, abs=0.05)
    ended = ours[_period(ours["end"], d, 3 * 365)]
    months = (ended["end"] - ended["start"]).dt.days / 30.44
    shares = pd.cut(months, [-1, 3, 6, 12, 24, 10_000]).value_counts(normalize=True, sort=False)
    assert np.allclose(shares.to_numpy(), [0.16, 0.11, 0.435, 0.25, 0.044], atol=0.05)

    visits = read_table(last_night, "ssd_cp_visits")
    open_plans = ours[ours["start"].le(d) & (ours["end"].isna() | ours["end"].gt(d))]
    visited = visits[visits["cppv_cp_plan_id"].isin(open_plans["cppl_cp_plan_id"])]
    visited = visited.assign(date=parse_dates(visited["cppv_cp_visit_date"]))
    last_visit = visited.groupby("cppv_cp_plan_id")["date"].max()
    gap = wd.between(last_visit, pd.Series(d, index=last_visit.index))
    assert (gap <= 10).mean() > 0.7


def test_calibration_children_in_care(last_night: Path) -> None:
    d = pd.Timestamp(last_night.name)
    cla = read_table(last_night, "ssd_cla_episodes")
    start = parse_dates(cla["clae_cla_episode_start_date"])
    end = parse_dates(cla["clae_cla_episode_ceased_date"])
    in_care = cla[(start <= d) & (end.isna() | (end > d))]["clae_person_id"].nunique()
    assert in_care == pytest.approx(530, rel=0.15)


def test_calibration_caseloads(last_night: Path) -> None:
    d = pd.Timestamp(last_night.name)
    inv = read_table(last_night, "ssd_involvements")
    start = parse_dates(inv["invo_involvement_start_date"])
    end = parse_dates(inv["invo_involvement_end_date"])
    held = inv[
        (inv["invo_professional_role_id"] == contract.CASE_HOLDER_ROLE)
        & (start <= d)
        & (end.isna() | (end > d))
    ]
    children = held.groupby("invo_professional_id")["invo_person_id"].nunique()
    staff = read_table(last_night, "ssd_professionals").set_index("prof_professional_id")
    fte = staff.loc[children.index, "prof_full_time_equivalency"].astype(float)
    agency = parse_flag(staff.loc[children.index, "prof_agency_worker_flag"]).astype(bool)
    assert 15.0 <= children.sum() / fte.sum() <= 17.0
    per_fte = children / fte
    assert (per_fte > 20).sum() >= 5
    assert per_fte.max() < 50
    assert fte[agency].sum() / fte.sum() == pytest.approx(0.16, abs=0.05)
    titles = staff["prof_professional_job_title"]
    managers = staff.index[titles == "Team Manager"]
    assert len(managers) and not set(managers) & set(children.index)
    assert set(staff["prof_full_time_equivalency"]) >= {"1.0", "0.8", "0.6", "0.5"}
    teams = read_table(last_night, "ssd_department")
    assert {"Front Door", "Assessment", "Safeguarding", "Children in Care", "Care Leavers"} <= set(
        teams["dept_team_parent_name"]
    )


def test_calibration_audits(last_night: Path) -> None:
    audits = read_table(last_night, "case_audits")
    audits["done"] = parse_dates(audits["audit_completed_date"])
    per_month = audits.groupby(audits["done"].dt.to_period("M")).size().iloc[1:-1]
    assert per_month.between(25, 105).all()
    first = grade_rank(audits["audit_grade"])
    assert first.value_counts().idxmax() == GRADE_RANK["REQUIRES_IMPROVEMENT"]
    moderated = audits["moderated_grade"] != ""
    assert moderated.mean() == pytest.approx(0.40, abs=0.06)
    mod = grade_rank(audits.loc[moderated, "moderated_grade"])
    down = (mod > first[moderated]).mean()
    up = (mod < first[moderated]).mean()
    assert down == pytest.approx(0.25, abs=0.05)
    assert 0 < up < 0.1


# --- faults -----------------------------------------------------------------------------------
FAULTS = [
    "duplicate_pk=ssd_cin_assessments,5,night=3",
    "end_before_start=ssd_cp_plans,4,night=3",
    "future_date=ssd_cin_episodes,3,night=3",
    "bad_code=ssd_cin_episodes.cine_referral_source_code,6,night=3",
    "orphan=ssd_cp_visits,2,night=3",
    "blank_mandatory=ssd_cla_episodes,3,night=3",
    "unparseable_date=ssd_cp_plans.cppl_cp_plan_start_date,7,night=3",
    "missing_column=ssd_s47_enquiry.s47e_s47_nfa,night=3",
    "extra_column=ssd_department,night=3",
    "missing_file=ssd_case_audits,night=3".replace("ssd_case_audits", "case_audits"),
    "truncated_file=ssd_involvements,10,night=3",
    "rowcount_mismatch=ssd_person,-4,night=3",
    "duplicate_night=night=4,la=999",
    "duplicate_night=mode=stale,night=4,la=998",
]


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("faulty")
    kwargs = dict(
        seed=2, referrals_per_year=600, years=2, nights=4, messy=False, la_codes=["999", "998"]
    )
    generate(root / "clean", **kwargs)
    generate(root / "faulty", faults=FAULTS, **kwargs)
    return root / "clean" / "999", root / "faulty" / "999"


def test_fault_row_kinds(faulty: tuple[Path, Path]) -> None:
    clean_la, bad_la = faulty
    night = (END - dt.timedelta(days=1)).isoformat()
    clean, bad = clean_la / night, bad_la / night

    a_clean, a_bad = (
        read_table(clean, "ssd_cin_assessments"),
        read_table(bad, "ssd_cin_assessments"),
    )
    assert len(a_bad) == len(a_clean) + 5
    assert a_bad["cina_assessment_id"].duplicated().sum() == 5

    plans = read_table(bad, "ssd_cp_plans")
    both = plans[(plans["cppl_cp_plan_end_date"] != "")]
    start = parse_dates(both["cppl_cp_plan_start_date"])
    assert (parse_dates(both["cppl_cp_plan_end_date"]) < start).sum() == 4
    assert plans["cppl_cp_plan_start_date"].isin(UNPARSEABLE_DATES).sum() == 7
    assert parse_dates(plans["cppl_cp_plan_start_date"]).isna().sum() == 7

    refs = read_table(bad, "ssd_cin_episodes")
    assert (pd.to_datetime(refs["cine_referral_date"]) > pd.Timestamp(night)).sum() == 3
    assert (~refs["cine_referral_source_code"].isin(contract.REFERRAL_SOURCES)).sum() == 6

    visits = read_table(bad, "ssd_cp_visits")
    people = set(read_table(bad, "ssd_person")["pers_person_id"])
    assert (~visits["cppv_person_id"].isin(people)).sum() == 2

    cla = read_table(bad, "ssd_cla_episodes")
    assert (cla["clae_person_id"] == "").sum() == 3

    header, _ = read_rows(bad / "ssd_s47_enquiry.csv")
    assert (
        "s47e_s47_nfa" not in header
        and len(header) == len(contract.TABLES_BY_NAME["ssd_s47_enquiry"].columns) - 1
    )
    header, _ = read_rows(bad / "ssd_department.csv")
    assert header[-1] == "extra_column"
    # untouched tables are byte-identical to the clean run
    assert (bad / "ssd_professionals.csv").read_bytes() == (
        clean / "ssd_professionals.csv"
    ).read_bytes()


def test_fault_file_kinds(faulty: tuple[Path, Path]) -> None:
    clean_la, bad_la = faulty
    night = (END - dt.timedelta(days=1)).isoformat()
    clean, bad = clean_la / night, bad_la / night
    m = manifest(bad)
    assert not (bad / "case_audits.csv").exists()
    assert m["files"]["case_audits.csv"] == manifest(clean)["files"]["case_audits.csv"]

    full = (clean / "ssd_involvements.csv").read_bytes()
    cut = (bad / "ssd_involvements.csv").read_bytes()
    entry = m["files"]["ssd_involvements.csv"]
    assert entry == manifest(clean)["files"]["ssd_involvements.csv"]
    assert full.startswith(cut) and len(cut) < len(full) and not cut.endswith(b"\r\n")
    lines = cut.split(b"\r\n")
    assert len(lines) == 1 + entry["rows"] - 10 + 1  # header, whole lines, partial line

    data = (bad / "ssd_person.csv").read_bytes()
    _, rows = read_rows(bad / "ssd_person.csv")
    assert m["files"]["ssd_person.csv"]["rows"] == len(rows) - 4
    assert m["files"]["ssd_person.csv"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_fault_duplicate_night(faulty: tuple[Path, Path]) -> None:
    _, bad_la = faulty
    prev, dup = bad_la / (END - dt.timedelta(days=1)).isoformat(), bad_la / END.isoformat()
    assert file_digests(prev) == file_digests(dup)  # copy: manifest included
    assert manifest(dup)["export_date"] == prev.name
    stale_prev, stale = bad_la.parent / "998" / prev.name, bad_la.parent / "998" / dup.name
    m_prev, m = manifest(stale_prev), manifest(stale)
    assert m["export_date"] == stale.name and m["files"] == m_prev["files"]
    csvs = sorted(p.name for p in stale_prev.glob("*.csv"))
    assert csvs == sorted(p.name for p in stale.glob("*.csv"))
    for name in csvs:
        assert (stale / name).read_bytes() == (stale_prev / name).read_bytes()


def test_fault_specs() -> None:
    f = Fault.parse("unparseable_date=ssd_cp_plans.cppl_cp_plan_start_date,5,night=2,la=998")
    assert (f.kind, f.tables, f.column, f.amount, f.night, f.la_codes) == (
        "unparseable_date",
        ("ssd_cp_plans",),
        "cppl_cp_plan_start_date",
        5.0,
        2,
        ("998",),
    )
    assert Fault.parse("duplicate_pk=0.01").target_tables == ("ssd_cin_assessments",)
    for bad in (
        "nonsense",
        "duplicate_pk=no_such_table",
        "bad_code=ssd_person.nope",
        "duplicate_night=mode=x",
    ):
        with pytest.raises(FaultError):
            Fault.parse(bad)
    with pytest.raises(FaultError):
        generate(Path("/nonexistent"), nights=1, faults=["duplicate_night"])
