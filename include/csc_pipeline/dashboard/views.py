"""The dashboard's pages (each screens/<page>.py calls one function here).

- kpi_trends:    every indicator's monthly trend with its target and benchmarks (all roles)
- team_page:     one team's figures and, for its manager / head of service, its worklists
- data_quality:  the night's issues by rule and team, new/resolved over time, quarantines
- pipeline:      nights published per council, stage durations, last success, failures

Every chart has a data table beside it (RAG written as text, never colour alone).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from csc_pipeline.dashboard import access, data, ui

WORKLIST_SECTIONS = (
    "assessment_overdue",
    "assessment_due_soon",
    "icpc_overdue",
    "cp_visit_overdue",
    "caseload",
    "dq_issue",
)


def _start():
    """Council and viewer for a page; None when there is nothing to show yet."""
    st.set_page_config(page_title="CSC dashboard", layout="wide")
    source = ui.current_source()
    if source is None or not source.exists:
        ui.no_warehouse(source or data.sources()[0])
        return None, None
    who = ui.viewer(source)
    ui.header(source, who)
    return source, who


# --- KPI trends ----------------------------------------------------------------------


def _trend_chart(series: pd.DataFrame, unit: str, target, bench: pd.DataFrame, title: str):
    scale = 100.0 if unit == "fraction" else 1.0
    plot = series.assign(
        month=pd.to_datetime(series["month_start"]),
        shown=series["value"].astype(float) * scale,
    )
    line = (
        alt.Chart(plot)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:T", title="Month"),
            y=alt.Y("shown:Q", title="%" if unit == "fraction" else "children per FTE"),
            tooltip=["month_start", "shown", "numerator", "denominator", "rag"],
        )
    )
    layers = [line]
    if target is not None and not pd.isna(target):
        rule = pd.DataFrame({"y": [float(target) * scale], "label": ["Target"]})
        layers.append(alt.Chart(rule).mark_rule(strokeDash=[6, 4], color="black").encode(y="y:Q"))
        layers.append(
            alt.Chart(rule).mark_text(align="left", dx=4, dy=-6).encode(y="y:Q", text="label:N")
        )
    if len(bench):
        b = bench.assign(
            y=bench["value"].astype(float) * scale,
            label=bench["comparator"] + " " + bench["period"].astype(str),
        )
        layers.append(alt.Chart(b).mark_rule(color="grey").encode(y="y:Q"))
        layers.append(
            alt.Chart(b)
            .mark_text(align="right", dx=-4, dy=-6, color="grey")
            .encode(y="y:Q", text="label:N", x=alt.value(560))
        )
    return alt.layer(*layers).properties(title=title, height=320)


def kpi_trends() -> None:
    source, who = _start()
    if source is None:
        return
    st.title("KPI trends")
    st.caption(f"Council {source.la_code}, published night as at {ui.cached(data.as_at, source)}.")
    catalogue = ui.cached(data.kpis, source)
    names = dict(zip(catalogue["kpi_code"], catalogue["kpi_name"], strict=True))
    code = st.selectbox(
        "Indicator", list(names), format_func=lambda c: f"{names[c]} ({c})", key="kpi"
    )
    teams = ui.teams(source)
    team_labels = {None: "Whole council"} | dict(
        zip(teams["team_id"], teams["team_name"], strict=True)
    )
    team = st.selectbox(
        "Team", list(team_labels), format_func=lambda t: team_labels[t], key="trend_team"
    )
    kpi = catalogue[catalogue["kpi_code"] == code].iloc[0]
    available = kpi.get("is_available")
    if available is not None and pd.notna(available) and not bool(available):
        st.warning(
            f"Not supplied tonight (so no figure, not zero): {kpi.get('unavailable_reason') or ''}"
        )
    series = ui.cached(data.kpi_series, source, code, team).tail(24)
    bench = ui.cached(data.benchmarks, source)
    bench = bench[bench["kpi_code"] == code]
    if series.empty:
        st.info("No figures for this indicator and team.")
        return
    st.altair_chart(
        _trend_chart(
            series, kpi["value_unit"], kpi["target"], bench, f"{names[code]}: {team_labels[team]}"
        ),
        width="stretch",
    )
    better = "higher is better" if kpi["higher_is_better"] else "lower is better"
    st.markdown(
        f"Target {ui.fmt_value(kpi['target'], kpi['value_unit'])} ({better}). "
        + (
            "Benchmarks: "
            + "; ".join(
                f"{r.comparator} {r.period} {ui.fmt_value(r.value, kpi['value_unit'])}"
                for r in bench.itertuples()
            )
            if len(bench)
            else "No benchmark values in this warehouse (the benchmark seeds are not loaded)."
        )
    )
    table = pd.DataFrame(
        {
            "Month": series["month_start"].astype(str),
            "Value": [
                ui.fmt_value(v, kpi["value_unit"], why)
                for v, why in zip(series["value"], series["unavailable_reason"], strict=True)
            ],
            "Numerator/denominator": [
                ui.fmt_count(n, d)
                for n, d in zip(series["numerator"], series["denominator"], strict=True)
            ],
            "RAG": series["rag"].fillna("no target"),
            "Complete month": series["is_complete_month"].map(
                {True: "yes", False: "no (month to date)"}
            ),
        }
    )
    st.dataframe(table, hide_index=True, width="stretch")


# --- team page ------------------------------------------------------------------------


def _pick_team(teams: pd.DataFrame, who: access.Viewer) -> str | None:
    ids = list(teams["team_id"])
    if not ids:
        return None
    wanted = st.query_params.get("team")
    area = st.query_params.get("area")
    if area and not wanted:
        in_area = [
            t for t, a in zip(teams["team_id"], teams["service_area_id"], strict=True) if a == area
        ]
        ids = in_area or ids
    default = wanted if wanted in ids else next((t for t in ids if t in who.teams), ids[0])
    names = dict(zip(teams["team_id"], teams["team_name"], strict=True))
    team = st.selectbox(
        "Team",
        ids,
        index=ids.index(default),
        format_func=lambda t: f"{names.get(t) or t} ({t})",
        key="team",
    )
    if team != st.query_params.get("team"):
        st.query_params["team"] = team
    return team


def worklist_csv(who: access.Viewer, night, team_id: str) -> bytes | None:
    """The team's worklists as CSV, or None when the viewer may not see them (the only
    way child-level rows leave the app)."""
    if night is None or not who.may_see_team(team_id):
        return None
    from csc_pipeline.alerts.render import render_csv

    digest = night.teams.get(team_id)
    return render_csv(digest.records if digest else []).encode("utf-8")


def team_page() -> None:
    source, who = _start()
    if source is None:
        return
    teams = ui.teams(source)
    st.title("Team")
    team = _pick_team(teams, who)
    if team is None:
        st.info("No teams in this warehouse.")
        return
    row = teams[teams["team_id"] == team].iloc[0]
    as_at = ui.cached(data.as_at, source)
    st.subheader(f"{row['team_name']} ({team})")
    st.caption(
        f"Service area {row['service_area_name']} ({row['service_area_id']}); as at {as_at}."
    )

    night = ui.worklists(source)
    digest = night.teams.get(team) if night else None
    counts = digest.counts() if digest else {}
    st.markdown("#### Work to act on tonight")
    cols = st.columns(len(WORKLIST_SECTIONS))
    for col, section in zip(cols, WORKLIST_SECTIONS, strict=True):
        value = counts.get(section, 0) if night else "no data"
        note = None
        if section == "dq_issue" and counts.get("dq_issue_merged"):
            # each record once: these are listed with the work items above
            note = f"{counts['dq_issue_merged']} shown with work items"
        col.metric(
            ui.SECTION_TITLES[section],
            value if isinstance(value, str) else int(value),
            delta=note,
            delta_color="off",
            delta_arrow="off",
        )
    if night is not None and night.not_supplied:
        st.caption(
            "Not supplied in this export (not counted, not zero): "
            + ", ".join(sorted(night.not_supplied))
        )

    figures = ui.cached(data.team_kpis, source, team)
    st.markdown("#### Figures (latest complete month)")
    if figures.empty:
        st.info("No monthly figures for this team.")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "Indicator": figures["kpi_name"],
                    "Code": figures["kpi_code"],
                    "Month": figures["month_start"].astype(str),
                    "Value": [
                        ui.fmt_value(v, u, why)
                        for v, u, why in zip(
                            figures["value"],
                            figures["value_unit"],
                            figures["unavailable_reason"],
                            strict=True,
                        )
                    ],
                    "Numerator/denominator": [
                        ui.fmt_count(n, d)
                        for n, d in zip(figures["numerator"], figures["denominator"], strict=True)
                    ],
                    "Target": [
                        ui.fmt_value(v, u)
                        for v, u in zip(figures["target"], figures["value_unit"], strict=True)
                    ],
                    "RAG": figures["rag"].fillna("no target"),
                }
            ),
            hide_index=True,
            width="stretch",
            key="team_figures",
        )

    if not who.may_see_team(team):
        st.info(
            "Child-level worklists are shown to the team's manager and head of service "
            "only. You are seeing aggregates."
        )
        return
    for section in WORKLIST_SECTIONS:
        frame = data.worklist_frame(digest.records if digest else [], section)
        title = ui.SECTION_TITLES[section]
        if section == "dq_issue":
            title = "Other data-quality issues to correct (not already listed above)"
        st.markdown(f"##### {title}: {len(frame)}")
        if len(frame):
            st.dataframe(frame, hide_index=True, width="stretch", key=f"wl_{section}")
    payload = worklist_csv(who, night, team)
    if payload is not None:
        st.download_button(
            "Download the team's worklists (CSV)",
            payload,
            file_name=f"worklists_{source.la_code}_{team}_{night.export_date}.csv",
            mime="text/csv",
            key="download_worklists",
        )


# --- data quality ---------------------------------------------------------------------


def data_quality() -> None:
    source, who = _start()
    if source is None:
        return
    st.title("Data quality")
    as_at = ui.cached(data.as_at, source)
    st.caption(f"Council {source.la_code}, as at {as_at}.")
    if "dq.dq_issues" not in ui.cached(data.relations, source):
        st.info("This warehouse has no data-quality issues table yet.")
        return
    by = ui.cached(data.dq_by_rule_team, source)
    st.markdown("#### Open issues tonight by rule and team")
    if by.empty:
        st.success("No open data-quality issues.")
    else:
        pivot = by.pivot_table(
            index=["rule_id", "severity"], columns="team_id", values="open_issues", fill_value=0
        )
        st.dataframe(pivot, width="stretch", key="dq_pivot")
        st.caption(
            f"{int(by['open_issues'].sum())} open, {int(by['new_tonight'].sum())} new tonight."
        )
    st.markdown("#### New and resolved over time")
    over = ui.cached(data.dq_over_time, source)
    if len(over):
        long = over.melt(
            id_vars="night",
            value_vars=["new", "resolved", "open"],
            var_name="what",
            value_name="issues",
        )
        st.altair_chart(
            alt.Chart(long)
            .mark_line(point=True)
            .encode(x=alt.X("night:T", title="Night"), y=alt.Y("issues:Q"), color="what:N")
            .properties(height=260),
            width="stretch",
        )
        st.dataframe(
            over.assign(night=over["night"].astype(str)), hide_index=True, key="dq_over_time"
        )
    st.markdown("#### Quarantined nights")
    q = ui.cached(data.quarantined, source)
    if q.empty:
        st.success("No night of this council is in quarantine.")
    else:
        st.dataframe(q, hide_index=True, width="stretch", key="quarantine")
    if who.sees_children:
        night = ui.worklists(source)
        records = [
            r
            for t in sorted(who.teams)
            if night and t in night.teams
            for r in night.teams[t].records
            if r["dq"]
        ]
        st.markdown(f"#### Your teams' records with a data-quality issue: {len(records)}")
        rows = [
            {
                "Team": r["team_id"],
                "Record": r["record_type"],
                "Record id": r["record_id"],
                "Person id (case system)": r.get("person_id") or "",
                "Rule": "; ".join(i["rule_id"] for i in r["dq"]),
                "Issue": "; ".join(i["detail"] for i in r["dq"]),
                "Also": ui.SECTION_TITLES[r["section"]] if r["section"] != "dq_issue" else "",
            }
            for r in records
        ]
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="dq_records")


# --- pipeline health ------------------------------------------------------------------


def pipeline() -> None:
    source, who = _start()
    if source is None:
        return
    st.title("Pipeline health")
    if not who.sees_pipeline:
        st.warning("Pipeline health is for data engineers and analysts.")
        return
    all_sources = data.sources()
    tis = data.task_instances()
    st.markdown("#### Stage durations (Airflow task instances of csc_nightly)")
    if tis.empty:
        st.info(
            "Airflow's metadata database is not reachable from the dashboard (CSC_DASHBOARD_AIRFLOW_DB)."
        )
    else:
        st.dataframe(data.stage_durations(tis), hide_index=True, width="stretch")
        failed = tis[tis["state"] == "failed"]
        st.markdown(f"#### Failed tasks: {len(failed)}")
        if len(failed):
            st.dataframe(
                failed[["run_id", "task_id", "map_index", "end_date", "try_number"]].astype(str),
                hide_index=True,
                width="stretch",
            )
    st.markdown("#### Councils")
    st.dataframe(data.health(all_sources), hide_index=True, width="stretch", key="health")
    for s in all_sources:
        if not s.exists:
            continue
        df = data.nights(s)
        st.markdown(f"#### Nights of council {s.la_code}")
        failed = df[df["status"] != "published"]
        st.caption(
            f"{int((df['status'] == 'published').sum())} published, {len(failed)} not published; "
            f"last success {df.loc[df['status'] == 'published', 'published_at'].max()}."
        )
        shown = df.assign(
            landed_at=df["landed_at"].astype(str),
            validated_at=df["validated_at"].astype(str),
            published_at=df["published_at"].astype(str),
        )
        st.dataframe(shown, hide_index=True, width="stretch", key=f"nights_{s.la_code}")
        durations = df.dropna(subset=["build_publish_s"])
        if len(durations):
            st.altair_chart(
                alt.Chart(durations)
                .mark_bar()
                .encode(
                    x=alt.X("night:N"),
                    y=alt.Y("build_publish_s:Q", title="seconds, landed or validated to published"),
                )
                .properties(height=220),
                width="stretch",
            )
        q = data.quarantined(s)
        if len(q):
            st.markdown("Failures (quarantined nights)")
            st.dataframe(q, hide_index=True, key=f"q_{s.la_code}")
