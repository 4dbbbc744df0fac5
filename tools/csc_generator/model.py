"""Simulation of a council's case history, from referral to closure.

The whole timeline is simulated once, up to the last export date, and every event
carries the day it was *recorded* as well as the day it happened. The nightly exports
are then views of this one history as known on each export date (see history.py),
which is what makes successive nights evolve like real extracts: an assessment open
on Monday is authorised on Wednesday because its authorisation was recorded on
Wednesday, not because anything was re-simulated.

Children arrive as new referrals (a Poisson stream); after each episode closes a child
may be referred again (a "chain"), which is what produces re-referrals and second
plans. Each referral follows a pathway (NFA at referral; assessment; section 47;
conference; plan; care) drawn with vectorised numpy over all chains at the same
position, so a chain of length k costs k numpy passes, not k Python loops per child.
The simulation starts a whole childhood (18 years) before the history window, so that
the stock of children in care and the chains of re-referral are steady by the time the
window opens: numpy makes those extra years cost well under a second.

All dates are int64 day numbers (see workdays.py); FAR_DAY means "after the horizon".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csc_pipeline import contract

from . import calibration as cal
from .workdays import FAR_DAY, NULL_DAY, WorkCalendar

YEAR = 365.25

# Allocation stages: which service area holds a child's case.
ASSESS, SAFEGUARD, IN_CARE = 1, 2, 3

CIN_NEED_WEIGHTS = {
    "N0": 1.0, "N1": 56.0, "N2": 3.5, "N3": 2.5, "N4": 9.0, "N5": 15.0, "N6": 2.0,
    "N7": 0.3, "N8": 4.0, "N9": 6.7,
}  # fmt: skip
SOURCE_WEIGHTS = {
    "1A": 3.0, "1B": 1.0, "1C": 2.0, "1D": 1.5, "2A": 19.0, "2B": 1.0, "3A": 2.5,
    "3B": 2.0, "3C": 0.5, "3D": 2.0, "3E": 3.0, "3F": 5.0, "4": 2.0, "5A": 5.0,
    "5B": 2.0, "5C": 2.0, "5D": 3.5, "6": 29.0, "7": 2.0, "8": 8.0, "9": 1.0, "10": 2.0,
}  # fmt: skip
CP_CATEGORY_WEIGHTS = {"NEG": 50.0, "EMO": 36.0, "PHY": 7.0, "SAB": 3.5, "MUL": 3.5}
CLA_START_WEIGHTS = {"S": 80.0, "L": 8.0, "P": 5.0, "T": 4.0, "U": 2.0, "B": 1.0}
CLA_NEED_WEIGHTS = {
    "N1": 65.0, "N2": 3.0, "N3": 3.0, "N4": 8.0, "N5": 13.0, "N6": 1.5, "N7": 0.5, "N8": 6.0
}  # fmt: skip
# Why a period of care ended, before 18 and at 18.
CEASED_WEIGHTS = {
    "E4A": 34.0, "E4B": 5.0, "E11": 10.0, "E12": 1.0, "E45": 10.0, "E46": 3.0, "E41": 8.0,
    "E3": 3.0, "E8": 10.0, "E9": 2.0, "E14": 3.0, "E7": 1.0, "E47": 2.0, "E48": 2.0,
    "E16": 1.0, "E15": 1.0, "E13": 2.0, "E5": 2.0,
}  # fmt: skip
CEASED_AT_18_WEIGHTS = {"E17": 30.0, "E5": 25.0, "E6": 10.0, "E13": 20.0, "E8": 15.0}
CEASED_TO_CLOSE_REASON = {
    "E11": "RC1",
    "E12": "RC1",
    "E41": "RC3",
    "E45": "RC4",
    "E46": "RC4",
    "E3": "RC5",
}
LEAVES_TO_PERSONAL_ADVISOR = ("E17", "E5", "E6", "E13")

assert set(CIN_NEED_WEIGHTS) == set(contract.CIN_NEED_CODES)
assert set(SOURCE_WEIGHTS) == set(contract.REFERRAL_SOURCES)
assert set(CEASED_WEIGHTS) | set(CEASED_AT_18_WEIGHTS) <= set(contract.CLA_CEASED_REASONS)


def pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    """n codes drawn with the given relative weights (an object array of str)."""
    codes = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()), dtype=float)
    return codes[rng.choice(len(codes), size=n, p=p / p.sum())]


def banded(
    rng: np.random.Generator, bands: tuple[tuple[int, int, float], ...], n: int
) -> np.ndarray:
    """Integers drawn band by band: band chosen by share, then inside the band.

    Inside a band values lean towards its upper end (u ** 0.78), as work does towards a
    deadline; with the DfE assessment bands this gives the published median (33).
    """
    shares = np.array([b[2] for b in bands])
    band = rng.choice(len(bands), size=n, p=shares / shares.sum())
    low = np.array([b[0] for b in bands])[band]
    high = np.array([b[1] for b in bands])[band]
    return low + np.floor(rng.random(n) ** 0.78 * (high - low + 1)).astype(np.int64)


def record_lag(
    rng: np.random.Generator, n: int, late: float = 0.12, very_late: float = 0.03
) -> np.ndarray:
    """Days between an event and its entry on the system: mostly same day, some back-dated."""
    u = rng.random(n)
    lag = np.zeros(n, dtype=np.int64)
    lag[u < late + very_late] = rng.integers(1, 4, n)[u < late + very_late]
    lag[u < very_late] = rng.integers(4, 21, n)[u < very_late]
    return lag


@dataclass
class CaseHistory:
    """Every case record of one council, with event and recording days.

    Frames hold int64 day numbers (NULL_DAY = no such date, FAR_DAY = not within the
    horizon) and `*_rec` columns: the day from which the value is on the system.
    """

    people: pd.DataFrame
    referrals: pd.DataFrame
    assessments: pd.DataFrame
    s47: pd.DataFrame
    icpc: pd.DataFrame
    plans: pd.DataFrame
    visits: pd.DataFrame
    cla: pd.DataFrame
    stages: pd.DataFrame  # allocation periods of case holders (area, start, end)
    other_roles: pd.DataFrame  # IRO and personal adviser periods
    window_start: int
    horizon: int


class _Episodes:
    """Vectorised pathway of n referrals (one per chain at the same chain position)."""

    def __init__(
        self,
        rng: np.random.Generator,
        wc: WorkCalendar,
        ref: np.ndarray,
        dob: np.ndarray,
        prior_plan: np.ndarray,
    ) -> None:
        n = ref.size
        self.n = n
        self.ref = ref
        r = rng.random

        self.nfa = r(n) < cal.NFA_AT_REFERRAL
        cont = ~self.nfa
        self.need = pick(rng, CIN_NEED_WEIGHTS, n)
        self.source = pick(rng, SOURCE_WEIGHTS, n)
        ref_wd = wc.roll_forward(ref)

        # Assessment: starts within a week, lasts per the DfE duration bands.
        self.a1_start = np.where(cont, self._after(wc, ref_wd, rng.integers(0, 5, n)), NULL_DAY)
        a1_wd = banded(rng, cal.ASSESSMENT_WD_BANDS, n)
        self.a1_auth = np.where(cont, self._after(wc, self.a1_start, a1_wd), NULL_DAY)
        self.a1_seen = r(n) < 0.97

        # Section 47 enquiry, initial conference, plan.
        p_s47 = np.where(prior_plan, cal.S47_PROBABILITY_PRIOR_PLAN, cal.S47_PROBABILITY)
        self.has_s47 = cont & (r(n) < p_s47)
        s47_start = self._after(wc, ref_wd, np.where(r(n) < 0.6, 0, rng.integers(1, 4, n)))
        self.s47_start = np.where(self.has_s47, np.maximum(s47_start, ref), NULL_DAY)
        p_icpc = np.where(prior_plan, cal.ICPC_GIVEN_S47_PRIOR_PLAN, cal.ICPC_GIVEN_S47)
        self.has_icpc = self.has_s47 & (r(n) < p_icpc)
        icpc_wd = np.where(
            r(n) < cal.ICPC_WITHIN_15WD, rng.integers(5, 16, n), rng.integers(16, 36, n)
        )
        icpc_date = wc.add(self.s47_start, icpc_wd)
        s47_end = wc.add(self.s47_start, rng.integers(3, 21, n))
        s47_end = np.where(self.has_icpc, np.minimum(s47_end, icpc_date), s47_end)
        self.s47_end = np.where(self.has_s47, s47_end, NULL_DAY)
        # NFA under section 47 whenever no conference followed (the case may go on as CIN).
        self.s47_nfa = self.has_s47 & ~self.has_icpc

        self.transfer_in = cont & ~self.has_s47 & (r(n) < cal.TRANSFER_IN_PROBABILITY)
        ti_date = wc.add(ref_wd, rng.integers(5, 16, n))
        self.icpc_date = np.where(
            self.has_icpc, icpc_date, np.where(self.transfer_in, ti_date, NULL_DAY)
        )
        self.icpc_target = np.where(
            self.has_icpc,
            wc.add(self.s47_start, 15),
            np.where(self.transfer_in, wc.add(ref_wd, 15), NULL_DAY),
        )
        self.icpc_held = self.has_icpc | self.transfer_in
        self.has_plan = (self.has_icpc & (r(n) < cal.PLAN_GIVEN_ICPC)) | (
            self.transfer_in & (r(n) < 0.9)
        )
        self.ola = cont & ~self.has_s47 & ~self.transfer_in & (r(n) < cal.OLA_PLAN_PROBABILITY)
        ola_start = wc.add(ref_wd, rng.integers(0, 10, n))
        any_plan = self.has_plan | self.ola
        self.plan_start = np.where(
            self.has_plan, self.icpc_date, np.where(self.ola, ola_start, NULL_DAY)
        )
        self.plan_end = np.where(
            any_plan, self.plan_start + banded(rng, cal.CP_PLAN_DAY_BANDS, n), NULL_DAY
        )
        self.cat_initial = pick(rng, CP_CATEGORY_WEIGHTS, n)
        changed = r(n) < 0.1
        self.cat_latest = np.where(changed, pick(rng, CP_CATEGORY_WEIGHTS, n), self.cat_initial)
        self.cat_changed = np.where(
            any_plan & (self.cat_latest != self.cat_initial),
            self.plan_start + (r(n) * 0.6 + 0.3) * (self.plan_end - self.plan_start),
            NULL_DAY,
        ).astype(np.int64)

        # Assessment outcome.
        decided = any_plan | self.icpc_held
        p_nfa = np.where(self.has_s47, cal.ASSESSMENT_NFA_AFTER_S47, cal.ASSESSMENT_NFA)
        self.a1_nfa = cont & ~decided & (r(n) < p_nfa)

        # Care.
        ongoing = cont & ~self.a1_nfa
        from_plan = self.has_plan & (r(n) < cal.CLA_FROM_PLAN)
        other = ongoing & ~any_plan & (r(n) < cal.CLA_OTHER)
        self.has_cla = from_plan | other
        cla_start = np.where(
            from_plan,
            self.plan_end,
            ref + np.where(r(n) < 0.3, rng.integers(0, 6, n), rng.integers(6, 240, n)),
        )
        cla_start = np.maximum(cla_start, dob)
        comp_share = np.array([c[0] for c in cal.CLA_DURATION_MIX])
        comp_mean = np.array([c[1] for c in cal.CLA_DURATION_MIX])
        comp = rng.choice(len(comp_share), size=n, p=comp_share / comp_share.sum())
        duration = 1 + rng.exponential(comp_mean[comp]).astype(np.int64)
        cla_end = cla_start + duration
        turns_18 = dob + np.int64(18 * YEAR)
        self.has_cla &= cla_start < turns_18 - 30
        self.at_18 = self.has_cla & (cla_end >= turns_18)
        cla_end = np.minimum(cla_end, turns_18)
        self.cla_start = np.where(self.has_cla, cla_start, NULL_DAY)
        self.cla_end = np.where(self.has_cla, cla_end, NULL_DAY)
        self.cla_reason = pick(rng, CLA_START_WEIGHTS, n)
        self.cla_need = pick(rng, CLA_NEED_WEIGHTS, n)
        self.ceased = np.where(
            self.at_18, pick(rng, CEASED_AT_18_WEIGHTS, n), pick(rng, CEASED_WEIGHTS, n)
        )
        if from_plan.any():  # a plan ends because the child came into care
            self.plan_end = np.where(from_plan & self.has_cla, self.cla_start, self.plan_end)

        # A later re-assessment on some open cases.
        self.has_a2 = ongoing & (r(n) < cal.SECOND_ASSESSMENT)
        a2_start = wc.roll_forward(self.a1_auth + rng.integers(20, 200, n))
        self.a2_start = np.where(self.has_a2, a2_start, NULL_DAY)
        a2_wd = banded(rng, cal.ASSESSMENT_WD_BANDS, n)
        self.a2_auth = np.where(self.has_a2, self._after(wc, a2_start, a2_wd), NULL_DAY)
        self.a2_nfa = self.has_a2 & (r(n) < 0.1)

        # Closure of the episode.
        last_event = np.maximum.reduce(
            [
                ref,
                self.a1_auth,
                self.s47_end,
                self.icpc_date,
                self.plan_end,
                self.cla_end,
                self.a2_auth,
            ]
        )
        cin_days = 14 + rng.exponential(cal.CIN_MEAN_DAYS, n).astype(np.int64)
        step_down = np.where(r(n) < 0.5, rng.integers(0, 31, n), cin_days)
        close = np.select(
            [self.nfa, self.a1_nfa, self.has_cla, any_plan],
            [
                ref + np.where(r(n) < 0.7, 0, rng.integers(1, 4, n)),
                self.a1_auth + rng.integers(0, 8, n),
                self.cla_end + rng.integers(0, 15, n),
                self.plan_end + step_down,
            ],
            last_event + cin_days,
        )
        self.close = np.maximum(close, last_event + np.where(self.has_a2, 1, 0))
        reason = np.where(r(n) < 0.9, "RC7", np.where(r(n) < 0.7, "RC5", "RC4")).astype(object)
        reason = np.where(self.a1_nfa, np.where(r(n) < 0.55, "RC8", "RC9"), reason)
        reason = np.where(self.nfa, "RC8", reason)
        from_care = pd.Series(self.ceased).map(CEASED_TO_CLOSE_REASON).fillna("RC7").to_numpy()
        self.close_reason = np.where(self.has_cla, from_care, reason)

        # Who holds the case when: assessment team, then safeguarding, then in care.
        handover = self.a1_auth + rng.integers(0, 6, n)
        b1 = np.where(self.a1_nfa, self.close, handover)
        b1 = np.where(any_plan, np.minimum(b1, self.plan_start), b1)
        b1 = np.where(self.has_cla, np.minimum(b1, self.cla_start), b1)
        self.b1 = np.where(cont, b1, NULL_DAY)
        self.b2 = np.where(self.has_cla, self.cla_start, self.close)

    @staticmethod
    def _after(wc: WorkCalendar, start: np.ndarray, wd: np.ndarray) -> np.ndarray:
        """add_working_days, except that 0 working days keeps the start date itself."""
        return np.where(wd == 0, start, wc.add(start, wd))

    def frame(self, child: np.ndarray) -> pd.DataFrame:
        """The episodes as one wide frame (one row per referral)."""
        cols = {
            k: v for k, v in vars(self).items() if isinstance(v, np.ndarray) and v.size == self.n
        }
        return pd.DataFrame({"child": child, **cols})


def _ages_at_first_referral(rng: np.random.Generator, n: int) -> np.ndarray:
    """Age in days at a child's first referral (negative = unborn)."""
    band = rng.choice(6, size=n, p=[0.03, 0.12, 0.18, 0.27, 0.32, 0.08])
    low = np.array([-150, 0, 1, 5, 10, 16])[band] * YEAR
    high = np.array([-30, 1, 5, 10, 16, 17.6])[band] * YEAR
    low = np.where(band == 0, -150, low)
    high = np.where(band == 0, -30, high)
    return (low + rng.random(n) * (high - low)).astype(np.int64)


