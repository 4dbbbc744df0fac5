"""The pack's charts: Altair (Vega-Lite) specs rendered to inline SVG by vl-convert.

vl-convert renders in-process (no browser, no network); the SVG goes straight into the
HTML, so the pack needs no script or chart library at view time. Conventions
(board-pack.md): monthly lines with the target as a dashed rule and England /
statistical-neighbour averages as labelled horizontal rules carrying their year (never
plotted as monthly values); 100% stacked bars for audit grades; a histogram of workers
per caseload band with the threshold line. Colour is never the only carrier of meaning:
every chart has a text description and a data table beside it.
"""

from __future__ import annotations

import itertools
import re
from html import escape

import altair as alt
import pandas as pd
import vl_convert as vlc

FONT = "Liberation Sans, Arial, Helvetica, sans-serif"
INK = "#0b0c0c"
LINE = "#1d70b8"  # GOV.UK blue
TARGET = "#0b0c0c"
BENCH_COLOURS = {"England": "#912b88", "Statistical neighbours": "#a35200"}
GRADE_COLOURS = {
    "OUTSTANDING": "#00703c",
    "GOOD": "#85994b",
    "REQUIRES_IMPROVEMENT": "#f47738",
    "INADEQUATE": "#d4351c",
}
_ids = itertools.count(1)


def _config(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    return (
        chart.configure(font=FONT)
        .configure_axis(labelColor=INK, titleColor=INK, labelFontSize=11, titleFontSize=11)
        .configure_view(stroke=None)
    )


def to_svg(chart: alt.TopLevelMixin, label: str) -> str:
    """Render a chart to SVG with ids made unique in the page and an accessible name."""
    svg = vlc.vegalite_to_svg(_config(chart).to_json())
    prefix = f"ch{next(_ids)}-"
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)


def _fmt(value: float, unit: str) -> str:
    return f"{100 * value:.1f}%" if unit == "fraction" else f"{value:.1f}"


def _pct_axis(unit: str) -> dict:
    return {"format": ".0%"} if unit == "fraction" else {"format": ".0f"}


def trend(
    points: list[dict],
    *,
    unit: str,
    target: float | None,
    rules: list[dict],
    label: str,
    width: int = 430,
    height: int = 210,
) -> str:
    """Monthly line (points: month, value; None = gap) with a dashed target and benchmark rules.

    rules: [{"label": "England 85.7% (2024-25)", "value": 0.857, "kind": "England"}]
    """
    df = pd.DataFrame(points)
    df["month"] = pd.to_datetime(df["month"])
    values = [p["value"] for p in points if p["value"] is not None]
    extra = [r["value"] for r in rules if r["value"] is not None]
    if target is not None:
        extra.append(target)
    lo = min(values + extra, default=0)
    hi = max(values + extra, default=1)
    pad = (hi - lo) * 0.15 or (0.05 if unit == "fraction" else 1)
    domain = [max(0, lo - pad), hi + pad]
    if unit == "fraction":
        domain = [max(0.0, domain[0]), min(1.0, domain[1])]
    y = alt.Y(
        "value:Q", title=None, scale=alt.Scale(domain=domain), axis=alt.Axis(**_pct_axis(unit))
    )
    x = alt.X(
        "month:T", title=None, axis=alt.Axis(format="%b %y", labelAngle=-45, tickCount="month")
    )
    line = (
        alt.Chart(df)
        .mark_line(color=LINE, strokeWidth=2, point=alt.OverlayMarkDef(color=LINE, size=30))
        .encode(x=x, y=y)
    )
    layers = [line]
    rule_rows = []
    if target is not None:
        rule_rows.append(
            {"value": target, "label": f"Target {_fmt(target, unit)}", "kind": "Target"}
        )
    rule_rows += [
        {"value": r["value"], "label": r["label"], "kind": r["kind"]}
        for r in rules
        if r["value"] is not None
    ]
    # labels at the right end, alternately above and below their rule, so that close
    # values (target 85%, England 85.7%) stay readable
    for i, r in enumerate(sorted(rule_rows, key=lambda r: r["value"])):
        colour = TARGET if r["kind"] == "Target" else BENCH_COLOURS.get(r["kind"], "#505a5f")
        dash = [6, 4] if r["kind"] == "Target" else [1, 0] if r["kind"] == "England" else [2, 2]
        rdf = pd.DataFrame([r])
        layers.append(
            alt.Chart(rdf)
            .mark_rule(color=colour, strokeDash=dash, strokeWidth=1.5)
            .encode(y=alt.Y("value:Q"))
        )
        layers.append(
            alt.Chart(rdf)
            .mark_text(
                align="right",
                dy=11 if i % 2 == 0 else -6,
                color=colour,
                fontSize=10,
                x=width - 2,
                fontWeight="bold",
            )
            .encode(y=alt.Y("value:Q"), text="label:N")
        )
    chart = alt.layer(*layers).properties(width=width, height=height)
    return to_svg(chart, label)


