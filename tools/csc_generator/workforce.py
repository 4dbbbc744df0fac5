"""Teams, staff and who held which child's case when (ssd_involvements).

The workforce is sized from the simulated cases, not the other way round: each
service area gets enough case-holding FTE for its average number of open cases at
the target caseload, so caseloads come out at the published level for any council
size. Each *post* has a weight (some practitioners carry far more than others) and a
succession of workers: when a worker leaves, their allocations end that day with
reason LEFTRL and the post's next worker picks them up the same day, which is what
real re-allocations look like in an involvements table.

Cases are given to posts with numpy and split at worker changes with a sorted-key
`searchsorted`, so hundreds of thousands of allocations cost well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csc_pipeline import contract

from . import calibration as cal
from .model import ASSESS, IN_CARE, SAFEGUARD, CaseHistory, pick
from .names import FORENAMES, SURNAMES
from .workdays import FAR_DAY

# Service areas: (id, name, team name stem)
AREAS = {
    "FD": ("Front Door", "MASH and Front Door Team"),
    "AS": ("Assessment", "Assessment Team"),
    "SG": ("Safeguarding", "Safeguarding and Family Support Team"),
    "CIC": ("Children in Care", "Children in Care Team"),
    "CL": ("Care Leavers", "Leaving Care Team"),
    "QA": ("Quality Assurance", "Independent Reviewing Service"),
}
STAGE_AREA = {ASSESS: "AS", SAFEGUARD: "SG", IN_CARE: "CIC"}
CASE_HOLDER_TITLES = {
    "Social Worker": 40.0,
    "Senior Social Worker": 20.0,
    "Senior Practitioner": 22.0,
    "Social Worker (ASYE)": 12.0,
    "Advanced Practitioner": 6.0,
}
REALLOCATION_REASONS = {
    "MANAGE": 40.0, "ABSENC": 14.0, "CHCHAN": 10.0, "PCCHAN": 10.0, "ORGRST": 10.0,
    "FCONTA": 6.0, "OTHERS": 10.0,
}  # fmt: skip
POSTS_PER_TEAM = 8


@dataclass
class Workforce:
    """Teams, workers (one row per person in post) and involvements."""

    teams: pd.DataFrame  # team_idx, team_id, name, area
    workers: pd.DataFrame  # worker_idx, post_idx, team_idx, title, fte, agency, join, leave, rec
    # involvements: ref_idx, child, worker_idx, team_idx, role, start, end, reason, rec
    involvements: pd.DataFrame
    posts: pd.DataFrame  # post_idx, team_idx, kind, fte, agency, weight
    tenure_keys: np.ndarray  # post_idx * KEY + tenure start, sorted

    KEY = np.int64(10_000_000)

    def worker_at(self, post_idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The worker in each post on each day (row positions in `workers`)."""
        keys = post_idx.astype(np.int64) * self.KEY + day
        return np.searchsorted(self.tenure_keys, keys, side="right") - 1

    def holder_at(self, ref_idx: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(worker_idx, team_idx) holding each referral's case on each day.

        Takes the allocation current on the day, else the nearest one after it (a
        conference before the case was allocated is attributed to the first holder).
        Returns -1 where the referral never had a case holder.
        """
        inv = self.involvements
        inv = inv[inv["role"] == contract.CASE_HOLDER_ROLE][
            ["ref_idx", "start", "worker_idx", "team_idx"]
        ]
        inv = inv.sort_values("start", kind="stable")
        q = pd.DataFrame({"ref_idx": ref_idx, "day": day, "pos": np.arange(len(ref_idx))})
        q = q.sort_values("day", kind="stable")
        out = np.full((2, len(ref_idx)), -1, dtype=np.int64)
        for direction in ("forward", "backward"):
            hit = pd.merge_asof(
                q, inv, left_on="day", right_on="start", by="ref_idx", direction=direction
            )
            ok = hit["worker_idx"].notna().to_numpy()
            pos = hit["pos"].to_numpy()[ok]
            out[0, pos] = hit["worker_idx"].to_numpy()[ok].astype(np.int64)
            out[1, pos] = hit["team_idx"].to_numpy()[ok].astype(np.int64)
        return out[0], out[1]


def _stock(starts: np.ndarray, ends: np.ndarray, days: np.ndarray) -> float:
    """Average number of periods open on the given days."""
    opened = np.searchsorted(np.sort(starts), days, side="right")
    closed = np.searchsorted(np.sort(ends), days, side="right")
    return float(np.mean(opened - closed))


def build_workforce(
    rng: np.random.Generator, cases: CaseHistory, referrals_per_year: float
) -> Workforce:
    """Size the teams from the case stock, staff the posts over time, allocate cases."""
    scale = referrals_per_year / cal.TYPICAL_REFERRALS_PER_YEAR
    sample_days = np.arange(cases.window_start, cases.horizon + 1, 30)
    stages, others = cases.stages, cases.other_roles

    # Posts: (area, kind, fte needed); case-holding areas sized on the target caseload.
    need: list[tuple[str, str, float]] = []
    for stage, area in STAGE_AREA.items():
        s = stages[stages["area"] == stage]
        stock = _stock(s["start"].to_numpy(), s["end"].to_numpy(), sample_days)
        need.append((area, "CASE_HOLDER", stock / cal.TARGET_CASELOAD_PER_FTE))
    for role, area, per in (
        ("IRO", "QA", cal.CASES_PER_IRO),
        ("PERSONAL ADVISOR", "CL", cal.CASES_PER_PA),
    ):
        o = others[others["role"] == role]
        need.append(
            (area, role, _stock(o["start"].to_numpy(), o["end"].to_numpy(), sample_days) / per)
        )
    need.append(("FD", "FRONT_DOOR", max(2.0, referrals_per_year / 320)))
    need.append(("QA", "QA_MANAGER", max(1.0, 3 * scale)))
    need.append(("QA", "ADVANCED_PRACTITIONER", max(1.0, 2 * scale)))

    team_rows: list[tuple[str, str]] = []  # (area, name)

    def team(area: str, name: str) -> int:
        if (area, name) not in team_rows:
            team_rows.append((area, name))
        return team_rows.index((area, name))

    post_rows: list[tuple[int, str, float, bool, float]] = []
    for area, kind, fte_needed in need:
        fte, agency = _post_fte(rng, kind, fte_needed)
        stem = AREAS[area][1]
        if kind in ("QA_MANAGER", "ADVANCED_PRACTITIONER"):
            team_ids = [team(area, "Quality Assurance Team")]
        elif kind == "IRO":
            team_ids = [team(area, stem)]
        else:  # case holders, front door, personal advisers: teams of about 8
            n_teams = max(1, round(len(fte) / POSTS_PER_TEAM))
            names = [f"{stem} {k + 1}" for k in range(n_teams)] if n_teams > 1 else [stem]
            team_ids = [team(area, name) for name in names]
        # Some practitioners carry far more than others (and a few are overloaded), but
        # nobody near the 50-per-FTE line the DfE treats as a data error.
        weight = np.exp(rng.normal(0.0, 0.3, fte.size)) * np.where(
            rng.random(fte.size) < 0.08, 1.45, 1.0
        )
        weight = np.clip(weight, 0.5, 1.8)
        for j in range(fte.size):
            post_rows.append(
                (
                    team_ids[j % len(team_ids)],
                    kind,
                    float(fte[j]),
                    bool(agency[j]),
                    float(weight[j]),
                )
            )

    teams = pd.DataFrame(team_rows, columns=["area", "name"])
    teams["team_idx"] = np.arange(len(teams))
    # Managers: one team manager per team, one group manager and head of service per area.
    for t in teams.itertuples():
        post_rows.append((t.team_idx, "TEAM_MANAGER", 1.0, False, 0.0))
    for area in teams["area"].unique():
        first = int(teams.loc[teams["area"] == area, "team_idx"].iloc[0])
        post_rows.append((first, "GROUP_MANAGER", 1.0, False, 0.0))
        post_rows.append((first, "HEAD_OF_SERVICE", 1.0, False, 0.0))
    qa_team = int(teams.loc[teams["name"] == "Quality Assurance Team", "team_idx"].iloc[0])
    post_rows.append((qa_team, "ASSISTANT_DIRECTOR", 1.0, False, 0.0))
    posts = pd.DataFrame(post_rows, columns=["team_idx", "kind", "fte", "agency", "weight"])
    posts["post_idx"] = np.arange(len(posts))

    earliest = int(min(stages["start"].min(), others["start"].min())) - 60
    workers = _staff_posts(rng, posts, earliest, cases.horizon)
    tenure_keys = workers["post_idx"].to_numpy() * Workforce.KEY + workers["join"].to_numpy()
    wf = Workforce(teams, workers, pd.DataFrame(), posts, tenure_keys)

    periods = _reallocate(rng, stages)
    periods["role"] = contract.CASE_HOLDER_ROLE
    periods["area"] = periods["area"].map(STAGE_AREA)
    periods["kind"] = "CASE_HOLDER"
    others = others.assign(
        area=np.where(others["role"] == "IRO", "QA", "CL"),
        kind=others["role"],
        reason_end=None,
    )
    periods = pd.concat([periods, others], ignore_index=True)
    periods["post_idx"] = _assign_posts(rng, wf, periods)
    wf.involvements = _split_at_worker_changes(wf, periods, cases.horizon)
    return wf


def _post_fte(
    rng: np.random.Generator, kind: str, fte_needed: float
) -> tuple[np.ndarray, np.ndarray]:
    """FTE and agency flag of just enough posts to provide `fte_needed` FTE.

    Agency posts are evenly spaced along the list (random phase), so any prefix of it,
    and hence the final set, has the agency share almost exactly.
    """
    n = max(1, int(np.ceil(fte_needed / 0.9 * 1.3)) + 2)
    if kind == "CASE_HOLDER":
        phase = rng.random()
        i = np.arange(n)
        agency = np.floor((i + 1) * cal.AGENCY_POST_SHARE + phase) > np.floor(
            i * cal.AGENCY_POST_SHARE + phase
        )
    else:
        agency = np.zeros(n, dtype=bool)
    perm_v, perm_p = zip(*cal.PERMANENT_FTE, strict=True)
    ag_v, ag_p = zip(*cal.AGENCY_FTE, strict=True)
    fte = np.where(
        agency,
        rng.choice(ag_v, size=n, p=np.array(ag_p) / sum(ag_p)),
        rng.choice(perm_v, size=n, p=np.array(perm_p) / sum(perm_p)),
    )
    if kind != "CASE_HOLDER":
        fte = np.where(rng.random(n) < 0.85, 1.0, fte)
    keep = max(1, int(np.searchsorted(np.cumsum(fte), fte_needed - 1e-9) + 1))
    return fte[:keep], agency[:keep]


def _staff_posts(
    rng: np.random.Generator, posts: pd.DataFrame, earliest: int, horizon: int
) -> pd.DataFrame:
    """A succession of workers in every post from `earliest` until after the horizon."""
    n = len(posts)
    agency = posts["agency"].to_numpy()
    managers = (
        ~posts["kind"].isin(["CASE_HOLDER", "FRONT_DOOR", "IRO", "PERSONAL ADVISOR"]).to_numpy()
    )
    mean = np.where(agency, cal.AGENCY_TENURE_DAYS, cal.PERMANENT_TENURE_DAYS)
    start = earliest - (rng.random(n) * mean).astype(np.int64)
    rows_post, rows_start, rows_end = [], [], []
    active = np.arange(n)
    current = start
    while active.size:
        length = np.maximum(
            np.where(agency[active], 45, 120),
            rng.exponential(mean[active]).astype(np.int64),
        )
        length = np.where(managers[active], length * 2, length)
        end = current + length
        rows_post.append(active)
        rows_start.append(current)
        rows_end.append(end)
        more = end <= horizon + 400
        active, current = active[more], end[more]
    workers = pd.DataFrame(
        {
            "post_idx": np.concatenate(rows_post),
            "join": np.concatenate(rows_start),
            "leave": np.concatenate(rows_end),
        }
    ).sort_values(["post_idx", "join"], kind="stable", ignore_index=True)
    p = posts.set_index("post_idx").loc[workers["post_idx"]]
    workers["team_idx"] = p["team_idx"].to_numpy()
    workers["kind"] = p["kind"].to_numpy()
    workers["fte"] = p["fte"].to_numpy()
    workers["agency"] = p["agency"].to_numpy()
    m = len(workers)
    title = pick(rng, CASE_HOLDER_TITLES, m)
    titles = {
        "FRONT_DOOR": "Social Worker",
        "IRO": "Independent Reviewing Officer",
        "PERSONAL ADVISOR": "Personal Adviser",
        "TEAM_MANAGER": "Team Manager",
        "GROUP_MANAGER": "Group Manager",
        "HEAD_OF_SERVICE": "Head of Service",
        "QA_MANAGER": "Quality Assurance Manager",
        "ADVANCED_PRACTITIONER": "Advanced Practitioner",
        "ASSISTANT_DIRECTOR": "Assistant Director",
    }
    workers["title"] = workers["kind"].map(titles).fillna(pd.Series(title, index=workers.index))
    workers["registered"] = workers["kind"] != "PERSONAL ADVISOR"
    workers["rec"] = workers["join"] - rng.integers(0, 15, m)
    workers["name"] = (
        np.array(FORENAMES, dtype=object)[rng.integers(0, len(FORENAMES), m)]
        + " "
        + np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), m)]
    )
    workers["worker_idx"] = np.arange(m)
    return workers


def _reallocate(rng: np.random.Generator, stages: pd.DataFrame) -> pd.DataFrame:
    """Split some long allocations in two: a manager moves the case to another worker."""
    s = stages[["ref_idx", "child", "area", "start", "end", "rec", "end_reason"]].copy()
    length = (np.minimum(s["end"], FAR_DAY) - s["start"]).to_numpy()
    split = (length > 120) & (rng.random(len(s)) < np.minimum(0.5, length / 730 * 0.35))
    at = s["start"].to_numpy() + (rng.random(len(s)) * 0.8 + 0.1) * np.minimum(length, 3 * 365)
    at = at.astype(np.int64)
    first = s.copy()
    first["reason_end"] = first["end_reason"]
    first.loc[split, "end"] = at[split]
    first.loc[split, "reason_end"] = pick(rng, REALLOCATION_REASONS, int(split.sum()))
    second = s[split].copy()
    second["start"] = at[split]
    second["rec"] = np.maximum(second["rec"], second["start"])
    second["reason_end"] = second["end_reason"]
    out = pd.concat([first, second], ignore_index=True).drop(columns=["end_reason"])
    return out


def _assign_posts(rng: np.random.Generator, wf: Workforce, periods: pd.DataFrame) -> np.ndarray:
    """A post for each period, drawn within its area with probability ~ FTE x weight."""
    out = np.full(len(periods), -1, dtype=np.int64)
    posts = wf.posts.merge(wf.teams[["team_idx", "area"]], on="team_idx")
    for (area, kind), idx in periods.groupby(["area", "kind"]).indices.items():
        cand = posts[(posts["area"] == area) & (posts["kind"] == kind)]
        w = (cand["fte"] * np.where(kind == "CASE_HOLDER", cand["weight"], 1.0)).to_numpy()
        out[idx] = cand["post_idx"].to_numpy()[rng.choice(len(cand), size=len(idx), p=w / w.sum())]
    return out


def _split_at_worker_changes(wf: Workforce, periods: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """One involvement per (period, worker in the post during it)."""
    start = periods["start"].to_numpy()
    end = periods["end"].to_numpy()
    last_day = np.minimum(end, horizon + 1) - 1
    post = periods["post_idx"].to_numpy()
    w0 = wf.worker_at(post, start)
    w1 = np.maximum(wf.worker_at(post, np.maximum(last_day, start)), w0)
    pieces = w1 - w0 + 1
    row = np.repeat(np.arange(len(periods)), pieces)
    worker = np.repeat(w0, pieces) + (
        np.arange(row.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    )
    join = wf.workers["join"].to_numpy()[worker]
    leave = wf.workers["leave"].to_numpy()[worker]
    p_start = np.maximum(start[row], join)
    p_end = np.minimum(end[row], leave)
    left = p_end < end[row]
    reason = np.where(left, "LEFTRL", periods["reason_end"].to_numpy()[row])
    inv = pd.DataFrame(
        {
            "ref_idx": periods["ref_idx"].to_numpy()[row],
            "child": periods["child"].to_numpy()[row],
            "worker_idx": worker,
            "team_idx": wf.workers["team_idx"].to_numpy()[worker],
            "role": periods["role"].to_numpy()[row],
            "start": p_start,
            "end": np.where(p_end > horizon, FAR_DAY, p_end),
            "reason": reason,
            "rec": np.maximum(periods["rec"].to_numpy()[row], p_start),
        }
    )
    inv["end_rec"] = np.where(inv["end"] >= FAR_DAY, FAR_DAY, inv["end"])
    inv = inv[inv["end"] > inv["start"]]
    inv = inv.sort_values(["start", "ref_idx"], kind="stable", ignore_index=True)
    return inv
