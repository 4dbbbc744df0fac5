"""How the pack groups, orders and writes figures (board-pack.md: themes, conventions).

The indicator definitions themselves (names, units, direction, targets) come from the
warehouse (`marts.dim_kpi`, `marts.kpi_monthly`); this module only says where each
indicator sits in the child's journey and how a figure is written. An indicator the
catalogue does not know yet still appears, on an "Other indicators" page at the end.

Decisions (the spec leaves them open):
- Small counts: a count of 1-5 children's records is suppressed ("c", the DfE
  convention) and so is any percentage computed from it, because the percentage and the
  other count would reveal it. 0 is shown. Counts of workers (caseload histogram) are
  not suppressed: they are not children's records.
- n < 20: a figure whose denominator is below 20 is marked "low n" (interpret with care).
- Direction of travel compares this month with the previous month, polarity-aware;
  "same" when the change is below 1 percentage point (fractions) or 0.5 (per FTE).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SUPPRESS_MAX = 5  # counts 1..5 are suppressed (DfE)
LOW_N = 20  # denominators below this are marked
SAME_FRACTION = 0.01
SAME_PER_FTE = 0.5

NOT_SUPPLIED = "not supplied"


@dataclass(frozen=True)
class Theme:
    key: str
    title: str
    kpis: tuple[str, ...]
    intro: str


# The child's journey (board-pack.md, "Themes in the order of a child's journey").
THEMES: tuple[Theme, ...] = (
    Theme(
        "front_door",
        "Front door",
        ("REREFERRAL_12M_PCT",),
        "Referrals to children's social care and re-referrals within 12 months.",
    ),
    Theme(
        "assessments",
        "Assessments",
        ("ASSESS_45WD_PCT",),
        "Assessments authorised within 45 working days of their start, and how long they took.",
    ),
    Theme(
        "s47_icpc",
        "Section 47 enquiries and initial conferences",
        ("ICPC_15WD_PCT",),
        "Initial child protection conferences held within 15 working days of the S47 start.",
    ),
    Theme(
        "child_protection",
        "Child protection",
        ("CP_REPEAT_EVER_PCT", "CP_REPEAT_2Y_PCT", "CP_2Y_PLUS_ENDED_PCT"),
        "Repeat child protection plans and plans that lasted two years or more.",
    ),
    Theme(
        "workforce",
        "Workforce",
        ("CASELOAD_PER_FTE", "CASELOAD_PER_WORKER", "AGENCY_RATE"),
        "Caseloads of case-holding social workers and the share of agency staff.",
    ),
    Theme(
        "quality_assurance",
        "Quality assurance",
        (
            "AUDIT_GOOD_PLUS_PCT",
            "AUDIT_REQUIRES_IMPROVEMENT_PCT",
            "AUDIT_INADEQUATE_PCT",
            "AUDIT_DOWNGRADE_PCT",
            "AUDIT_STD_TIMESCALES_PCT",
            "AUDIT_STD_MANAGEMENT_OVERSIGHT_PCT",
            "AUDIT_STD_VOICE_OF_CHILD_PCT",
            "AUDIT_STD_ANALYSIS_PCT",
            "AUDIT_STD_RECORDING_PCT",
        ),
        "Case-file audit grades, moderation and practice standards.",
    ),
)
OTHER_THEME = Theme("other", "Other indicators", (), "Indicators not yet placed in a theme.")

# Three to five headline figures for the summary page.
HEADLINE_KPIS = (
    "ASSESS_45WD_PCT",
    "REREFERRAL_12M_PCT",
    "ICPC_15WD_PCT",
    "CASELOAD_PER_FTE",
    "AUDIT_GOOD_PLUS_PCT",
)

# Team breakdown: the indicators a Board compares teams on.
TEAM_KPIS = (
    "ASSESS_45WD_PCT",
    "REREFERRAL_12M_PCT",
    "ICPC_15WD_PCT",
    "CP_REPEAT_EVER_PCT",
    "CASELOAD_PER_FTE",
    "AUDIT_GOOD_PLUS_PCT",
)


def theme_of(kpi_code: str) -> Theme:
    for theme in THEMES:
        if kpi_code in theme.kpis:
            return theme
    return OTHER_THEME


def journey_order(codes: list[str]) -> list[str]:
    """Codes in the child's-journey order; unknown codes last, alphabetically."""
    known = [c for t in THEMES for c in t.kpis if c in codes]
    return known + sorted(c for c in codes if c not in known)