def sparkline(values: list[float | None], label: str) -> str:
    df = pd.DataFrame({"i": list(range(len(values))), "value": values})
    chart = (
        alt.Chart(df)
        .mark_line(color=LINE, strokeWidth=1.5)
        .encode(
            x=alt.X("i:Q", axis=None),
            y=alt.Y("value:Q", axis=None, scale=alt.Scale(zero=False)),
        )
        .properties(width=110, height=28)
    )
    return to_svg(chart, label)


def bars(
    rows: list[dict],
    *,
    category: str,
    value: str,
    unit: str,
    label: str,
    threshold: float | None = None,
    threshold_label: str = "",
    horizontal: bool = True,
    width: int = 380,
    sort: list[str] | None = None,
) -> str:
    """Bars of one value per category (team breakdown, duration bands, caseload bands)."""
    df = pd.DataFrame(rows)
    axis = alt.Axis(**_pct_axis(unit)) if unit == "fraction" else alt.Axis(format="d")
    if horizontal:
        enc = {
            "y": alt.Y(
                f"{category}:N", title=None, sort=sort or None, axis=alt.Axis(labelLimit=260)
            ),
            "x": alt.X(f"{value}:Q", title=None, axis=axis),
        }
        height = max(60, 22 * len(rows))
    else:
        enc = {
            "x": alt.X(f"{category}:N", title=None, sort=sort or None, axis=alt.Axis(labelAngle=0)),
            "y": alt.Y(f"{value}:Q", title=None, axis=axis),
        }
        height = 180
    base = alt.Chart(df).mark_bar(color=LINE).encode(**enc)
    layers = [base]
    if threshold is not None:
        tdf = pd.DataFrame([{"t": threshold, "label": threshold_label}])
        if horizontal:
            layers.append(alt.Chart(tdf).mark_rule(color=TARGET, strokeDash=[6, 4]).encode(x="t:Q"))
            layers.append(
                alt.Chart(tdf)
                .mark_text(align="left", dx=3, y=-6, fontSize=10, color=TARGET)
                .encode(x="t:Q", text="label:N")
            )
        else:
            layers.append(
                alt.Chart(tdf).mark_rule(color=TARGET, strokeDash=[6, 4]).encode(x=alt.X("label:N"))
            )
    chart = alt.layer(*layers).properties(width=width, height=height)
    return to_svg(chart, label)


def caseload_histogram(bands: list[dict], *, threshold: float | None, label: str) -> str:
    """Workers per caseload-per-FTE band, with the threshold as a dashed vertical rule."""
    df = pd.DataFrame(
        [
            {
                "lo": b["lo"],
                "hi": b["hi"] if b["hi"] is not None else b["lo"] + 10,
                "workers": b["workers"],
            }
            for b in bands
        ]
    )
    bars_ = (
        alt.Chart(df)
        .mark_bar(color=LINE, stroke="white")
        .encode(
            x=alt.X(
                "lo:Q", title="children per FTE", scale=alt.Scale(domain=[0, float(df["hi"].max())])
            ),
            x2="hi:Q",
            y=alt.Y("workers:Q", title="workers", axis=alt.Axis(format="d")),
        )
    )
    layers = [bars_]
    if threshold is not None:
        tdf = pd.DataFrame([{"t": threshold, "label": f"threshold {threshold:g}"}])
        layers.append(
            alt.Chart(tdf).mark_rule(color=TARGET, strokeDash=[6, 4], strokeWidth=2).encode(x="t:Q")
        )
        layers.append(
            alt.Chart(tdf)
            .mark_text(align="left", dx=4, y=4, fontSize=10, color=TARGET)
            .encode(x="t:Q", text="label:N")
        )
    return to_svg(alt.layer(*layers).properties(width=430, height=200), label)


def grade_stack(rows: list[dict], label: str) -> str:
    """Audit final grades per month as 100% stacked bars."""
    df = pd.DataFrame(rows)
    df["month"] = pd.to_datetime(df["month"]).dt.strftime("%b %y")
    order = list(GRADE_COLOURS)
    chart = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("month:N", title=None, sort=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("count:Q", stack="normalize", title=None, axis=alt.Axis(format="%")),
            color=alt.Color(
                "grade:N",
                scale=alt.Scale(domain=order, range=[GRADE_COLOURS[g] for g in order]),
                sort=order,
                legend=alt.Legend(title="final grade", orient="bottom", labelLimit=200),
            ),
            order=alt.Order("grade_order:Q"),
        )
        .transform_calculate(
            grade_order=" + ".join(f"(datum.grade == '{g}' ? {i} : 0)" for i, g in enumerate(order))
        )
        .properties(width=430, height=200)
    )
    return to_svg(chart, label)
