"""Turn the assembled figures into the pack's pages: one self-contained HTML file.

The page has no script, no web font and no external reference of any kind: CSS is in
a <style> element, charts are inline SVG, fonts are the reader's system sans-serif
(Liberation Sans / Arial). `pdf.py` prints it to a tagged, bookmarked PDF.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from csc_pipeline.pack import catalogue as cat
from csc_pipeline.pack import charts
from csc_pipeline.pack.assemble import (
    GRADES,
    Indicator,
    PackData,
    add_months,
    financial_year_start,
    month_label,
)

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["count"] = count_text
    env.filters["date"] = lambda d: f"{d.day} {d:%B %Y}" if d else ""
    env.filters["month"] = lambda d: f"{d:%b %Y}"
    return env


def count_text(n, suppress: bool = True) -> str:
    value = cat.to_float(n)
    if value is None:
        return cat.NOT_SUPPLIED
    if suppress and cat.is_small(value):
        return "c"
    return cat.fmt_count(value)


def _figure(ind: Indicator, row: dict | None, suppress: bool) -> cat.Figure:
    if row is None:
        return cat.Figure(None, None, None, ind.unit, present=False, suppress_small=suppress)
    return cat.Figure(
        cat.to_float(row["value"]),
        cat.to_float(row["numerator"]),
        cat.to_float(row["denominator"]),
        ind.unit,
        reason=row.get("reason"),
        suppress_small=suppress,
    )


def _pooled(ind: Indicator, months: list[dt.date], suppress: bool) -> cat.Figure:
    rows = [ind.months[m] for m in months if m in ind.months]
    if not rows:
        return cat.Figure(None, None, None, ind.unit, present=False, suppress_small=suppress)
    num = sum(cat.to_float(r["numerator"]) or 0 for r in rows)
    den = sum(cat.to_float(r["denominator"]) or 0 for r in rows)
    return cat.Figure(num / den if den else None, num, den, ind.unit, suppress_small=suppress)


def _rag_text(rag: str | None, fig: cat.Figure | None = None, target=None) -> str:
    """RAG as text: the marts' RAG, or why there is none."""
    if fig is not None and fig.suppressed:
        return "suppressed"
    if fig is not None and not fig.available:
        return "not available"
    if rag:
        return rag
    return "no target"


def scorecard_row(data: PackData, ind: Indicator) -> dict:
    m = data.month
    s = data.suppress_small
    this = _figure(ind, ind.months.get(m), s)
    prev = [_figure(ind, ind.months.get(add_months(m, -k)), s) for k in (1, 2, 3)]
    rolling = _pooled(ind, [add_months(m, -k) for k in range(12)], s)
    fy = add_months(financial_year_start(m), -12)
    last_year = _pooled(ind, [add_months(fy, k) for k in range(12)], s)
    row = ind.months.get(m)
    england = data.benchmarks.england(ind.code)
    neighbours = data.benchmarks.neighbour_average(ind.code)
    trend = direction_of_travel(ind, this, prev[0])
    return {
        "code": ind.code,
        "name": ind.name,
        "unit": ind.unit,
        "polarity": "higher is better" if ind.higher_is_better else "lower is better",
        "target": cat.fmt_value(ind.target, ind.unit) if ind.target is not None else "no target",
        "tolerance": cat.amber_band(
            ind.target,
            ind.higher_is_better,
            ind.tolerance if ind.tolerance is not None else data.tolerance,
            ind.unit,
        ),
        "this": this,
        "prev": prev,
        "rolling": rolling,
        "last_year": last_year,
        "last_year_label": f"{fy.year}-{str(fy.year + 1)[2:]}",
        "england": _bench_text(england, ind.unit),
        "neighbours": _bench_text(neighbours, ind.unit),
        "direction": trend,
        "rag": _rag_text(row["rag"] if row else None, this),
        "raw_value": this.value if this.available else None,
        "theme": cat.theme_of(ind.code).title,
    }


def direction_of_travel(ind: Indicator, this: cat.Figure, prev: cat.Figure) -> str:
    if not this.available or not prev.available:
        return "not comparable"
    return cat.direction(this.value, prev.value, ind.unit, ind.higher_is_better) or "not comparable"


def _bench_text(b, unit: str) -> str:
    if b is None:
        return "no benchmark"
    year = f" ({b.period})" if b.period else ""
    if b.value is None:
        return f"{cat.NOT_SUPPLIED}{year}"
    return f"{cat.fmt_value(b.value, unit)}{year}"


def benchmark_rules(data: PackData, ind: Indicator) -> list[dict]:
    out = []
    for b in (data.benchmarks.england(ind.code), data.benchmarks.neighbour_average(ind.code)):
        if b is None or b.value is None:
            continue
        name = "England" if b.label == "England" else "SN average"
        out.append(
            {
                "label": f"{name} {cat.fmt_value(b.value, ind.unit)} ({b.period})",
                "value": b.value,
                "kind": b.label,
            }
        )
    return out