# --- writing a figure --------------------------------------------------------------


def to_float(x) -> float | None:
    if x is None:
        return None
    if isinstance(x, Decimal):
        return float(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if f != f else f  # NaN -> None


def is_small(count: float | None) -> bool:
    return count is not None and 0 < count <= SUPPRESS_MAX


def fmt_count(count: float | None) -> str:
    if count is None:
        return NOT_SUPPLIED
    if abs(count - round(count)) < 1e-9:
        return f"{int(round(count)):,}"
    return f"{count:,.1f}"


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return NOT_SUPPLIED
    if unit == "fraction":
        return f"{100 * value:.1f}%"
    return f"{value:.1f}"


@dataclass(frozen=True)
class Figure:
    """One written figure: value with its counts, or why there is none."""

    value: float | None
    numerator: float | None
    denominator: float | None
    unit: str
    reason: str | None = None  # why a value is not available (kpi_monthly's reason)
    present: bool = True  # False: no row at all for this month (no records)
    suppress_small: bool = True  # False only for counts that are not children's records

    @property
    def suppressed(self) -> bool:
        if not self.suppress_small or self.value is None:
            return False
        return is_small(self.numerator) or is_small(self.denominator)

    @property
    def low_n(self) -> bool:
        return self.denominator is not None and 0 < self.denominator < LOW_N

    @property
    def available(self) -> bool:
        return self.value is not None and not self.suppressed

    @property
    def value_text(self) -> str:
        if not self.present:
            return "no records"
        if self.value is None:
            if self.denominator == 0 and not self.reason:
                return "none in period"
            return NOT_SUPPLIED
        if self.suppressed:
            return "c"
        return fmt_value(self.value, self.unit)

    @property
    def counts_text(self) -> str:
        if not self.present or self.numerator is None or self.denominator is None:
            return ""
        if self.suppressed:
            return ""  # "c" already says it
        return f"({fmt_count(self.numerator)}/{fmt_count(self.denominator)})"

    @property
    def text(self) -> str:
        """e.g. "87.0% (61/70)", "c", "not supplied"."""
        parts = [self.value_text]
        if self.counts_text and self.value is not None:
            parts.append(self.counts_text)
        return " ".join(parts)

    @property
    def note(self) -> str:
        notes = []
        if self.reason:
            notes.append(self.reason)
        if self.suppressed:
            notes.append("suppressed: a count of 1-5")
        elif self.low_n and self.value is not None:
            notes.append(f"low n ({fmt_count(self.denominator)} < {LOW_N})")
        return "; ".join(notes)


def direction(
    current: float | None, previous: float | None, unit: str, higher_is_better: bool
) -> str | None:
    """ "better", "same" or "worse" (polarity-aware), or None when not comparable."""
    if current is None or previous is None:
        return None
    change = current - previous
    same = SAME_FRACTION if unit == "fraction" else SAME_PER_FTE
    if abs(change) < same:
        return "same"
    improved = change > 0 if higher_is_better else change < 0
    return "better" if improved else "worse"


def rag(value: float | None, target: float | None, higher_is_better: bool, tolerance: float):
    """The marts' RAG rule (dbt macro rag_status), for pooled figures the marts do not hold."""
    if value is None or target is None:
        return None
    if higher_is_better:
        if value >= target:
            return "GREEN"
        return "AMBER" if value >= target * (1 - tolerance) else "RED"
    if value <= target:
        return "GREEN"
    return "AMBER" if value <= target * (1 + tolerance) else "RED"


def amber_band(target: float | None, higher_is_better: bool, tolerance: float, unit: str) -> str:
    """The tolerance written out, e.g. "amber 76.5%-85.0%"."""
    if target is None:
        return "no target"
    edge = target * (1 - tolerance) if higher_is_better else target * (1 + tolerance)
    lo, hi = sorted((edge, target))
    return f"amber {fmt_value(lo, unit)} to {fmt_value(hi, unit)}"
