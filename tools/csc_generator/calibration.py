"""Target figures and the model constants tuned to reproduce them.

The targets are England's published figures for a typical council (DfE "Children in
need" and "Children looked after" statistics, children's social work workforce
census), scaled to `referrals_per_year`. Constants marked *tuned* have no published
counterpart: they were adjusted until the generated exports reproduce the targets when
measured with the kpis.md definitions (see tests/test_generator.py), so change them
only together with a re-measurement.
"""

from __future__ import annotations

# --- published targets for a council with 4,100 referrals a year ---------------------
TYPICAL_REFERRALS_PER_YEAR = 4100
REREFERRAL_12M = 0.226
NFA_AT_REFERRAL = 0.065
ASSESSMENTS_PER_YEAR = 4200
CHILDREN_IN_CARE = 530
CP_PLANS_PER_YEAR = 400
TARGET_CASELOAD_PER_FTE = 16.4  # sizing target (tuned): distinct children per FTE come out about 16
AGENCY_FTE_SHARE = 0.16

# DfE duration bands of working_days_between(start, auth): (low, high, share %).
ASSESSMENT_WD_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 0, 1.8), (1, 10, 11.7), (11, 20, 17.3), (21, 30, 15.8), (31, 40, 20.2),
    (41, 45, 18.9), (46, 50, 5.8), (51, 60, 4.3), (61, 130, 4.2),
)  # fmt: skip
# Ended CP plan durations in days: <=3m, 3-6m, 6-12m, 1-2y, 2y+ (share %).
CP_PLAN_DAY_BANDS: tuple[tuple[int, int, float], ...] = (
    (14, 90, 16.0), (92, 181, 11.0), (183, 364, 43.5), (366, 729, 25.0), (731, 1100, 4.4),
)  # fmt: skip

# --- referral chains (tuned) ---------------------------------------------------------
BURN_IN_YEARS = 18  # simulated before the window: a whole childhood, so stocks are steady
NEW_CHILD_FACTOR = 0.549  # new children a year = referrals_per_year * this (tuned)
CONTINUE_PROBABILITY = 0.50  # a child is referred again after an episode closes (tuned)
CONTINUE_PROBABILITY_PRIOR_PLAN = 0.6
SHORT_GAP_SHARE = 0.61  # of re-referrals, those soon after closure (tuned)
SHORT_GAP_MEAN_DAYS = 60.0
LONG_GAP_DAYS = (365, 1800)

# --- pathways (shares of referrals that are not NFA at referral; tuned) --------------
S47_PROBABILITY = 0.37
S47_PROBABILITY_PRIOR_PLAN = 0.7
ICPC_GIVEN_S47 = 0.275
ICPC_GIVEN_S47_PRIOR_PLAN = 0.47
PLAN_GIVEN_ICPC = 0.86
ICPC_WITHIN_15WD = 0.81
TRANSFER_IN_PROBABILITY = 0.004
OLA_PLAN_PROBABILITY = 0.006
ASSESSMENT_NFA = 0.45
ASSESSMENT_NFA_AFTER_S47 = 0.40
SECOND_ASSESSMENT = 0.15
CLA_FROM_PLAN = 0.28
CLA_OTHER = 0.087
# Period of care: (share, mean days) exponential components; the last lasts to 18.
CLA_DURATION_MIX: tuple[tuple[float, float], ...] = ((0.33, 60.0), (0.37, 540.0), (0.30, 2600.0))
CIN_MEAN_DAYS = 200.0

# --- workforce ------------------------------------------------------------------------
PERMANENT_FTE = ((1.0, 0.62), (0.8, 0.16), (0.6, 0.11), (0.5, 0.11))
AGENCY_FTE = ((1.0, 0.9), (0.8, 0.1))
AGENCY_POST_SHARE = 0.145  # tuned so agency FTE is about 16% of case-holding FTE
PERMANENT_TENURE_DAYS = 1500.0
AGENCY_TENURE_DAYS = 300.0
CASES_PER_IRO = 65.0
CASES_PER_PA = 22.0

# --- audits -----------------------------------------------------------------------------
AUDITS_PER_MONTH = (30, 100)
AUDIT_GRADE_SHARES = (0.05, 0.33, 0.45, 0.17)  # OUTSTANDING, GOOD, RI, INADEQUATE
MODERATED_SHARE = 0.40
DOWNGRADED_OF_MODERATED = 0.25
UPGRADED_OF_MODERATED = 0.05
