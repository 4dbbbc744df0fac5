"""Everything the pack shows, assembled from the published warehouse (read-only).

Only aggregates leave this module: counts, numerators, denominators, values per month,
team or band. No query here selects a child's key, name, date of birth or case-system
id, and every count of children's records passes through `catalogue.Figure`, which
suppresses 1-5.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from csc_pipeline.pack import catalogue as cat
from csc_pipeline.pack.benchmarks import Benchmarks
from csc_pipeline.warehouse import connect, table_exists

TREND_MONTHS = 24  # trend charts show up to 24 months ending with the pack month
MIN_TREND_MONTHS = 13
GRADES = ("OUTSTANDING", "GOOD", "REQUIRES_IMPROVEMENT", "INADEQUATE")
CASELOAD_BANDS = (0, 5, 10, 15, 20, 25, 30, 40)  # lower edges, children per FTE


class PackError(RuntimeError):
    """The pack cannot be produced for this council and month (the message says why)."""


def month_start(text: str) -> dt.date:
    try:
        year, month = (int(p) for p in text.split("-")[:2])
        return dt.date(year, month, 1)
    except (ValueError, TypeError):
        raise PackError(f"month must be YYYY-MM, not {text!r}") from None


def add_months(d: dt.date, n: int) -> dt.date:
    m = d.year * 12 + d.month - 1 + n
    return dt.date(m // 12, m % 12 + 1, 1)


def month_label(d: dt.date) -> str:
    return f"{calendar.month_name[d.month]} {d.year}"


def latest_complete_month(as_at: dt.date) -> dt.date:
    """The month containing the as-at date if it is the month's last day, else the one before
    (the rule of marts.kpi_headline)."""
    last_day = calendar.monthrange(as_at.year, as_at.month)[1]
    start = as_at.replace(day=1)
    return start if as_at.day == last_day else add_months(start, -1)


def financial_year_start(d: dt.date) -> dt.date:
    return dt.date(d.year if d.month >= 4 else d.year - 1, 4, 1)


@dataclass
class Indicator:
    code: str
    name: str
    unit: str
    higher_is_better: bool
    target: float | None
    kpi_type: str
    numerator_definition: str = ""
    denominator_definition: str = ""
    spec_reference: str = ""
    tolerance: float | None = None  # the indicator's own amber tolerance (dim_kpi), if any
    # month_start -> row dict (council level)
    months: dict = field(default_factory=dict)
    # team rows for the pack month
    teams: list = field(default_factory=list)


def _columns(con, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
    ]


def _dicts(cur) -> list[dict]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _reason_column(columns: list[str]) -> str | None:
    """kpi_monthly's "why not available" column, whatever dbtdefs named it."""
    for name in columns:
        if "reason" in name:
            return name
    return None


def amber_tolerance(con) -> float:
    """The RAG amber tolerance: from the thresholds seed when built, else the dbt var."""
    for table in ("kpi_thresholds", "thresholds", "kpi_catalogue"):
        if table_exists(con, "seeds", table):
            cols = _columns(con, "seeds", table)
            col = next((c for c in cols if "tolerance" in c), None)
            if col:
                value = con.execute(f"select max({col}) from seeds.{table}").fetchone()[0]
                if value is not None:
                    return float(value)
    import yaml

    from csc_pipeline.config import DBT_PROJECT_DIR

    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return float(project.get("vars", {}).get("rag_amber_tolerance", 0.10))


@dataclass
class PackData:
    la_code: str
    council_name: str
    month: dt.date
    as_at: dt.date
    export_date: str
    published_at: str
    tolerance: float
    indicators: dict  # code -> Indicator, journey order
    benchmarks: Benchmarks
    months: list  # trend months, oldest first
    as_at_figures: dict  # kpi_code -> row (kpi_headline AS_AT, council)
    durations: list  # assessment duration bands for the month
    audit_grades: list  # per month grade counts
    audit_matrix: dict  # (first, moderated) -> count, 12 months to the month
    caseload_bands: list  # workers per FTE band at the month end
    teams_above_target: list
    dq: dict
    definitions: list
    suppress_small: bool = True

    @property
    def month_end(self) -> dt.date:
        return add_months(self.month, 1) - dt.timedelta(days=1)


def council_name(la_code: str) -> str:
    """The council's name: its profile when there is one, else the sample's or the code."""
    try:
        from csc_pipeline.profile import council_profile  # config/councils/<la_code>.yml

        name = council_profile(la_code).la_name
        if name:
            return str(name)
    except Exception:  # noqa: BLE001 - no profile module, file or name: fall back
        pass
    from csc_pipeline.config import SAMPLE_LA_CODE, SAMPLE_LA_NAME

    return (
        f"{SAMPLE_LA_NAME} (sample council)" if la_code == SAMPLE_LA_CODE else f"Council {la_code}"
    )


