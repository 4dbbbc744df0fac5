"""What a run printed at the end: what was loaded, built, found and measured.

Reads the published warehouse read-only, so it never competes with a writer. Prints
counts and figures only: never a name, date of birth or case-system person id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from csc_pipeline import warehouse as wh
from csc_pipeline.config import Settings

_exists = wh.table_exists


def night_report(warehouse: Path) -> dict[str, Any]:
    """What the published warehouse holds: relations per schema, last published night."""
    with wh.connect(warehouse, read_only=True) as con:
        schemas = dict(
            con.execute(
                "select table_schema, count(*) from information_schema.tables group by 1 order by 1"
            ).fetchall()
        )
        last = con.execute(
            "select strftime(max(export_date), '%Y-%m-%d') from meta.nights where status = 'published'"
        ).fetchone()[0]
    return {"tables_by_schema": schemas, "last_published": last}


def council_summary(la_code: str, warehouse: Path, cfg: Settings) -> str:
    lines = [f"== Council {la_code}: {warehouse}"]
    if not warehouse.exists():
        return "\n".join(lines + ["  no warehouse yet (no night published)"])
    with wh.connect(warehouse, read_only=True) as con:
        nights = con.execute(
            "select strftime(export_date, '%Y-%m-%d'), status from meta.nights "
            "where la_code = ? order by export_date",
            [la_code],
        ).fetchall()
        published = [d for d, s in nights if s == "published"]
        lines.append(
            f"  nights published: {len(published)}"
            + (f" (latest {published[-1]})" if published else "")
        )
        quarantine_dir = cfg.var_dir / "quarantine" / la_code
        if quarantine_dir.is_dir():
            for report in sorted(quarantine_dir.glob("*.json")):
                lines.append(f"  QUARANTINED night {report.stem}: see {report}")
        if published:
            loads = con.execute(
                "select table_name, rows_loaded from meta.load_log where la_code = ? and export_date = ? "
                "order by table_name",
                [la_code, published[-1]],
            ).fetchall()
            lines.append(f"  raw rows landed on {published[-1]}: {sum(r for _, r in loads):,}")
            for table, rows in loads:
                lines.append(f"    raw.{table:<28}{rows:>10,}")
        schemas = con.execute(
            "select table_schema, count(*) from information_schema.tables "
            "where table_schema in ('raw', 'staging', 'intermediate', 'marts', 'snapshots', 'dq') "
            "group by 1 order by 1"
        ).fetchall()
        lines.append("  relations built: " + ", ".join(f"{s} {n}" for s, n in schemas))
        lines.extend(_dq_summary(con, published[-1] if published else None))
        lines.extend(_headline(con))
    lines.extend(_alerts(la_code, cfg))
    return "\n".join(lines)


def _alerts(la_code: str, cfg: Settings) -> list[str]:
    """Team digests and engineers' notices (from alert_log and the outbox)."""
    from csc_pipeline.alerts.nightly import council_alert_lines

    return council_alert_lines(la_code, cfg)


def _dq_summary(con: duckdb.DuckDBPyConnection, export_date: str | None) -> list[str]:
    if export_date is None or not _exists(con, "dq", "dq_issues"):
        return []
    rows = con.execute(
        """
        select rule_id, severity, count(*) as open_issues,
               count(*) filter (where first_seen = ?::date) as new_tonight
        from dq.dq_issues where resolved_on is null group by 1, 2 order by 2, 3 desc
        """,
        [export_date],
    ).fetchall()
    resolved = con.execute(
        "select count(*) from dq.dq_issues where resolved_on = ?::date", [export_date]
    ).fetchone()[0]
    out = [
        f"  data quality on {export_date}: {sum(r[2] for r in rows):,} open issues, "
        f"{sum(r[3] for r in rows):,} new tonight, {resolved:,} resolved tonight"
    ]
    out += [f"    {sev:<8} {rule:<34}{n:>8,} open {new:>6,} new" for rule, sev, n, new in rows]
    return out


HEADLINE_KPIS = (
    "ASSESS_45WD_PCT",
    "CP_REPEAT_EVER_PCT",
    "CP_REPEAT_2Y_PCT",
    "CASELOAD_PER_FTE",
    "CASELOAD_PER_WORKER",  # headcount figure, labelled so by its catalogue name
    "AGENCY_RATE",
    "AUDIT_GOOD_PLUS_PCT",
    "AUDIT_DOWNGRADE_PCT",
)
# Figures that are a number of cases, not a share (the rest print as percentages).
COUNT_KPIS = ("CASELOAD_PER_FTE", "CASELOAD_PER_WORKER")


def shown_value(code: str, unit: str | None, value, reason: str | None) -> str:
    """How the summary prints one figure. A figure the council does not supply (no
    case_audits feed, no agency flags, no FTE) is "not supplied", never 0 or a bare
    n/a: kpi_headline carries the reason (issue 12, item 4)."""
    if value is None:
        if reason:
            return "not supplied" if str(reason).startswith("not supplied") else "n/a"
        return "n/a"
    if code in COUNT_KPIS or (
        unit and "fraction" not in str(unit).lower() and "pct" not in code.lower()
    ):
        return f"{float(value):.1f}"
    return f"{100 * float(value):.1f}%"


def _headline(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The Board's headline figures: latest complete month and financial year to date."""
    if not _exists(con, "marts", "kpi_headline"):
        return []
    columns = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'kpi_headline'"
        ).fetchall()
    }
    reason = "unavailable_reason" if "unavailable_reason" in columns else "null"
    rows = con.execute(
        f"""
        select period, strftime(period_start, '%Y-%m-%d'), strftime(period_end, '%Y-%m-%d'),
               kpi_code, kpi_name, value_unit, numerator, denominator, value, rag,
               {reason} as unavailable_reason
        from marts.kpi_headline
        where team_id is null and kpi_code in (select unnest(?::varchar[]))
        order by period, kpi_code
        """,
        [list(HEADLINE_KPIS)],
    ).fetchall()
    out = ["  headline figures (whole council):"]
    order = {code: i for i, code in enumerate(HEADLINE_KPIS)}
    last_period = None
    for period, start, end, code, name, unit, num, den, value, rag, why in sorted(
        rows, key=lambda r: (r[0], order[r[3]])
    ):
        if period != last_period:
            out.append(f"    {period} ({start} to {end})")
            last_period = period
        shown = shown_value(code, unit, value, why)
        if value is None and why:
            detail = f"({why})"
        else:
            detail = f"({float(num or 0):g}/{float(den or 0):g}) {rag or ''}"
        out.append(f"      {name:<58}{shown:>12}  {detail}".rstrip())
    return out


def where_to_look(codes: list[str], cfg: Settings) -> str:
    """The last lines of a run: the files people open (Board pack, data-quality page)."""
    from csc_pipeline.pack import latest_outputs

    lines = ["", "Open these (self-contained files, no network needed):"]
    for code in codes:
        found = latest_outputs(cfg.var_dir, code)
        lines.append(f"  council {code}")
        if found["pack_html"]:
            lines.append(f"    Board pack {found['pack_month']} (HTML): {found['pack_html']}")
            lines.append(
                f"    Board pack {found['pack_month']} (PDF):  {found['pack_pdf'] or 'not printed'}"
            )
        else:
            lines.append("    Board pack: none yet (CSC_BOARD_PACK=off, or no complete month)")
        lines.append(
            f"    Data-quality page {found['dq_night']}: {found['dq_page']}"
            if found["dq_page"]
            else "    Data-quality page: none yet (no night published)"
        )
    return "\n".join(lines)
