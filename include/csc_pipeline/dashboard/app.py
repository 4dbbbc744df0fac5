"""Streamlit entry point: the pages this viewer's role allows (see access.py)."""

import streamlit as st

from csc_pipeline.dashboard import data, ui

st.set_page_config(page_title="CSC dashboard", layout="wide")

_source = ui.current_source() or data.sources()[0]
_who = ui.viewer(_source) if _source.exists else None
_pages = [
    st.Page("screens/kpi_trends.py", title="KPI trends", url_path="trends", default=True),
    st.Page("screens/team.py", title="Team", url_path="team"),
    st.Page("screens/data_quality.py", title="Data quality", url_path="data-quality"),
]
if _who is not None and _who.sees_pipeline:
    _pages.append(st.Page("screens/pipeline.py", title="Pipeline health", url_path="pipeline"))
st.navigation(_pages).run()
