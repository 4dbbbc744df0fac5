"""Monthly case-file audits and their moderation (case_audits).

Quality assurance teams audit a sample of open cases every month. First auditors
(mostly team managers) grade a case; a subset is then moderated by a quality
assurance manager, head of service or assistant director, who agrees, or more often
than not for a council under improvement, grades it worse: the AUDIT_DOWNGRADE_PCT
indicator exists to show that first auditors are over-optimistic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csc_pipeline import contract

from . import calibration as cal
from .model import pick
from .workdays import FAR_DAY
from .workforce import Workforce

AUDITOR_WEIGHTS = {
    "TEAM_MANAGER": 55.0, "GROUP_MANAGER": 15.0, "ADVANCED_PRACTITIONER": 10.0,
    "QA_MANAGER": 12.0, "HEAD_OF_SERVICE": 5.0, "ASSISTANT_DIRECTOR": 2.0, "INDEPENDENT": 1.0,
}  # fmt: skip
AUDIT_TYPE_WEIGHTS = {"ROUTINE": 60.0, "THEMATIC": 20.0, "MULTI_AGENCY": 10.0, "DIP_SAMPLE": 10.0}
THEMES = (
    "Section 20", "Supervision and decision making", "Neglect", "Pre-birth assessment",
    "Contextual safeguarding", "Missing from home", "Children with disabilities", "Domestic abuse",
)  # fmt: skip
STANDARDS = (
    "std_timescales_met", "std_management_oversight_met", "std_voice_of_child_met",
    "std_analysis_met", "std_recording_met",
)  # fmt: skip
# P(standard met) by first grade OUTSTANDING, GOOD, RI, INADEQUATE.
MET_BY_GRADE = np.array([0.95, 0.85, 0.55, 0.25])


def _month_starts(first: int, last: int) -> np.ndarray:
    first_m = np.datetime64(int(first), "D").astype("datetime64[M]")
    last_m = np.datetime64(int(last), "D").astype("datetime64[M]")
    months = np.arange(first_m, last_m + 1)
    return months.astype("datetime64[D]").astype(np.int64)


def simulate_audits(
    rng: np.random.Generator,
    wf: Workforce,
    window_start: int,
    horizon: int,
    referrals_per_year: float,
) -> pd.DataFrame:
    """Audits completed from the window start to the horizon, one row per audit.

    Grades are ints 0-3 (OUTSTANDING..INADEQUATE); moderated_grade -1 = not moderated.
    """
    scale = referrals_per_year / cal.TYPICAL_REFERRALS_PER_YEAR
    inv = wf.involvements[wf.involvements["role"] == contract.CASE_HOLDER_ROLE]
    i_start, i_end = inv["start"].to_numpy(), inv["end"].to_numpy()
    months = _month_starts(window_start, horizon)
    bounds = np.r_[months, months[-1] + 31]
    chosen, days = [], []
    for k, m0 in enumerate(months):
        m1 = min(int(bounds[k + 1]) - 1, horizon)
        lo = max(int(m0), window_start)
        if m1 < lo:
            continue
        cand = np.flatnonzero((i_start <= m1) & (i_end > lo))
        n = int(round(rng.integers(cal.AUDITS_PER_MONTH[0], cal.AUDITS_PER_MONTH[1] + 1) * scale))
        n = min(max(n, 1), cand.size)
        pick_rows = rng.choice(cand, size=n, replace=False)
        a = np.maximum(i_start[pick_rows], lo)
        b = np.minimum(np.minimum(i_end[pick_rows], FAR_DAY) - 1, m1)
        chosen.append(pick_rows)
        days.append(a + (rng.random(n) * (b - a + 1)).astype(np.int64))
    rows = np.concatenate(chosen)
    completed = np.concatenate(days)
    order = np.argsort(completed, kind="stable")
    rows, completed = rows[order], completed[order]
    n = rows.size
    src = inv.iloc[rows]

    role = pick(rng, AUDITOR_WEIGHTS, n)
    team = src["team_idx"].to_numpy()
    teams = wf.teams.set_index("team_idx")
    area = teams.loc[team, "area"].to_numpy()
    posts = wf.posts.merge(wf.teams[["team_idx", "area"]], on="team_idx")
    post_of_team_tm = posts[posts["kind"] == "TEAM_MANAGER"].set_index("team_idx")["post_idx"]
    post_of_area = {
        kind: posts[posts["kind"] == kind].drop_duplicates("area").set_index("area")["post_idx"]
        for kind in ("GROUP_MANAGER", "HEAD_OF_SERVICE")
    }

    def one_of(kind: str, size: int) -> np.ndarray:
        cand = posts.loc[posts["kind"] == kind, "post_idx"].to_numpy()
        return cand[rng.integers(0, cand.size, size)]

    auditor_post = np.select(
        [role == "TEAM_MANAGER", role == "GROUP_MANAGER", role == "HEAD_OF_SERVICE"],
        [
            post_of_team_tm.loc[team].to_numpy(),
            post_of_area["GROUP_MANAGER"].loc[area].to_numpy(),
            post_of_area["HEAD_OF_SERVICE"].loc[area].to_numpy(),
        ],
        default=np.select(
            [role == "QA_MANAGER", role == "ASSISTANT_DIRECTOR"],
            [one_of("QA_MANAGER", n), one_of("ASSISTANT_DIRECTOR", n)],
            default=one_of("ADVANCED_PRACTITIONER", n),
        ),
    )
    auditor = wf.worker_at(auditor_post, completed)

    shares = np.array(cal.AUDIT_GRADE_SHARES)
    grade = rng.choice(4, size=n, p=shares / shares.sum())
    moderated = rng.random(n) < cal.MODERATED_SHARE
    # Downgrade/upgrade probabilities among grades that can move, so that overall about
    # DOWNGRADED_OF_MODERATED of moderated audits are downgraded.
    p_down = cal.DOWNGRADED_OF_MODERATED / (1 - shares[3] / shares.sum())
    p_up = cal.UPGRADED_OF_MODERATED / (1 - shares[0] / shares.sum())
    u = rng.random(n)
    down = moderated & (grade < 3) & (u < p_down)
    up = moderated & ~down & (grade > 0) & (u > 1 - p_up)
    steps = np.where(rng.random(n) < 0.85, 1, 2)
    mod_grade = np.where(down, np.minimum(grade + steps, 3), np.where(up, grade - 1, grade))
    mod_grade = np.where(moderated, mod_grade, -1)
    mod_role = np.where(
        role == "QA_MANAGER",
        np.where(rng.random(n) < 0.7, "HEAD_OF_SERVICE", "ASSISTANT_DIRECTOR"),
        pick(rng, {"QA_MANAGER": 70.0, "HEAD_OF_SERVICE": 20.0, "ASSISTANT_DIRECTOR": 10.0}, n),
    )
    mod_post = np.select(
        [mod_role == "QA_MANAGER", mod_role == "ASSISTANT_DIRECTOR"],
        [one_of("QA_MANAGER", n), one_of("ASSISTANT_DIRECTOR", n)],
        default=post_of_area["HEAD_OF_SERVICE"].loc[area].to_numpy(),
    )
    mod_day = completed + rng.integers(3, 41, n)
    moderator = wf.worker_at(mod_post, mod_day)

    audit_type = pick(rng, AUDIT_TYPE_WEIGHTS, n)
    theme = np.where(
        audit_type == "THEMATIC",
        np.array(THEMES, dtype=object)[rng.integers(0, len(THEMES), n)],
        None,
    )
    out = pd.DataFrame(
        {
            "ref_idx": src["ref_idx"].to_numpy(),
            "child": src["child"].to_numpy(),
            "completed": completed,
            "rec": completed + np.where(rng.random(n) < 0.8, 0, rng.integers(1, 6, n)),
            "type": audit_type,
            "theme": theme,
            "team_idx": team,
            "case_worker": src["worker_idx"].to_numpy(),
            "auditor": auditor,
            "auditor_role": role,
            "grade": grade,
            "mod_grade": mod_grade,
            "mod_day": np.where(moderated, mod_day, FAR_DAY),
            "moderator": moderator,
        }
    )
    for std in STANDARDS:
        met = rng.random(n) < MET_BY_GRADE[np.where(moderated, mod_grade, grade)]
        out[std] = np.where(rng.random(n) < 0.08, "NA", np.where(met, "Y", "N"))
    return out
