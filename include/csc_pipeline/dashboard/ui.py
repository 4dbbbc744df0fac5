"""Shared pieces of the dashboard's pages: who is looking, which council, cached reads.

Reads are cached per published file version (its modification time), so the app
picks up a new night as soon as publish swaps the file, and never reads a working copy.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from csc_pipeline.dashboard import access, data

SECTION_TITLES = {
    "assessment_overdue": "Assessments overdue",
    "assessment_due_soon": "Assessments due soon",
    "icpc_overdue": "Initial conferences late (not held within the timescale)",
    "cp_visit_overdue": "Child protection visits overdue",
    "caseload": "Workers over the caseload threshold",
    "dq_issue": "Data-quality issues to correct",
}
SMALL_N = 20  # denominators below this are marked (board-pack.md)


def access_file() -> Path | None:
    configured = os.environ.get("CSC_ACCESS_FILE")
    if configured:
        return Path(configured)
    return access.SAMPLE_ACCESS_FILE if access.SAMPLE_ACCESS_FILE.is_file() else None


def routing_file(la_code: str) -> Path | None:
    from csc_pipeline.alerts.settings import alert_settings

    return alert_settings().routing_path(la_code)


@st.cache_data(show_spinner=False)
def _teams(source: data.Source, version: float) -> pd.DataFrame:
    return data.teams(source)


def teams(source: data.Source) -> pd.DataFrame:
    return _teams(source, source.version)


@st.cache_resource(show_spinner=False)
def _book(
    la_code: str, access_path: str | None, routing_path: str | None, areas: tuple
) -> access.AccessBook:
    return access.load_access(
        Path(access_path) if access_path else None,
        Path(routing_path) if routing_path else None,
        dict(areas),
    )


def viewer(source: data.Source) -> access.Viewer:
    """The signed-in user (the proxy's header), else the development identity, else
    anonymous. The development identity (CSC_DASHBOARD_DEV_IDENTITY, set by `make
    dashboard`) is for a developer's own machine and is shown as such on every page."""
    t = teams(source) if source.exists else pd.DataFrame(columns=["team_id", "service_area_id"])
    areas = tuple(zip(t["team_id"], t["service_area_id"], strict=True))
    book = _book(
        source.la_code,
        str(access_file()) if access_file() else None,
        str(routing_file(source.la_code)) if routing_file(source.la_code) else None,
        areas,
    )
    email = access.identity_from_headers(st.context.headers, book.header)
    dev = os.environ.get("CSC_DASHBOARD_DEV_IDENTITY")
    if email is None and dev:
        st.session_state["dev_identity"] = True
        email = dev
    return book.viewer(email)


def current_source() -> data.Source | None:
    all_sources = data.sources()
    if not all_sources:
        return None
    if len(all_sources) == 1:
        return all_sources[0]
    codes = [s.la_code for s in all_sources]
    code = st.sidebar.selectbox("Council", codes, key="council")
    return all_sources[codes.index(code)]


def header(source: data.Source, who: access.Viewer) -> None:
    st.sidebar.markdown(f"**Signed in as:** {who.label}")
    if st.session_state.get("dev_identity"):
        st.sidebar.warning("Development identity (CSC_DASHBOARD_DEV_IDENTITY): not for production.")


def cached(fn, source: data.Source, *args):
    """Call data.<fn>(source, *args) through the cache of this published version."""
    return _cached(fn.__name__, source, source.version, args)


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, source: data.Source, version: float, args: tuple):
    return getattr(data, name)(source, *args)


@st.cache_resource(show_spinner=False, max_entries=8)
def _worklists(source: data.Source, version: float):
    return data.worklists(source)


def worklists(source: data.Source):
    return _worklists(source, source.version)


def fmt_value(value, unit: str | None, unavailable: str | None = None) -> str:
    """87.5% / 15.2; a figure the council does not supply says so (never 0)."""
    if unavailable is not None and not pd.isna(unavailable) and str(unavailable).strip():
        return "not supplied"
    if value is None or pd.isna(value):
        return "no data"
    if unit == "fraction":
        return f"{float(value) * 100:.1f}%"
    return f"{float(value):.1f}"


def fmt_count(numerator, denominator) -> str:
    if denominator is None or pd.isna(denominator):
        return ""
    n, d = float(numerator or 0), float(denominator)
    text = f"{n:g}/{d:g}"
    return text + (" (small n)" if d < SMALL_N else "")


def no_warehouse(source: data.Source) -> None:
    st.title("CSC dashboard")
    st.error(
        f"No published warehouse for council {source.la_code} at {source.warehouse}. "
        "Run the pipeline first (`make run`), or set CSC_WAREHOUSE / CSC_DASHBOARD_WAREHOUSE."
    )