def assemble(
    warehouse: Path, la_code: str, month: str | None = None, *, suppress_small: bool = True
) -> PackData:
    """Read every figure of the pack for one council and month (default: latest complete)."""
    if not warehouse.exists():
        raise PackError(f"no published warehouse for council {la_code} at {warehouse}")
    with connect(warehouse, read_only=True) as con:
        return _assemble(con, la_code, month, suppress_small)


def _assemble(con, la_code: str, month: str | None, suppress_small: bool) -> PackData:
    if not table_exists(con, "marts", "kpi_monthly"):
        raise PackError("the warehouse has no marts.kpi_monthly: no night has been built")
    night = con.execute(
        "select strftime(export_date, '%Y-%m-%d'), strftime(published_at, '%Y-%m-%d %H:%M') "
        "from meta.nights where la_code = ? and status = 'published' "
        "order by export_date desc limit 1",
        [la_code],
    ).fetchone()
    if night is None:
        raise PackError(f"council {la_code} has no published night in this warehouse")
    as_at = con.execute("select max(as_at_date) from marts.kpi_monthly").fetchone()[0]
    latest = latest_complete_month(as_at)
    chosen = month_start(month) if month else latest
    if chosen > latest:
        raise PackError(
            f"{month_label(chosen)} is not complete as at {as_at:%Y-%m-%d}: "
            f"the latest complete month is {latest:%Y-%m}"
        )
    first = con.execute(
        "select min(month_start) from marts.kpi_monthly where team_id is null"
    ).fetchone()[0]
    if first is None or chosen < first:
        raise PackError(f"no figures for {chosen:%Y-%m} (the first month with data is {first})")

    tolerance = amber_tolerance(con)
    indicators = _indicators(con)
    trend_start = add_months(chosen, -(TREND_MONTHS - 1))
    fy_prev = add_months(financial_year_start(chosen), -12)
    since = min(trend_start, fy_prev)
    cols = _columns(con, "marts", "kpi_monthly")
    reason = _reason_column(cols)
    reason_sql = f", {reason} as reason" if reason else ", cast(null as varchar) as reason"
    rows = _dicts(
        con.execute(
            f"""
            select kpi_code, month_start, team_id, team_name, numerator, denominator, value,
                   rag, target, higher_is_better, value_unit {reason_sql}
            from marts.kpi_monthly
            where month_start between ? and ?
            """,
            [since, chosen],
        )
    )
    for row in rows:
        ind = indicators.get(row["kpi_code"])
        if ind is None:
            continue
        if row["team_id"] is None:
            ind.months[row["month_start"]] = row
        elif row["month_start"] == chosen:
            ind.teams.append(row)
    months = [add_months(trend_start, i) for i in range(TREND_MONTHS)]
    first_month = max(first, trend_start)
    months = [m for m in months if m >= first_month] or [chosen]

    bench = Benchmarks.load(con, la_code)
    return PackData(
        la_code=la_code,
        council_name=council_name(la_code),
        month=chosen,
        as_at=as_at,
        export_date=night[0],
        published_at=night[1] or "",
        tolerance=tolerance,
        indicators=indicators,
        benchmarks=bench,
        months=months,
        as_at_figures=_as_at_figures(con),
        durations=_durations(con, chosen),
        audit_grades=_audit_grades(con, add_months(chosen, -11), chosen),
        audit_matrix=_audit_matrix(con, add_months(chosen, -11), chosen),
        caseload_bands=_caseload_bands(con, chosen),
        teams_above_target=_teams_above_target(indicators.get("CASELOAD_PER_FTE"), chosen),
        dq=_dq(con, la_code, chosen, night[0]),
        definitions=[
            {
                "code": i.code,
                "name": i.name,
                "numerator": i.numerator_definition,
                "denominator": i.denominator_definition,
                "spec": i.spec_reference,
                "direction": "higher is better" if i.higher_is_better else "lower is better",
                "target": cat.fmt_value(i.target, i.unit) if i.target is not None else "no target",
            }
            for i in indicators.values()
        ],
        suppress_small=suppress_small,
    )


def _indicators(con) -> dict[str, Indicator]:
    """Every monthly indicator (FLOW and STOCK) of the catalogue, in journey order."""
    kpi_rows = _dicts(
        con.execute(
            "select * from marts.dim_kpi where kpi_type in ('FLOW', 'STOCK')"
            if table_exists(con, "marts", "dim_kpi")
            else "select distinct kpi_code, kpi_name, value_unit, higher_is_better, target, "
            "'FLOW' as kpi_type from marts.kpi_monthly"
        )
    )
    by_code = {}
    for r in kpi_rows:
        by_code[r["kpi_code"]] = Indicator(
            code=r["kpi_code"],
            name=r["kpi_name"],
            unit=r["value_unit"],
            higher_is_better=bool(r["higher_is_better"]),
            target=cat.to_float(r.get("target")),
            kpi_type=r.get("kpi_type") or "FLOW",
            numerator_definition=r.get("numerator_definition") or "",
            denominator_definition=r.get("denominator_definition") or "",
            spec_reference=r.get("spec_reference") or "",
            tolerance=cat.to_float(r.get("amber_tolerance")),
        )
    return {c: by_code[c] for c in cat.journey_order(list(by_code))}