def theme_indicator(data: PackData, ind: Indicator, card: dict) -> dict:
    s = data.suppress_small
    points, table = [], []
    for m in data.months:
        fig = _figure(ind, ind.months.get(m), s)
        points.append({"month": m.isoformat(), "value": fig.value if fig.available else None})
        row = ind.months.get(m)
        table.append(
            {
                "month": m,
                "figure": fig,
                "rag": _rag_text(row["rag"] if row else None, fig),
            }
        )
    rules = benchmark_rules(data, ind)
    shown = [p for p in points if p["value"] is not None]
    first, last = data.months[0], data.months[-1]
    this = card["this"]
    parts = [
        f"Line chart of {ind.name.lower()} by month, {month_label(first)} to {month_label(last)} "
        f"({len(data.months)} months, {len(shown)} plotted).",
        f"{month_label(data.month)}: {this.text}.",
    ]
    if ind.target is not None:
        parts.append(f"Dashed line: target {card['target']} ({card['polarity']}).")
    for r in rules:
        parts.append(f"Horizontal rule: {r['label']} (an annual figure, not a monthly one).")
    if len(shown) < len(points):
        parts.append(
            f"{len(points) - len(shown)} month(s) not plotted: no records, not supplied or suppressed."
        )
    desc = " ".join(parts)
    chart = charts.trend(points, unit=ind.unit, target=ind.target, rules=rules, label=desc)
    return {"card": card, "chart": chart, "description": desc, "table": table, "rules": rules}


def team_breakdown(data: PackData, ind: Indicator) -> dict | None:
    if not ind.teams:
        return None
    s = data.suppress_small
    rows = []
    for r in ind.teams:
        fig = _figure(ind, r, s)
        rows.append(
            {
                "team": r["team_name"] or r["team_id"],
                "figure": fig,
                "n": fig.denominator,
                "rag": _rag_text(r["rag"], fig),
            }
        )
    sign = -1 if ind.higher_is_better else 1
    rows.sort(key=lambda r: (r["figure"].available is False, sign * (r["figure"].value or 0)))
    plotted = [
        {"team": r["team"], "value": r["figure"].value} for r in rows if r["figure"].available
    ]
    desc = (
        f"Bar chart of {ind.name.lower()} by team, {month_label(data.month)}, "
        f"{len(plotted)} of {len(rows)} teams plotted (others suppressed or not available), "
        f"sorted from best to worst"
        + (
            f"; dashed line: target {cat.fmt_value(ind.target, ind.unit)}."
            if ind.target is not None
            else "."
        )
    )
    chart = (
        charts.bars(
            plotted,
            category="team",
            value="value",
            unit=ind.unit,
            label=desc,
            threshold=ind.target,
            threshold_label="target",
            sort=[p["team"] for p in plotted],
        )
        if plotted
        else ""
    )
    return {"code": ind.code, "name": ind.name, "rows": rows, "chart": chart, "description": desc}


def summary(data: PackData, cards: list[dict]) -> dict:
    themes = []
    for theme in [*cat.THEMES, cat.OTHER_THEME]:
        rows = [c for c in cards if cat.theme_of(c["code"]) == theme]
        if not rows:
            continue
        tally = {k: 0 for k in ("GREEN", "AMBER", "RED", "no target", "not available")}
        travel = {k: 0 for k in ("better", "same", "worse", "not comparable")}
        for c in rows:
            tally[c["rag"] if c["rag"] in tally else "not available"] += 1
            travel[c["direction"]] += 1
        themes.append({"title": theme.title, "tally": tally, "travel": travel, "n": len(rows)})
    headlines = []
    for code in cat.HEADLINE_KPIS:
        ind = data.indicators.get(code)
        if ind is None:
            continue
        card = next(c for c in cards if c["code"] == code)
        series = [
            (f.value if f.available else None)
            for f in (_figure(ind, ind.months.get(m), data.suppress_small) for m in data.months)
        ]
        this, prev = card["this"], card["prev"][0]
        change = None
        if this.available and prev.available:
            delta = this.value - prev.value
            change = (
                f"{100 * delta:+.1f} points" if ind.unit == "fraction" else f"{delta:+.1f}"
            ) + " since last month"
        label = f"Sparkline of {ind.name.lower()} over {len(data.months)} months"
        headlines.append(
            {
                "card": card,
                "spark": charts.sparkline(series, label)
                if any(v is not None for v in series)
                else "",
                "spark_label": label,
                "change": change or "change since last month not comparable",
            }
        )
    return {"themes": themes, "headlines": headlines}