def simulate_cases(
    rng: np.random.Generator,
    wc: WorkCalendar,
    referrals_per_year: float,
    window_start: int,
    horizon: int,
) -> CaseHistory:
    """Simulate referral chains from before the window to the horizon (last export day)."""
    sim_start = window_start - int(cal.BURN_IN_YEARS * YEAR)
    span_years = (horizon - sim_start) / YEAR
    n_new = rng.poisson(referrals_per_year * cal.NEW_CHILD_FACTOR * span_years)
    first = rng.integers(sim_start, horizon + 1, n_new)
    dob = first - _ages_at_first_referral(rng, n_new)

    n_children = n_new
    dobs = dob
    prior_plan = np.zeros(n_children, dtype=bool)
    frames: list[pd.DataFrame] = []
    next_ref = first.copy()
    children = np.arange(n_new)
    age_limit = np.int64(17.6 * YEAR)
    while children.size:
        ep = _Episodes(rng, wc, next_ref, dobs[children], prior_plan[children])
        frames.append(ep.frame(children))
        prior_plan[children] |= ep.has_plan
        p_again = np.where(
            prior_plan[children], cal.CONTINUE_PROBABILITY_PRIOR_PLAN, cal.CONTINUE_PROBABILITY
        )
        again = rng.random(ep.n) < p_again
        gap = np.where(
            rng.random(ep.n) < cal.SHORT_GAP_SHARE,
            1 + rng.exponential(cal.SHORT_GAP_MEAN_DAYS, ep.n).astype(np.int64),
            rng.integers(*cal.LONG_GAP_DAYS, ep.n),
        )
        nxt = ep.close + gap
        keep = again & (nxt <= horizon) & (nxt - dobs[children] < age_limit)
        children, next_ref = children[keep], nxt[keep]

    eps = pd.concat(frames, ignore_index=True)
    return _assemble(rng, wc, eps, dobs, window_start, horizon)