def _as_at_figures(con) -> dict:
    if not table_exists(con, "marts", "kpi_headline"):
        return {}
    rows = _dicts(
        con.execute(
            "select kpi_code, kpi_name, numerator, denominator, value, value_unit "
            "from marts.kpi_headline where period = 'AS_AT' and team_id is null"
        )
    )
    return {r["kpi_code"]: r for r in rows}


BAND_COLUMNS = (
    ("band_0", "0 (same day)"),
    ("band_1_10", "1-10"),
    ("band_11_20", "11-20"),
    ("band_21_30", "21-30"),
    ("band_31_40", "31-40"),
    ("band_41_45", "41-45"),
    ("band_46_50", "46-50"),
    ("band_51_60", "51-60"),
    ("band_61_plus", "61+"),
)


def _durations(con, month: dt.date) -> list[dict]:
    if not table_exists(con, "marts", "kpi_assessment_durations"):
        return []
    cols = ", ".join(c for c, _ in BAND_COLUMNS)
    row = con.execute(
        f"select {cols}, median_working_days from marts.kpi_assessment_durations "
        "where month_start = ? and team_id is null",
        [month],
    ).fetchone()
    if row is None:
        return []
    return [
        {"band": label, "count": cat.to_float(row[i]), "within": i < 6}
        for i, (_, label) in enumerate(BAND_COLUMNS)
    ] + [{"band": "median", "count": cat.to_float(row[-1]), "within": None}]


def _audit_grades(con, start: dt.date, end: dt.date) -> list[dict]:
    rows = con.execute(
        """
        select completed_month_start, final_grade, count(*)
        from marts.fct_case_audits
        where is_counted_in_kpis and completed_month_start between ? and ?
          and final_grade is not null
        group by 1, 2 order by 1, 2
        """,
        [start, end],
    ).fetchall()
    return [{"month": m, "grade": g, "count": int(n)} for m, g, n in rows]


def _audit_matrix(con, start: dt.date, end: dt.date) -> dict:
    rows = con.execute(
        """
        select audit_grade, moderated_grade, count(*)
        from marts.fct_case_audits
        where is_counted_in_kpis and completed_month_start between ? and ?
          and moderated_grade is not null and audit_grade is not null
        group by 1, 2
        """,
        [start, end],
    ).fetchall()
    return {(a, m): int(n) for a, m, n in rows}


def _caseload_bands(con, month: dt.date) -> list[dict]:
    """Case-holding workers per caseload-per-FTE band at the month's reporting snapshot."""
    rows = con.execute(
        """
        select caseload_per_fte from marts.fct_caseloads
        where month_start = ? and is_kpi_reporting_snapshot and is_counted_in_fte
        """,
        [month],
    ).fetchall()
    values = [float(r[0]) for r in rows if r[0] is not None]
    bands = []
    edges = list(CASELOAD_BANDS)
    for i, lo in enumerate(edges):
        hi = edges[i + 1] if i + 1 < len(edges) else None
        n = sum(1 for v in values if v >= lo and (hi is None or v < hi))
        bands.append({"band": f"{lo}-{hi}" if hi else f"{lo}+", "lo": lo, "hi": hi, "workers": n})
    return bands


def _teams_above_target(ind: Indicator | None, month: dt.date) -> list[dict]:
    if ind is None or ind.target is None:
        return []
    out = []
    for row in ind.teams:
        value = cat.to_float(row["value"])
        if value is not None and value > ind.target:
            out.append({"team": row["team_name"] or row["team_id"], "value": value})
    return sorted(out, key=lambda r: -r["value"])


def _dq(con, la_code: str, month: dt.date, export_date: str) -> dict:
    """Open data-quality issues by rule as at the night, and what changed since the month."""
    from csc_pipeline.quality.rules import RULES

    if not table_exists(con, "dq", "dq_issues"):
        return {"rules": [], "since": None, "open": 0, "new": 0, "resolved": 0}
    since = add_months(month, 1)  # the previous pack covered up to this month's start
    rows = con.execute(
        """
        select rule_id, severity,
               count(*) filter (where resolved_on is null) as open_issues,
               count(*) filter (where resolved_on is null and first_seen >= ?) as new_since,
               count(*) filter (where resolved_on >= ?) as resolved_since
        from dq.dq_issues where la_code = ?
        group by 1, 2 order by 3 desc, 1
        """,
        [since, since, la_code],
    ).fetchall()
    rules = [
        {
            "rule_id": r,
            "title": RULES[r].title if r in RULES else r,
            "severity": s,
            "open": int(o),
            "new": int(n),
            "resolved": int(x),
        }
        for r, s, o, n, x in rows
        if o or n or x
    ]
    return {
        "rules": rules,
        "since": since,
        "open": sum(r["open"] for r in rules),
        "new": sum(r["new"] for r in rules),
        "resolved": sum(r["resolved"] for r in rules),
    }