def audit_section(data: PackData) -> dict:
    s = data.suppress_small
    months = sorted({r["month"] for r in data.audit_grades})
    table = []
    for m in months:
        counts = {r["grade"]: r["count"] for r in data.audit_grades if r["month"] == m}
        table.append({"month": m, "counts": counts, "total": sum(counts.values())})
    desc = (
        "100% stacked bars of case-file audit final grades (moderated grade where moderated) "
        f"per month, {month_label(months[0]) if months else ''} to {month_label(data.month)}; "
        "the table below gives the counts (1-5 suppressed)."
    )
    chart = charts.grade_stack(data.audit_grades, desc) if data.audit_grades else ""
    matrix = [
        {"first": g, "cells": [data.audit_matrix.get((g, m), 0) for m in GRADES]} for g in GRADES
    ]
    moderated = sum(data.audit_matrix.values())
    downgraded = sum(
        n
        for (a, m), n in data.audit_matrix.items()
        if a in GRADES and m in GRADES and GRADES.index(m) > GRADES.index(a)
    )
    return {
        "chart": chart,
        "description": desc,
        "table": table,
        "grades": GRADES,
        "matrix": matrix,
        "moderated": moderated,
        "downgraded": cat.Figure(
            downgraded / moderated if moderated else None,
            downgraded,
            moderated,
            "fraction",
            suppress_small=s,
        ),
        "matrix_period": f"{month_label(add_months(data.month, -11))} to {month_label(data.month)}",
    }


def caseload_section(data: PackData) -> dict:
    ind = data.indicators.get("CASELOAD_PER_FTE")
    threshold = ind.target if ind else None
    workers = sum(b["workers"] for b in data.caseload_bands)
    above = sum(
        b["workers"] for b in data.caseload_bands if threshold is not None and b["lo"] >= threshold
    )
    desc = (
        f"Histogram of {workers} case-holding workers by caseload per FTE at the end of "
        f"{month_label(data.month)}, in bands of 5 (10 above 30); dashed line: the caseload "
        f"threshold {threshold:g} children per FTE."
        if threshold is not None
        else f"Histogram of {workers} case-holding workers by caseload per FTE at the end of {month_label(data.month)}."
    )
    chart = (
        charts.caseload_histogram(data.caseload_bands, threshold=threshold, label=desc)
        if workers
        else ""
    )
    return {
        "chart": chart,
        "description": desc,
        "bands": data.caseload_bands,
        "workers": workers,
        "threshold": threshold,
        "above_band": above,
        "teams_above": data.teams_above_target,
    }


def durations_section(data: PackData) -> dict | None:
    bands = [d for d in data.durations if d["band"] != "median"]
    if not bands:
        return None
    median = next((d["count"] for d in data.durations if d["band"] == "median"), None)
    rows = [
        {
            "band": b["band"],
            "count": b["count"],
            "shown": None if (data.suppress_small and cat.is_small(b["count"])) else b["count"],
        }
        for b in bands
    ]
    desc = (
        f"Bar chart of assessments authorised in {month_label(data.month)} by working days "
        f"from start to authorisation (DfE bands); bands up to 41-45 are within timescale; "
        f"median {median:g} working days. Bands of 1-5 are suppressed and not drawn."
        if median is not None
        else f"Bar chart of assessments authorised in {month_label(data.month)} by working days (DfE bands)."
    )
    plotted = [{"band": r["band"], "count": r["shown"] or 0} for r in rows]
    chart = charts.bars(
        plotted,
        category="band",
        value="count",
        unit="count",
        label=desc,
        horizontal=False,
        sort=[r["band"] for r in rows],
        width=430,
    )
    return {"rows": rows, "median": median, "chart": chart, "description": desc}


def context(data: PackData) -> dict:
    cards = [scorecard_row(data, ind) for ind in data.indicators.values()]
    by_code = {c["code"]: c for c in cards}
    themes = []
    for theme in [*cat.THEMES, cat.OTHER_THEME]:
        codes = [c for c in data.indicators if cat.theme_of(c) == theme]
        if not codes:
            continue
        themes.append(
            {
                "key": theme.key,
                "title": theme.title,
                "intro": theme.intro,
                "indicators": [
                    theme_indicator(data, data.indicators[c], by_code[c]) for c in codes
                ],
            }
        )
    exceptions = [c for c in cards if c["rag"] in ("RED", "AMBER")]
    teams = [
        t
        for t in (
            team_breakdown(data, data.indicators[c]) for c in cat.TEAM_KPIS if c in data.indicators
        )
        if t
    ]
    as_at = [
        {
            "name": r["kpi_name"],
            "figure": cat.Figure(
                cat.to_float(r["value"]),
                cat.to_float(r["numerator"]),
                cat.to_float(r["denominator"]),
                r["value_unit"],
                suppress_small=data.suppress_small,
            ),
            "code": code,
        }
        for code, r in data.as_at_figures.items()
        if code not in data.indicators or code in ("CASELOAD_PER_FTE", "AGENCY_RATE")
    ]
    period = month_label(data.month)
    return {
        "d": data,
        "period": period,
        "title": f"Improvement Board pack: {data.council_name}, {period} (as at {data.as_at:%Y-%m-%d})",
        "cards": cards,
        "summary": summary(data, cards),
        "exceptions": exceptions,
        "themes": themes,
        "teams": teams,
        "as_at_figures": as_at,
        "audit": audit_section(data),
        "caseload": caseload_section(data),
        "durations": durations_section(data),
        "sources": data.benchmarks.sources(),
        "generated": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "low_n": cat.LOW_N,
        "suppress": data.suppress_small,
    }


def render_html(data: PackData) -> str:
    return environment().get_template("pack/pack.html.j2").render(**context(data))
