"""A second, independent implementation of spec/kpis.md, used only to check the marts.

It was written from the two specs alone (kpis.md and export-contract.md), straight from a
night's raw CSVs with pandas, without reading the dbt project: if the dbt models and
this file agree on every council-level month, a misreading of the spec would have to be
made twice, the same way, in two languages. Deliberately plain and slow (row loops are
fine at test sizes); it covers the council-level numerators and denominators of
marts.kpi_monthly.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import holidays
import numpy as np
import pandas as pd

KPI_CODES = (
    "ASSESS_45WD_PCT",
    "CP_REPEAT_EVER_PCT",
    "CP_REPEAT_2Y_PCT",
    "CP_2Y_PLUS_ENDED_PCT",
    "CASELOAD_PER_FTE",
    "CASELOAD_PER_WORKER",
    "AGENCY_RATE",
    "AUDIT_GOOD_PLUS_PCT",
    "AUDIT_INADEQUATE_PCT",
    "AUDIT_REQUIRES_IMPROVEMENT_PCT",
    "AUDIT_DOWNGRADE_PCT",
    "REREFERRAL_12M_PCT",
    "ICPC_15WD_PCT",
    "AUDIT_STD_TIMESCALES_PCT",
    "AUDIT_STD_MANAGEMENT_OVERSIGHT_PCT",
    "AUDIT_STD_VOICE_OF_CHILD_PCT",
    "AUDIT_STD_ANALYSIS_PCT",
    "AUDIT_STD_RECORDING_PCT",
)

ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
UK = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
TRUE = {"y", "yes", "1", "true", "t"}
FALSE = {"n", "no", "0", "false", "f"}
GRADES = {
    "1": "OUTSTANDING",
    "2": "GOOD",
    "3": "REQUIRES_IMPROVEMENT",
    "4": "INADEQUATE",
    "OUTSTANDING": "OUTSTANDING",
    "GOOD": "GOOD",
    "REQUIRES_IMPROVEMENT": "REQUIRES_IMPROVEMENT",
    "ADEQUATE": "REQUIRES_IMPROVEMENT",
    "INADEQUATE": "INADEQUATE",
}
GRADE_RANK = {"OUTSTANDING": 1, "GOOD": 2, "REQUIRES_IMPROVEMENT": 3, "INADEQUATE": 4}


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _read(export: Path, name: str, key: str) -> pd.DataFrame:
    """One CSV as cleaned text (columns may arrive in any order); one row per key."""
    df = pd.read_csv(export / f"{name}.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.columns = [c.strip().lower() for c in df.columns]
    for c in df.columns:
        df[c] = df[c].str.strip()
        df.loc[df[c] == "", c] = None
    df = df[df[key].notna()]
    return df.drop_duplicates().drop_duplicates(subset=[key], keep="first")


def _parse_date(value) -> tuple[pd.Timestamp, bool]:
    """(date or NaT, delivered but unparseable)."""
    if _missing(value):
        return pd.NaT, False
    try:
        if m := ISO.match(value):
            return pd.Timestamp(dt.date(int(m[1]), int(m[2]), int(m[3]))), False
        if m := UK.match(value):
            return pd.Timestamp(dt.date(int(m[3]), int(m[2]), int(m[1]))), False
    except ValueError:
        pass
    return pd.NaT, True


def _dates(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for col in cols:
        parsed = df[col].map(_parse_date)
        df[col] = pd.to_datetime(parsed.map(lambda x: x[0]))
        df[col + "__bad"] = parsed.map(lambda x: x[1]).astype(bool)
    return df


def _flag(value) -> bool | None:
    if _missing(value):
        return None
    v = value.strip().lower()
    return True if v in TRUE else False if v in FALSE else None


def _grade(value) -> str | None:
    if _missing(value):
        return None
    return GRADES.get(value.strip().upper().replace(" ", "_").replace("-", "_"))


class _WorkingDays:
    """working_days_between(a, b) = working days d with a < d <= b, by cumulative count."""

    def __init__(self) -> None:
        hols = holidays.country_holidays("GB", subdiv="ENG", years=range(2000, 2036))
        self.days = pd.date_range("2000-01-01", "2035-12-31", freq="D")
        working = np.array([d.weekday() < 5 and d.date() not in hols for d in self.days])
        self.cum = np.cumsum(working)

    def between(self, a: pd.Series, b: pd.Series) -> np.ndarray:
        a, b = pd.Series(a).reset_index(drop=True), pd.Series(b).reset_index(drop=True)
        ok = (a.notna() & b.notna()).to_numpy()
        out = np.full(len(a), np.nan)
        ia = (pd.to_datetime(a[ok]) - self.days[0]).dt.days.to_numpy()
        ib = (pd.to_datetime(b[ok]) - self.days[0]).dt.days.to_numpy()
        out[ok] = self.cum[ib] - self.cum[ia]
        return out


def council_monthly(export: Path, as_at: str) -> pd.DataFrame:
    """Council-level numerator and denominator per KPI and month from one night's CSVs."""
    as_at_ts = pd.Timestamp(as_at)
    wd = _WorkingDays()
    rows: list[tuple[str, pd.Timestamp, float, float]] = []

    def emit(code: str, df: pd.DataFrame, month_col: str, hit: pd.Series) -> None:
        months = pd.to_datetime(df[month_col]).dt.to_period("M").dt.to_timestamp()
        frame = pd.DataFrame({"m": months.to_numpy(), "n": hit.astype(float).to_numpy()})
        for m, x in frame.groupby("m"):
            rows.append((code, m, float(x["n"].sum()), float(len(x))))

    # 1. assessments authorised in the month, within 45 working days
    asm = _dates(
        _read(export, "ssd_cin_assessments", "cina_assessment_id"),
        "cina_assessment_start_date",
        "cina_assessment_auth_date",
    )
    asm["wd"] = wd.between(asm.cina_assessment_start_date, asm.cina_assessment_auth_date)
    bad = (
        asm.cina_assessment_start_date__bad
        | asm.cina_assessment_auth_date__bad
        | asm.cina_assessment_start_date.isna()
        | (asm.wd < 0)
        | (asm.cina_assessment_auth_date > as_at_ts)
    )
    done = asm[~bad & asm.cina_assessment_auth_date.notna()]
    emit("ASSESS_45WD_PCT", done, "cina_assessment_auth_date", done.wd <= 45)

    # 2. CP plans of this council: sequence, repeats, 2 years+
    cp = _dates(
        _read(export, "ssd_cp_plans", "cppl_cp_plan_id"),
        "cppl_cp_plan_start_date",
        "cppl_cp_plan_end_date",
    )
    cp = cp[~cp.cppl_cp_plan_ola.map(_flag).eq(True)].copy()
    bad = (
        cp.cppl_person_id.isna()
        | cp.cppl_cp_plan_start_date__bad
        | cp.cppl_cp_plan_end_date__bad
        | cp.cppl_cp_plan_start_date.isna()
        | (cp.cppl_cp_plan_end_date < cp.cppl_cp_plan_start_date)
        | (cp.cppl_cp_plan_start_date > as_at_ts)
        | (cp.cppl_cp_plan_end_date > as_at_ts)
    )
    plans = cp[~bad].copy()
    # An earlier plan counts if it started (valid start date), even when its own end
    # date is in error; to be a repeat within 2 years it needs a valid end (the
    # documented reading of "excluded from that figure": the error is that plan's).
    started = cp[cp.cppl_person_id.notna() & cp.cppl_cp_plan_start_date.notna()].copy()
    started["valid_end"] = (
        started.cppl_cp_plan_end_date.notna()
        & ~started.cppl_cp_plan_end_date__bad
        & (started.cppl_cp_plan_end_date >= started.cppl_cp_plan_start_date)
    )
    by_child = dict(tuple(started.groupby("cppl_person_id")))
    ever, within_2y = [], []
    for _, plan in plans.iterrows():
        siblings = by_child[plan.cppl_person_id]
        earlier = siblings[siblings.cppl_cp_plan_start_date < plan.cppl_cp_plan_start_date]
        cutoff = plan.cppl_cp_plan_start_date - pd.DateOffset(years=2)
        ever.append(len(earlier) >= 1)
        ended_recently = earlier.valid_end & (earlier.cppl_cp_plan_end_date >= cutoff)
        within_2y.append(bool(ended_recently.any()))
    emit("CP_REPEAT_EVER_PCT", plans, "cppl_cp_plan_start_date", pd.Series(ever))
    emit("CP_REPEAT_2Y_PCT", plans, "cppl_cp_plan_start_date", pd.Series(within_2y))
    ended = plans[plans.cppl_cp_plan_end_date.notna()]
    lasted = [
        end >= start + pd.DateOffset(years=2)
        for start, end in zip(
            ended.cppl_cp_plan_start_date, ended.cppl_cp_plan_end_date, strict=True
        )
    ]
    emit("CP_2Y_PLUS_ENDED_PCT", ended, "cppl_cp_plan_end_date", pd.Series(lasted))

    # 3. caseloads (per FTE and per case-holding worker by head) and agency rate at each
    # month end (the as-at date for its month)
    inv = _dates(
        _read(export, "ssd_involvements", "invo_involvements_id"),
        "invo_involvement_start_date",
        "invo_involvement_end_date",
    )
    prof = _read(export, "ssd_professionals", "prof_professional_id")
    prof["fte"] = pd.to_numeric(prof.prof_full_time_equivalency, errors="coerce")
    prof["agency"] = prof.prof_agency_worker_flag.map(_flag)
    inv = inv[inv.invo_professional_role_id.str.upper() == "ALLOCATED CASE WORKER"]
    bad = (
        inv.invo_involvement_start_date__bad
        | inv.invo_involvement_end_date__bad
        | inv.invo_involvement_start_date.isna()
        | (inv.invo_involvement_end_date < inv.invo_involvement_start_date)
    )
    inv = inv[~bad].merge(
        prof[["prof_professional_id", "fte", "agency"]],
        left_on="invo_professional_id",
        right_on="prof_professional_id",
        how="left",
    )
    first = inv.invo_involvement_start_date.min()
    for period in pd.period_range(first, as_at_ts, freq="M"):
        day = min(period.end_time.normalize(), as_at_ts)
        on = inv[
            (inv.invo_involvement_start_date <= day)
            & (inv.invo_involvement_end_date.isna() | (inv.invo_involvement_end_date > day))
        ]
        workers = on.groupby("invo_professional_id").agg(
            children=("invo_person_id", "nunique"), fte=("fte", "first"), agency=("agency", "first")
        )
        holders = workers[workers.children > 0]  # headcount: every case-holding worker
        workers = workers[(workers.children > 0) & (workers.fte > 0)]
        month = period.to_timestamp()
        rows.append(
            ("CASELOAD_PER_WORKER", month, float(holders.children.sum()), float(len(holders)))
        )
        fte = float(workers.fte.sum())
        rows.append(("CASELOAD_PER_FTE", month, float(workers.children.sum()), fte))
        rows.append(("AGENCY_RATE", month, float(workers.fte[workers.agency.eq(True)].sum()), fte))

    # 4. audits by completion date; each figure excludes only the audits it cannot use:
    # grade figures need a known final grade (a moderated grade, when one was given,
    # else the first), the downgrade rate both grades, practice standards neither
    au = _dates(_read(export, "case_audits", "audit_id"), "audit_completed_date")
    au = au[au.audit_completed_date.notna() & (au.audit_completed_date <= as_at_ts)]
    au["first_grade"] = au.audit_grade.map(_grade)
    au["moderated"] = au.moderated_grade.map(_grade)
    au["final"] = au.moderated.where(au.moderated_grade.notna(), au.first_grade)
    graded = au[au.final.notna()]
    good = graded.final.isin(["OUTSTANDING", "GOOD"])
    emit("AUDIT_GOOD_PLUS_PCT", graded, "audit_completed_date", good)
    emit(
        "AUDIT_REQUIRES_IMPROVEMENT_PCT",
        graded,
        "audit_completed_date",
        graded.final == "REQUIRES_IMPROVEMENT",
    )
    emit("AUDIT_INADEQUATE_PCT", graded, "audit_completed_date", graded.final == "INADEQUATE")
    mod = au[au.moderated.notna() & au.first_grade.notna()]
    emit(
        "AUDIT_DOWNGRADE_PCT",
        mod,
        "audit_completed_date",
        mod.moderated.map(GRADE_RANK) > mod.first_grade.map(GRADE_RANK),
    )

    # practice standards: % met among audits answering Y or N
    for col in [c for c in au.columns if c.startswith("std_") and c.endswith("_met")]:
        answered = au[au[col].map(_flag).notna()]
        code = f"AUDIT_{col.removesuffix('_met').upper()}_PCT"
        emit(code, answered, "audit_completed_date", answered[col].map(_flag).eq(True))

    # 5a. re-referrals within 12 months; an earlier referral counts if its date is valid,
    # a referral with a date error (or no child) is out of the figure itself
    ref = _dates(
        _read(export, "ssd_cin_episodes", "cine_referral_id"),
        "cine_referral_date",
        "cine_close_date",
    )
    dated = ref[ref.cine_person_id.notna() & ref.cine_referral_date.notna()]
    dates_by_child = {
        k: v.cine_referral_date.to_numpy() for k, v in dated.groupby("cine_person_id")
    }
    ref = dated[
        ~dated.cine_close_date__bad
        & ~(dated.cine_close_date < dated.cine_referral_date)
        & (dated.cine_referral_date <= as_at_ts)
    ]
    again = []
    for child, day in zip(ref.cine_person_id, ref.cine_referral_date, strict=True):
        others = dates_by_child[child]
        low = np.datetime64(day - pd.DateOffset(months=12))
        again.append(bool(((others >= low) & (others < np.datetime64(day))).any()))
    emit("REREFERRAL_12M_PCT", ref, "cine_referral_date", pd.Series(again))

    # 5b. initial conferences within 15 working days of the S47 start (transfer-ins out)
    icpc = _dates(_read(export, "ssd_initial_cp_conference", "icpc_icpc_id"), "icpc_icpc_date")
    s47 = _dates(_read(export, "ssd_s47_enquiry", "s47e_s47_enquiry_id"), "s47e_s47_start_date")
    icpc = icpc.merge(
        s47[["s47e_s47_enquiry_id", "s47e_s47_start_date"]],
        left_on="icpc_s47_enquiry_id",
        right_on="s47e_s47_enquiry_id",
        how="left",
    )
    held = icpc[
        icpc.icpc_icpc_date.notna()
        & (icpc.icpc_icpc_date <= as_at_ts)
        & ~icpc.icpc_icpc_transfer_in.map(_flag).eq(True)
    ].copy()
    held["wd"] = wd.between(held.s47e_s47_start_date, held.icpc_icpc_date)
    held = held[held.wd.notna() & (held.wd >= 0)]
    emit("ICPC_15WD_PCT", held, "icpc_icpc_date", held.wd <= 15)

    return pd.DataFrame(rows, columns=["kpi_code", "month_start", "numerator", "denominator"])