def _assemble(
    rng: np.random.Generator,
    wc: WorkCalendar,
    eps: pd.DataFrame,
    dobs: np.ndarray,
    window_start: int,
    horizon: int,
) -> CaseHistory:
    """Keep what a real extract holds and split the episodes into record tables.

    A child is in the extract when one of their referrals was open at some time in
    the window (closed on or after the window start), and then comes with their whole
    case history (every referral made by the horizon and everything hanging off it),
    as a case system holds it: so "second or subsequent plan, regardless of how long
    ago" can be measured, and the extract never has an orphan of its own.
    """
    in_window = eps["child"][eps["close"] >= window_start].unique()
    eps = eps[eps["child"].isin(in_window) & (eps["ref"] <= horizon)]
    eps = eps.sort_values(["ref", "child"], kind="stable").reset_index(drop=True)
    n = len(eps)
    ref_rec = eps["ref"].to_numpy() + record_lag(rng, n)
    # A closure is on the system by the time the child's next referral is, and every
    # event of an episode by the time its closure is: so no night shows two open
    # episodes (or plans) of one child, or an open assessment on a closed episode.
    nxt = eps.groupby("child")["ref"].shift(-1).fillna(FAR_DAY).to_numpy(dtype=np.int64)
    close = eps["close"].to_numpy()
    close_rec = np.clip(close + record_lag(rng, n), close, np.maximum(close, nxt - 1))
    close_rec = np.maximum(close_rec, ref_rec)

    def lagged(
        day: np.ndarray, floor: np.ndarray, ref_idx: np.ndarray | None = None, late: float = 0.12
    ) -> np.ndarray:
        rec = np.maximum(day + record_lag(rng, day.size, late=late), floor)
        if ref_idx is not None:
            rec = np.maximum(np.minimum(rec, close_rec[ref_idx]), np.maximum(day, floor))
        return rec

    referrals = pd.DataFrame(
        {
            "ref_idx": np.arange(n),
            "child": eps["child"].to_numpy(),
            "ref": eps["ref"].to_numpy(),
            "rec": ref_rec,
            "nfa": eps["nfa"].to_numpy(),
            "need": eps["need"].to_numpy(),
            "source": eps["source"].to_numpy(),
            "close": close,
            "close_rec": close_rec,
            "close_reason": eps["close_reason"].to_numpy(),
        }
    )
    # A few referral sources first entered wrongly and corrected a few weeks later.
    wrong = rng.random(n) < 0.01
    referrals["source_old"] = np.where(wrong, pick(rng, SOURCE_WEIGHTS, n), None)
    referrals["source_fixed"] = np.where(wrong, ref_rec + rng.integers(1, 30, n), NULL_DAY)

    # People: one row per child with a kept referral.
    child_ids, first_rec_pos = np.unique(referrals["child"].to_numpy(), return_index=True)
    first_ref = referrals["ref"].to_numpy()[first_rec_pos]
    m = child_ids.size
    dob = dobs[child_ids]
    unborn = dob > first_ref
    born_rec = dob + rng.integers(0, 8, m)
    people = pd.DataFrame(
        {
            "child": child_ids,
            "rec": referrals.groupby("child")["rec"].min().loc[child_ids].to_numpy(),
            "dob": dob,
            "dob_rec": np.where(unborn, born_rec, NULL_DAY),
            "expected_dob": np.where(unborn, dob + rng.normal(0, 9, m).astype(np.int64), NULL_DAY),
            "sex": np.where(rng.random(m) < 0.515, "M", "F").astype(object),
            "unborn": unborn,
        }
    )

    ref_of = referrals["ref_idx"].to_numpy()
    rec_of = ref_rec

    def sub(mask: np.ndarray, **cols: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame({"ref_idx": ref_of[mask], "child": eps["child"].to_numpy()[mask]})
        for k, v in cols.items():
            frame[k] = v[mask]
        return frame

    e = {c: eps[c].to_numpy() for c in eps.columns}
    cont = ~e["nfa"]

    a1 = sub(cont, start=e["a1_start"], auth=e["a1_auth"], nfa=e["a1_nfa"], seen=e["a1_seen"])
    a2 = sub(
        e["has_a2"], start=e["a2_start"], auth=e["a2_auth"], nfa=e["a2_nfa"], seen=e["a1_seen"]
    )
    assessments = pd.concat([a1, a2], ignore_index=True)
    assessments["rec"] = lagged(
        assessments["start"].to_numpy(),
        rec_of[assessments["ref_idx"]],
        assessments["ref_idx"].to_numpy(),
    )
    assessments["auth_rec"] = lagged(
        assessments["auth"].to_numpy(),
        assessments["rec"].to_numpy(),
        assessments["ref_idx"].to_numpy(),
    )
    # Corrections: an authorisation date entered wrongly (too early), fixed later.
    k = len(assessments)
    wd_old = wc.add(assessments["auth"].to_numpy(), -rng.integers(1, 6, k))
    fix = (rng.random(k) < 0.015) & (wd_old >= assessments["start"].to_numpy())
    assessments["auth_old"] = np.where(fix, wd_old, NULL_DAY)
    assessments["auth_fixed"] = np.where(
        fix, assessments["auth_rec"] + rng.integers(1, 21, k), NULL_DAY
    )

    s47 = sub(e["has_s47"], start=e["s47_start"], end=e["s47_end"], nfa=e["s47_nfa"])
    s47["s47_idx"] = np.arange(len(s47))
    s47["rec"] = lagged(s47["start"].to_numpy(), rec_of[s47["ref_idx"]], s47["ref_idx"].to_numpy())
    s47["end_rec"] = lagged(s47["end"].to_numpy(), s47["rec"].to_numpy(), s47["ref_idx"].to_numpy())

    icpc = sub(
        e["icpc_held"],
        date=e["icpc_date"],
        target=e["icpc_target"],
        transfer_in=e["transfer_in"],
        outcome=e["has_plan"],
    )
    icpc = icpc.merge(s47[["ref_idx", "s47_idx", "end_rec"]], on="ref_idx", how="left")
    icpc["s47_idx"] = icpc["s47_idx"].fillna(-1).astype(np.int64)
    convened = np.where(
        icpc["transfer_in"],
        icpc["date"] - rng.integers(3, 10, len(icpc)),
        icpc["end_rec"].fillna(0),
    )
    icpc["rec"] = np.maximum(convened.astype(np.int64), rec_of[icpc["ref_idx"]])
    icpc["held_rec"] = lagged(
        icpc["date"].to_numpy(), icpc["rec"].to_numpy(), icpc["ref_idx"].to_numpy()
    )
    icpc = icpc.drop(columns=["end_rec"])
    icpc["icpc_idx"] = np.arange(len(icpc))

    any_plan = e["has_plan"] | e["ola"]
    plans = sub(
        any_plan,
        start=e["plan_start"],
        end=e["plan_end"],
        cat_initial=e["cat_initial"],
        cat_latest=e["cat_latest"],
        cat_changed=e["cat_changed"],
        ola=e["ola"],
    )
    plans = plans.merge(icpc[["ref_idx", "icpc_idx", "held_rec"]], on="ref_idx", how="left")
    plans["icpc_idx"] = plans["icpc_idx"].fillna(-1).astype(np.int64)
    floor = np.maximum(plans["held_rec"].fillna(0).astype(np.int64), rec_of[plans["ref_idx"]])
    plans["rec"] = lagged(plans["start"].to_numpy(), floor.to_numpy(), plans["ref_idx"].to_numpy())
    plans["end_rec"] = lagged(
        plans["end"].to_numpy(), plans["rec"].to_numpy(), plans["ref_idx"].to_numpy()
    )
    plans = plans.drop(columns=["held_rec"])
    plans["plan_idx"] = np.arange(len(plans))

    cla = sub(
        e["has_cla"],
        start=e["cla_start"],
        end=e["cla_end"],
        reason=e["cla_reason"],
        need=e["cla_need"],
        ceased=e["ceased"],
        at_18=e["at_18"],
    )
    cla["rec"] = lagged(cla["start"].to_numpy(), rec_of[cla["ref_idx"]], cla["ref_idx"].to_numpy())
    cla["end_rec"] = lagged(cla["end"].to_numpy(), cla["rec"].to_numpy(), cla["ref_idx"].to_numpy())

    visits = _visits(rng, wc, plans[~plans["ola"]], horizon)

    stages = pd.concat(
        [
            sub(cont, area=np.full(n, ASSESS), start=e["a1_start"], end=e["b1"]),
            sub(cont & ~e["a1_nfa"], area=np.full(n, SAFEGUARD), start=e["b1"], end=e["b2"]),
            sub(e["has_cla"], area=np.full(n, IN_CARE), start=e["cla_start"], end=e["close"]),
        ],
        ignore_index=True,
    )
    stages = stages[stages["end"] > stages["start"]].reset_index(drop=True)
    stages["end_reason"] = np.where(
        stages["end"].to_numpy() < e["close"][stages["ref_idx"].to_numpy()], "TSPROC", None
    )

    # IROs for plans and periods of care; personal advisers for care leavers to 21.
    own = plans[~plans["ola"]]
    leavers = cla[cla["at_18"] | cla["ceased"].isin(LEAVES_TO_PERSONAL_ADVISOR)]
    turns_21 = dobs[leavers["child"].to_numpy()] + np.int64(21 * YEAR)
    other_roles = pd.concat(
        [
            pd.DataFrame(
                {
                    "ref_idx": own["ref_idx"],
                    "child": own["child"],
                    "role": "IRO",
                    "start": own["start"],
                    "end": own["end"],
                }
            ),
            pd.DataFrame(
                {
                    "ref_idx": cla["ref_idx"],
                    "child": cla["child"],
                    "role": "IRO",
                    "start": cla["start"],
                    "end": cla["end"],
                }
            ),
            pd.DataFrame(
                {
                    "ref_idx": leavers["ref_idx"],
                    "child": leavers["child"],
                    "role": "PERSONAL ADVISOR",
                    "start": leavers["end"],
                    "end": turns_21,
                }
            ),
        ],
        ignore_index=True,
    )
    other_roles = other_roles[other_roles["end"] > other_roles["start"]].reset_index(drop=True)
    for frame in (stages, other_roles):
        frame["rec"] = np.maximum(frame["start"].to_numpy(), rec_of[frame["ref_idx"].to_numpy()])

    return CaseHistory(
        people=people,
        referrals=referrals,
        assessments=assessments,
        s47=s47,
        icpc=icpc,
        plans=plans,
        visits=visits,
        cla=cla,
        stages=stages,
        other_roles=other_roles,
        window_start=window_start,
        horizon=horizon,
    )


def _visits(
    rng: np.random.Generator, wc: WorkCalendar, plans: pd.DataFrame, horizon: int
) -> pd.DataFrame:
    """Statutory visits every ~10 working days while a plan is open (some late)."""
    start = plans["start"].to_numpy()
    end = np.minimum(plans["end"].to_numpy(), horizon + 1)
    span_wd = np.maximum(wc.between(start, end), 0)
    per_plan = span_wd // 4 + 2
    total = int(per_plan.sum())
    plan_pos = np.repeat(np.arange(len(plans)), per_plan)
    late = rng.random(total) < 0.2
    gap = np.where(late, rng.integers(11, 19, total), rng.integers(5, 11, total))
    first = np.r_[0, np.cumsum(per_plan)[:-1]]
    gap[first] = rng.integers(0, 8, len(plans))
    offsets = np.cumsum(gap)
    offsets -= np.repeat(offsets[first] - gap[first], per_plan)
    day = wc.add(start[plan_pos], offsets)
    day = np.where(offsets == 0, start[plan_pos], day)
    ok = day < end[plan_pos]
    plan_pos, day = plan_pos[ok], day[ok]
    seen = rng.random(day.size) < 0.93
    visits = pd.DataFrame(
        {
            "plan_idx": plans["plan_idx"].to_numpy()[plan_pos],
            "child": plans["child"].to_numpy()[plan_pos],
            "date": day,
            "seen": seen,
            "alone": seen & (rng.random(day.size) < 0.65),
        }
    )
    plan_rec = plans["rec"].to_numpy()[plan_pos]
    visits["rec"] = np.maximum(day + record_lag(rng, day.size, late=0.25, very_late=0.05), plan_rec)
    return visits
