"""The contract tables as they stood on any day: built once, viewed per night.

Each table is held as its *final* text values plus, per row, the day it was entered
(`rec`) and the day it was deleted (`gone`), and per column either the day its value
became known (`reveal`: an authorisation date is blank until it is recorded) or an
earlier value shown until a given day (`earlier`: a correction, or a category that
changed). `TableHistory.as_at(day)` is then a handful of vectorised masks, which is
how a night's full extract is produced without re-simulating anything.

What changes between nights therefore matches real systems:
- new records appear on the day they are entered (some entered days after the event);
- open records close (end dates, outcomes and reasons appear when recorded);
- cases are re-allocated (an involvement ends, a new one starts the same day);
- about 1.5% of assessment authorisation dates and 1% of referral sources are first
  entered wrongly and corrected 1-30 days later; 10% of plans change category;
- a few records are entered in error and deleted 1-14 days later (2% of visits, 1% of
  audits and assessments: copies of a real record under a new id; a typical council
  has a few alive on any night). Only records that nothing references are ever
  deleted, so deletions never create orphans.
Which records are in the extract at all is fixed by the last export date: every child
with a referral open at some time in the `years` before it, with that child's whole
case history (see model._assemble), the staff those records name, and the audits of
the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from csc_pipeline import contract

from . import messy as mess
from .audits import STANDARDS, simulate_audits
from .extract import Extract
from .model import CaseHistory, pick
from .names import FORENAMES, SURNAMES, Council
from .workdays import FAR_DAY, NULL_DAY
from .workforce import AREAS, Workforce

ETHNICITY_WEIGHTS = {
    "WBRI": 64.0, "WIRI": 0.5, "WIRT": 0.5, "WOTH": 5.0, "WROM": 0.7, "MWBC": 2.5,
    "MWBA": 1.0, "MWAS": 1.2, "MOTH": 3.0, "AIND": 1.5, "APKN": 3.0, "ABAN": 1.2,
    "AOTH": 1.5, "BCRB": 1.0, "BAFR": 3.5, "BOTH": 1.0, "CHNE": 0.3, "OOTH": 2.5,
    "REFU": 1.0, "NOBT": 3.0,
}  # fmt: skip
assert set(ETHNICITY_WEIGHTS) == set(contract.ETHNICITY_CODES)

# Tables in an order where every referenced table comes before its referrers.
BUILD_ORDER = (
    "ssd_person", "ssd_department", "ssd_professionals", "ssd_cin_episodes",
    "ssd_involvements", "ssd_cin_assessments", "ssd_s47_enquiry",
    "ssd_initial_cp_conference", "ssd_cp_plans", "ssd_cp_visits", "ssd_cla_episodes",
    "case_audits",
)  # fmt: skip


@dataclass
class TableHistory:
    """One contract table over time (see module docstring)."""

    table: contract.Table
    values: dict[str, np.ndarray]
    rec: np.ndarray
    gone: np.ndarray | None = None
    reveal: dict[str, np.ndarray] = field(default_factory=dict)
    earlier: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.gone is None:
            self.gone = np.full(self.rec.size, FAR_DAY, dtype=np.int64)

    def as_at(self, day: int) -> Extract:
        """The table exactly as a full extract taken at the end of `day` holds it."""
        rows = np.flatnonzero((self.rec <= day) & (self.gone > day))
        cells: dict[str, np.ndarray] = {}
        for name in self.table.column_names:
            v = self.values[name][rows]
            if name in self.earlier:
                old, until = self.earlier[name]
                v = np.where(until[rows] > day, old[rows], v)
            if name in self.reveal:
                v = np.where(self.reveal[name][rows] <= day, v, "")
            cells[name] = v
        return Extract(self.table.name, list(self.table.column_names), cells)

    def entered_in_error(self, rng: np.random.Generator, rate: float, new_ids: np.ndarray) -> None:
        """Append copies of a few rows under new ids, deleted 1-14 days after entry."""
        n = self.rec.size
        picked = np.flatnonzero(rng.random(n) < rate)[: new_ids.size]
        if picked.size == 0:
            return
        pk = self.table.primary_key
        for name in list(self.values):
            extra = new_ids[: picked.size] if name == pk else self.values[name][picked]
            self.values[name] = np.concatenate([self.values[name], extra])
        for name, arr in self.reveal.items():
            self.reveal[name] = np.concatenate([arr, arr[picked]])
        for name, (old, until) in self.earlier.items():
            self.earlier[name] = (
                np.concatenate([old, old[picked]]),
                np.concatenate([until, until[picked]]),
            )
        assert self.gone is not None
        self.gone = np.concatenate([self.gone, self.rec[picked] + rng.integers(1, 15, picked.size)])
        self.rec = np.concatenate([self.rec, self.rec[picked]])


def _ids(rng: np.random.Generator, prefix: str, n: int, start: int) -> np.ndarray:
    """Increasing ids with small random gaps (ids in case systems are not dense)."""
    nums = start + np.cumsum(rng.integers(1, 4, n))
    return np.char.add(prefix, nums.astype(str)).astype(object)


def _text(values: np.ndarray) -> np.ndarray:
    """Object array of str with None/NaN as ""."""
    s = pd.Series(values, dtype=object)
    return s.where(s.notna(), "").astype(str).to_numpy(dtype=object)


def _lookup(ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """ids[positions], with "" where position is -1."""
    positions = np.asarray(positions, dtype=np.int64)
    out = ids[np.maximum(positions, 0)]
    return np.where(positions >= 0, out, "")


def build_tables(
    rng: np.random.Generator,
    mrng: np.random.Generator,
    council: Council,
    cases: CaseHistory,
    wf: Workforce,
    referrals_per_year: float,
    messy: float,
) -> dict[str, TableHistory]:
    """All contract tables for one council. `mrng` drives only the mess, so a clean
    and a messy run describe exactly the same history."""
    T = contract.TABLES_BY_NAME
    horizon, window_start = cases.horizon, cases.window_start
    audits = simulate_audits(rng, wf, window_start, horizon, referrals_per_year)
    out: dict[str, TableHistory] = {}

    # --- people -----------------------------------------------------------------------
    people = cases.people.sort_values(["rec", "child"], kind="stable", ignore_index=True)
    n = len(people)
    person_ids = _ids(
        rng, council.person_id_prefix, n, 1_000_000 if not council.person_id_prefix else 200_000
    )
    person_of_child = np.full(int(people["child"].max()) + 1, "", dtype=object)
    person_of_child[people["child"].to_numpy()] = person_ids
    style = mess.RowStyle.draw(mrng, n, messy)
    unborn = people["unborn"].to_numpy()
    sex = mess.sex_codes(mrng, people["sex"].to_numpy(), messy)
    sex_before_birth = np.where(np.isin(sex, ["1", "2"]), "0", "U")
    age_now = (horizon - people["dob"].to_numpy()) / 365.25
    upn = np.char.add(
        np.char.add("Z", council.la_code), rng.integers(10**8, 10**9, n).astype(str)
    ).astype(object)
    out["ssd_person"] = TableHistory(
        T["ssd_person"],
        {
            "pers_person_id": person_ids,
            "pers_forename": np.array(FORENAMES, dtype=object)[rng.integers(0, len(FORENAMES), n)],
            "pers_surname": np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)],
            "pers_sex": sex,
            "pers_ethnicity": pick(rng, ETHNICITY_WEIGHTS, n),
            "pers_dob": mess.dates(people["dob"].to_numpy(), style.date),
            "pers_expected_dob": mess.dates(people["expected_dob"].to_numpy(), style.date),
            "pers_death_date": np.full(n, "", dtype=object),
            "pers_common_child_id": np.where((age_now > 4) & (rng.random(n) < 0.6), upn, ""),
        },
        people["rec"].to_numpy(),
        reveal={"pers_dob": np.where(unborn, people["dob_rec"].to_numpy(), NULL_DAY)},
        earlier={
            "pers_sex": (sex_before_birth, np.where(unborn, people["dob_rec"].to_numpy(), NULL_DAY))
        },
    )

    # --- teams and staff ------------------------------------------------------------------
    teams = wf.teams
    team_ids = np.array([f"T{101 + i}" for i in range(len(teams))], dtype=object)
    out["ssd_department"] = TableHistory(
        T["ssd_department"],
        {
            "dept_team_id": team_ids,
            "dept_team_name": teams["name"].to_numpy(dtype=object),
            "dept_team_parent_id": teams["area"].to_numpy(dtype=object),
            "dept_team_parent_name": teams["area"]
            .map(lambda a: AREAS[a][0])
            .to_numpy(dtype=object),
        },
        np.full(len(teams), NULL_DAY, dtype=np.int64),
    )

    referrals = cases.referrals
    fd_posts = wf.posts.loc[wf.posts["kind"] == "FRONT_DOOR", "post_idx"].to_numpy()
    ref_worker = wf.worker_at(
        fd_posts[rng.integers(0, fd_posts.size, len(referrals))], referrals["ref"].to_numpy()
    )
    a = cases.assessments.sort_values(["start", "ref_idx"], kind="stable", ignore_index=True)
    a_worker, a_team = wf.holder_at(a["ref_idx"].to_numpy(), a["start"].to_numpy())
    s47 = cases.s47
    s_worker, s_team = wf.holder_at(
        s47["ref_idx"].to_numpy(), np.minimum(s47["end"].to_numpy(), horizon)
    )
    icpc = cases.icpc
    i_worker, i_team = wf.holder_at(
        icpc["ref_idx"].to_numpy(), np.minimum(icpc["date"].to_numpy(), horizon)
    )
    inv = wf.involvements

    workers = wf.workers
    referenced = np.unique(
        np.concatenate(
            [
                ref_worker,
                a_worker,
                s_worker,
                i_worker,
                inv["worker_idx"].to_numpy(),
                audits["case_worker"].to_numpy(),
                audits["auditor"].to_numpy(),
                audits["moderator"].to_numpy(),
            ]
        )  # fmt: skip
    )
    keep = (workers["leave"].to_numpy() >= window_start) | np.isin(
        workers["worker_idx"].to_numpy(), referenced
    )
    keep &= workers["rec"].to_numpy() <= horizon
    kept = workers[keep].sort_values(["join", "worker_idx"], kind="stable")
    m = len(kept)
    worker_ids_kept = _ids(rng, "W", m, 10_000)
    worker_id = np.full(len(workers), "", dtype=object)
    worker_id[kept["worker_idx"].to_numpy()] = worker_ids_kept
    worker_id = np.append(worker_id, "")  # position -1 -> ""
    style = mess.RowStyle.draw(mrng, m, messy)
    out["ssd_professionals"] = TableHistory(
        T["ssd_professionals"],
        {
            "prof_professional_id": worker_ids_kept,
            "prof_staff_id": np.char.add("E", rng.integers(100_000, 999_999, m).astype(str)).astype(
                object
            ),
            "prof_professional_name": kept["name"].to_numpy(dtype=object),
            "prof_social_worker_registration_no": np.where(
                kept["registered"].to_numpy(),
                np.char.add("SW", np.char.zfill(rng.integers(1, 999_999, m).astype(str), 6)).astype(
                    object
                ),
                "",
            ),
            "prof_professional_job_title": kept["title"].to_numpy(dtype=object),
            "prof_professional_department": team_ids[kept["team_idx"].to_numpy()],
            "prof_full_time_equivalency": np.char.mod("%.1f", kept["fte"].to_numpy()).astype(
                object
            ),
            "prof_agency_worker_flag": mess.flags(kept["agency"].to_numpy(), style.flag),
        },
        kept["rec"].to_numpy(),
    )

    # --- referrals (CIN episodes) ---------------------------------------------------------
    n = len(referrals)
    ref_ids = _ids(rng, "REF", n, 100_000)
    style = mess.RowStyle.draw(mrng, n, messy)
    persons = person_of_child[referrals["child"].to_numpy()]
    close_rec = referrals["close_rec"].to_numpy()
    out["ssd_cin_episodes"] = TableHistory(
        T["ssd_cin_episodes"],
        {
            "cine_referral_id": ref_ids,
            "cine_person_id": persons,
            "cine_referral_date": mess.dates(referrals["ref"].to_numpy(), style.date),
            "cine_cin_primary_need_code": referrals["need"].to_numpy(dtype=object),
            "cine_referral_source_code": referrals["source"].to_numpy(dtype=object),
            "cine_referral_nfa": mess.flags(referrals["nfa"].to_numpy(), style.flag),
            "cine_close_reason": referrals["close_reason"].to_numpy(dtype=object),
            "cine_close_date": mess.dates(referrals["close"].to_numpy(), style.date),
            "cine_referral_team": team_ids[workers["team_idx"].to_numpy()[ref_worker]],
            "cine_referral_worker_id": worker_id[ref_worker],
        },
        referrals["rec"].to_numpy(),
        reveal={"cine_close_reason": close_rec, "cine_close_date": close_rec},
        earlier={
            "cine_referral_source_code": (
                _text(referrals["source_old"].to_numpy()),
                referrals["source_fixed"].to_numpy(),
            )
        },
    )

    # --- involvements ---------------------------------------------------------------------
    n = len(inv)
    style = mess.RowStyle.draw(mrng, n, messy)
    end_rec = inv["end_rec"].to_numpy()
    out["ssd_involvements"] = TableHistory(
        T["ssd_involvements"],
        {
            "invo_involvements_id": _ids(rng, "INV", n, 1_000_000),
            "invo_professional_id": worker_id[inv["worker_idx"].to_numpy()],
            "invo_professional_role_id": inv["role"].to_numpy(dtype=object),
            "invo_professional_team": team_ids[inv["team_idx"].to_numpy()],
            "invo_involvement_start_date": mess.dates(inv["start"].to_numpy(), style.date),
            "invo_involvement_end_date": mess.dates(inv["end"].to_numpy(), style.date),
            "invo_worker_change_reason": _text(inv["reason"].to_numpy()),
            "invo_person_id": person_of_child[inv["child"].to_numpy()],
            "invo_referral_id": ref_ids[inv["ref_idx"].to_numpy()],
        },
        inv["rec"].to_numpy(),
        reveal={"invo_involvement_end_date": end_rec, "invo_worker_change_reason": end_rec},
    )

    # --- assessments ----------------------------------------------------------------------
    n = len(a)
    style = mess.RowStyle.draw(mrng, n, messy)
    auth_rec = a["auth_rec"].to_numpy()
    out["ssd_cin_assessments"] = TableHistory(
        T["ssd_cin_assessments"],
        {
            "cina_assessment_id": _ids(rng, "ASM", n, 500_000),
            "cina_person_id": person_of_child[a["child"].to_numpy()],
            "cina_referral_id": ref_ids[a["ref_idx"].to_numpy()],
            "cina_assessment_start_date": mess.dates(a["start"].to_numpy(), style.date),
            "cina_assessment_child_seen": mess.flags(a["seen"].to_numpy(), style.flag),
            "cina_assessment_auth_date": mess.dates(a["auth"].to_numpy(), style.date),
            "cina_assessment_outcome_nfa": mess.flags(a["nfa"].to_numpy(), style.flag),
            "cina_assessment_team": _lookup(team_ids, a_team),
            "cina_assessment_worker_id": worker_id[a_worker],
        },
        a["rec"].to_numpy(),
        reveal={
            "cina_assessment_child_seen": auth_rec,
            "cina_assessment_auth_date": auth_rec,
            "cina_assessment_outcome_nfa": auth_rec,
        },
        earlier={
            "cina_assessment_auth_date": (
                mess.dates(a["auth_old"].to_numpy(), style.date),
                a["auth_fixed"].to_numpy(),
            )
        },
    )

    # --- section 47 enquiries ------------------------------------------------------------
    n = len(s47)
    style = mess.RowStyle.draw(mrng, n, messy)
    s47_ids = _ids(rng, "S47", n, 300_000)
    s_end_rec = s47["end_rec"].to_numpy()
    out["ssd_s47_enquiry"] = TableHistory(
        T["ssd_s47_enquiry"],
        {
            "s47e_s47_enquiry_id": s47_ids,
            "s47e_referral_id": ref_ids[s47["ref_idx"].to_numpy()],
            "s47e_person_id": person_of_child[s47["child"].to_numpy()],
            "s47e_s47_start_date": mess.dates(s47["start"].to_numpy(), style.date),
            "s47e_s47_end_date": mess.dates(s47["end"].to_numpy(), style.date),
            "s47e_s47_nfa": mess.flags(s47["nfa"].to_numpy(), style.flag),
            "s47e_s47_completed_by_team": _lookup(team_ids, s_team),
            "s47e_s47_completed_by_worker_id": worker_id[s_worker],
        },
        s47["rec"].to_numpy(),
        reveal={"s47e_s47_end_date": s_end_rec, "s47e_s47_nfa": s_end_rec},
    )

    # --- plans (ids first: conferences point at them) --------------------------------------
    plans = cases.plans
    plan_ids = _ids(rng, "CPP", len(plans), 700_000)
    icpc_ids = _ids(rng, "ICPC", len(icpc), 40_000)
    plan_of_icpc = np.full(len(icpc), -1, dtype=np.int64)
    has_icpc = plans["icpc_idx"].to_numpy() >= 0
    plan_of_icpc[plans["icpc_idx"].to_numpy()[has_icpc]] = plans["plan_idx"].to_numpy()[has_icpc]
    plan_rec = plans["rec"].to_numpy()

    n = len(icpc)
    style = mess.RowStyle.draw(mrng, n, messy)
    held = icpc["held_rec"].to_numpy()
    out["ssd_initial_cp_conference"] = TableHistory(
        T["ssd_initial_cp_conference"],
        {
            "icpc_icpc_id": icpc_ids,
            "icpc_s47_enquiry_id": _lookup(s47_ids, icpc["s47_idx"].to_numpy()),
            "icpc_person_id": person_of_child[icpc["child"].to_numpy()],
            "icpc_cp_plan_id": _lookup(plan_ids, plan_of_icpc),
            "icpc_referral_id": ref_ids[icpc["ref_idx"].to_numpy()],
            "icpc_icpc_transfer_in": mess.flags(icpc["transfer_in"].to_numpy(), style.flag),
            "icpc_icpc_target_date": mess.dates(icpc["target"].to_numpy(), style.date),
            "icpc_icpc_date": mess.dates(icpc["date"].to_numpy(), style.date),
            "icpc_icpc_outcome_cp_flag": mess.flags(icpc["outcome"].to_numpy(), style.flag),
            "icpc_icpc_team": _lookup(team_ids, i_team),
            "icpc_icpc_worker_id": worker_id[i_worker],
        },
        icpc["rec"].to_numpy(),
        reveal={
            "icpc_icpc_date": held,
            "icpc_icpc_outcome_cp_flag": held,
            "icpc_cp_plan_id": np.where(
                plan_of_icpc >= 0, plan_rec[np.maximum(plan_of_icpc, 0)], NULL_DAY
            ),
        },
    )

    n = len(plans)
    style = mess.RowStyle.draw(mrng, n, messy)
    p_end_rec = plans["end_rec"].to_numpy()
    out["ssd_cp_plans"] = TableHistory(
        T["ssd_cp_plans"],
        {
            "cppl_cp_plan_id": plan_ids,
            "cppl_referral_id": ref_ids[plans["ref_idx"].to_numpy()],
            "cppl_icpc_id": _lookup(icpc_ids, plans["icpc_idx"].to_numpy()),
            "cppl_person_id": person_of_child[plans["child"].to_numpy()],
            "cppl_cp_plan_start_date": mess.dates(plans["start"].to_numpy(), style.date),
            "cppl_cp_plan_end_date": mess.dates(plans["end"].to_numpy(), style.date),
            "cppl_cp_plan_initial_category": plans["cat_initial"].to_numpy(dtype=object),
            "cppl_cp_plan_latest_category": plans["cat_latest"].to_numpy(dtype=object),
            "cppl_cp_plan_ola": mess.flags(plans["ola"].to_numpy(), style.flag),
        },
        plan_rec,
        reveal={"cppl_cp_plan_end_date": p_end_rec},
        earlier={
            "cppl_cp_plan_latest_category": (
                plans["cat_initial"].to_numpy(dtype=object),
                plans["cat_changed"].to_numpy(),
            )
        },
    )

    visits = cases.visits.sort_values(["date", "plan_idx"], kind="stable", ignore_index=True)
    n = len(visits)
    style = mess.RowStyle.draw(mrng, n, messy)
    out["ssd_cp_visits"] = TableHistory(
        T["ssd_cp_visits"],
        {
            "cppv_cp_visit_id": _ids(rng, "CPV", n, 2_000_000),
            "cppv_person_id": person_of_child[visits["child"].to_numpy()],
            "cppv_cp_plan_id": plan_ids[visits["plan_idx"].to_numpy()],
            "cppv_cp_visit_date": mess.dates(visits["date"].to_numpy(), style.date),
            "cppv_cp_visit_seen": mess.flags(visits["seen"].to_numpy(), style.flag),
            "cppv_cp_visit_seen_alone": mess.flags(visits["alone"].to_numpy(), style.flag),
        },
        visits["rec"].to_numpy(),
    )

    cla = cases.cla.sort_values(["start", "ref_idx"], kind="stable", ignore_index=True)
    n = len(cla)
    style = mess.RowStyle.draw(mrng, n, messy)
    c_end_rec = cla["end_rec"].to_numpy()
    out["ssd_cla_episodes"] = TableHistory(
        T["ssd_cla_episodes"],
        {
            "clae_cla_episode_id": _ids(rng, "CLA", n, 60_000),
            "clae_person_id": person_of_child[cla["child"].to_numpy()],
            "clae_cla_episode_start_date": mess.dates(cla["start"].to_numpy(), style.date),
            "clae_cla_episode_start_reason": cla["reason"].to_numpy(dtype=object),
            "clae_cla_primary_need_code": cla["need"].to_numpy(dtype=object),
            "clae_cla_episode_ceased_date": mess.dates(cla["end"].to_numpy(), style.date),
            "clae_cla_episode_ceased_reason": cla["ceased"].to_numpy(dtype=object),
            "clae_referral_id": ref_ids[cla["ref_idx"].to_numpy()],
        },
        cla["rec"].to_numpy(),
        reveal={
            "clae_cla_episode_ceased_date": c_end_rec,
            "clae_cla_episode_ceased_reason": c_end_rec,
        },
    )

    # --- audits ---------------------------------------------------------------------------
    n = len(audits)
    style = mess.RowStyle.draw(mrng, n, messy)
    early = audits["completed"].to_numpy() < window_start + 365
    legacy = (
        mrng.random(n)
        < np.where(early, mess.AUDIT_LEGACY_RATE_EARLY, mess.AUDIT_LEGACY_RATE) * messy
    )
    adequate = mrng.random(n) < 1 / 3
    mod_day = audits["mod_day"].to_numpy()
    values = {
        "audit_id": _ids(rng, "AUD", n, 10_000),
        "audit_person_id": person_of_child[audits["child"].to_numpy()],
        "audit_referral_id": ref_ids[audits["ref_idx"].to_numpy()],
        "audit_completed_date": mess.dates(audits["completed"].to_numpy(), style.date),
        "audit_type": audits["type"].to_numpy(dtype=object),
        "audit_theme": _text(audits["theme"].to_numpy()),
        "audit_team": team_ids[audits["team_idx"].to_numpy()],
        "audit_case_worker_id": worker_id[audits["case_worker"].to_numpy()],
        "auditor_id": worker_id[audits["auditor"].to_numpy()],
        "auditor_role": audits["auditor_role"].to_numpy(dtype=object),
        "audit_grade": mess.grades(audits["grade"].to_numpy(), legacy, adequate),
        "moderated_grade": mess.grades(audits["mod_grade"].to_numpy(), legacy, adequate),
        "moderation_date": mess.dates(mod_day, style.date),
        "moderator_id": np.where(mod_day < FAR_DAY, worker_id[audits["moderator"].to_numpy()], ""),
    }
    for std in STANDARDS:
        values[std] = mess.flags_na(audits[std].to_numpy(dtype=object), style.flag)
    out["case_audits"] = TableHistory(
        T["case_audits"],
        values,
        audits["rec"].to_numpy(),
        reveal={"moderated_grade": mod_day, "moderation_date": mod_day, "moderator_id": mod_day},
    )

    # --- records entered in error and deleted ------------------------------------------------
    for name, rate, prefix, start in (
        ("ssd_cp_visits", 0.02, "CPV", 9_000_000),
        ("case_audits", 0.01, "AUD", 900_000),
        ("ssd_cin_assessments", 0.01, "ASM", 9_000_000),
    ):
        size = out[name].rec.size
        out[name].entered_in_error(
            rng, rate, _ids(rng, prefix, max(1, int(size * rate * 3)), start)
        )

    _respect_references(out)
    return {name: out[name] for name in contract.TABLE_NAMES}


def _respect_references(tables: dict[str, TableHistory]) -> None:
    """No row (or revealed value) is on the system before the row it references.

    Events are entered with independent lags, so without this a visit could appear a
    night before its plan: that would be an orphan, and orphans are a *fault* kind.
    """
    for name in BUILD_ORDER:
        th = tables[name]
        for col in th.table.columns:
            if not col.references:
                continue
            parent_name, parent_col = col.references.split(".")
            parent = tables[parent_name]
            index = pd.Index(parent.values[parent_col])
            pos = index.get_indexer(th.values[col.name])
            parent_rec = np.where(pos >= 0, parent.rec[np.maximum(pos, 0)], NULL_DAY)
            if col.name in th.reveal:
                th.reveal[col.name] = np.maximum(th.reveal[col.name], parent_rec)
            else:
                th.rec = np.maximum(th.rec, parent_rec)
