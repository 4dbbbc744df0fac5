"""The dashboard over a published sample warehouse: every page (Streamlit AppTest), who
sees what (access by role, in the page and in the download), and the real app in
headless Chromium (Playwright, Debian's chromium) behind a sign-on header.

One published warehouse for the session (conftest.published_sample: two nights of the
small sample through the DAG).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import duckdb
import pytest
from conftest import REPO

from csc_pipeline.dashboard import access

pytestmark = pytest.mark.slow

APP = REPO / "include" / "csc_pipeline" / "dashboard" / "app.py"
TEAM_A, TEAM_B = "T101", "T102"  # sample teams: T101 has overdue assessments, T102 CP work
MANAGER_A = "manager.t101@northbridge.example"
HEAD_SG = "head.sg@northbridge.example"
ENGINEER = "engineer@northbridge.example"


@pytest.fixture(scope="module")
def published(published_sample):
    return published_sample


@pytest.fixture()
def dash_env(published, monkeypatch):
    monkeypatch.setenv("CSC_WAREHOUSE", str(published["warehouse"]))
    monkeypatch.setenv("CSC_VAR_DIR", str(published["var"]))
    for name in (
        "CSC_DASHBOARD_DEV_IDENTITY",
        "CSC_ROUTING_FILE",
        "CSC_ACCESS_FILE",
        "CSC_LA_CODES",
    ):
        monkeypatch.delenv(name, raising=False)
    return published


def marts(published, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(published["warehouse"]), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def person_ids(published, team: str) -> set[str]:
    """Every case-system person id on the team's worklists, straight from the marts'
    flags, the restricted ids and the open data-quality issues (what the dashboard must
    show the team's manager)."""
    rows = marts(
        published,
        """
        select p.person_id from marts.fct_assessments a
        join restricted.restricted_person_ids p using (person_key)
        where a.team_id = $team and (a.is_overdue or a.is_due_soon)
        union
        select p.person_id from marts.fct_cp_visits_due v
        join restricted.restricted_person_ids p using (person_key)
        where v.team_id = $team and v.is_visit_overdue
        union
        select p.person_id from marts.fct_icpc c
        join restricted.restricted_person_ids p using (person_key)
        where c.team_id = $team and c.is_overdue_not_held and not c.is_transfer_in
        union
        select person_id from dq.dq_issues
        where team_id = $team and resolved_on is null and person_id is not null
        """,
        {"team": team},
    )
    return {r[0] for r in rows}


def app_test(identity: str | None, page: str | None = None, query: dict | None = None):
    from streamlit.testing.v1 import AppTest

    if identity:
        os.environ["CSC_DASHBOARD_DEV_IDENTITY"] = identity
    else:
        os.environ.pop("CSC_DASHBOARD_DEV_IDENTITY", None)
    at = AppTest.from_file(str(APP), default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame(at, column: str):
    """The first dataframe on the page with this column."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def page_text(at) -> str:
    """Everything the page rendered: text elements and every dataframe cell."""
    parts = [
        str(e.value)
        for kind in ("markdown", "title", "subheader", "caption", "info")
        for e in getattr(at, kind)
    ]
    parts += [m.label + " " + str(m.value) for m in at.metric]
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    return "\n".join(parts)


# --- AppTest: every page ------------------------------------------------------------


def test_every_page_renders_for_an_engineer(dash_env):
    at = app_test(ENGINEER)
    assert at.title[0].value == "KPI trends"
    # the trend table: one row per month of the chosen indicator, council-wide
    code = at.selectbox(key="kpi").value
    (n_months,) = marts(
        dash_env,
        "select count(*) from marts.kpi_monthly where kpi_code = ? and team_id is null",
        [code],
    )[0]
    assert len(at.dataframe[0].value) == min(n_months, 24)
    for page, title in (
        ("screens/team.py", "Team"),
        ("screens/data_quality.py", "Data quality"),
        ("screens/pipeline.py", "Pipeline health"),
    ):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.title[0].value == title
    # pipeline health: both published nights of the council
    # stage durations and failures as Airflow recorded them (the session's metadata DB)
    stages = frame(at, "median_s").set_index("stage")
    assert stages.loc["council_night.publish", "success"] >= 2
    health = frame(at, "nights_published")
    assert health.loc[0, "nights_published"] == len(dash_env["nights"])
    assert health.loc[0, "last_published_night"] == dash_env["nights"][-1]


def test_kpi_trends_carry_target_and_benchmarks(dash_env):
    at = app_test(None)
    at.selectbox(key="kpi").set_value("ASSESS_45WD_PCT").run()
    text = page_text(at)
    # the benchmark seeds (England 2024-25, board-pack.md) and the catalogue's target
    assert "England 2024-25 85.7%" in text and "Target 85.0%" in text
    table = frame(at, "RAG")
    (latest,) = marts(
        dash_env,
        "select value from marts.kpi_monthly where kpi_code = 'ASSESS_45WD_PCT' "
        "and team_id is null order by month_start desc limit 1",
    )[0]
    assert table["Value"].iloc[-1] == f"{float(latest) * 100:.1f}%"


def test_quarantined_nights_are_listed_with_their_reason(dash_env, monkeypatch, tmp_path):
    note = tmp_path / "quarantine" / "999" / "2026-11-21.json"
    note.parent.mkdir(parents=True)
    note.write_text(
        '{"la_code": "999", "export_date": "2026-11-21", "stage": "land", '
        '"quarantined_at": "2026-11-22T02:31:00Z", "message": "manifest rows disagree", '
        '"findings": [{"check": "rows"}]}'
    )
    monkeypatch.setenv("CSC_VAR_DIR", str(tmp_path))
    at = app_test(ENGINEER, "screens/data_quality.py")
    q = frame(at, "reason")
    assert q.to_dict("records")[0] | {"findings": 1} == {
        "night": "2026-11-21",
        "stage": "land",
        "quarantined_at": "2026-11-22T02:31:00Z",
        "reason": "manifest rows disagree",
        "findings": 1,
    }


def test_data_quality_page_counts_match_dq_issues(dash_env):
    at = app_test(ENGINEER, "screens/data_quality.py")
    (open_issues,) = marts(dash_env, "select count(*) from dq.dq_issues where resolved_on is null")[
        0
    ]
    assert f"{open_issues} open" in " ".join(c.value for c in at.caption)
    over = frame(at, "resolved")
    assert list(over["night"]) == dash_env["nights"]
    assert "Your teams' records" not in page_text(at)  # engineers: counts only


def test_team_manager_sees_their_team_and_none_of_another_teams_children(dash_env):
    from csc_pipeline.dashboard import data, views

    mine = person_ids(dash_env, TEAM_A)
    theirs = person_ids(dash_env, TEAM_B) - mine  # a child can be on both teams' lists
    assert mine and theirs

    at = app_test(MANAGER_A, "screens/team.py", {"team": TEAM_A})
    text = page_text(at)
    assert mine <= {p for p in mine if p in text}  # every child on A's worklists shown
    (overdue,) = marts(
        dash_env,
        "select count(*) from marts.fct_assessments where team_id = ? and is_overdue",
        [TEAM_A],
    )[0]
    assert at.metric[0].label == "Assessments overdue" and at.metric[0].value == str(overdue)
    shown = {i for df in at.dataframe if "Record id" in df.value for i in df.value["Record id"]}
    overdue_ids = marts(
        dash_env,
        "select assessment_id from marts.fct_assessments where team_id = ? and is_overdue",
        [TEAM_A],
    )
    assert {r[0] for r in overdue_ids} <= shown
    assert len(at.get("download_button")) == 1

    at.selectbox(key="team").set_value(TEAM_B).run()
    text = page_text(at)
    assert not any(p in text for p in theirs), "team B's children shown to team A's manager"
    assert "shown to the team's manager and head of service only" in text
    assert len(at.get("download_button")) == 0

    # the download is built for the viewer: never another team's rows
    source = data.sources()[0]
    night = data.worklists(source)
    book = access.load_access(
        access.SAMPLE_ACCESS_FILE,
        REPO / "config" / "routing.example.yml",
        {t: a for t, a in marts(dash_env, "select team_id, service_area_id from marts.dim_team")},
    )
    who = book.viewer(MANAGER_A)
    assert views.worklist_csv(who, night, TEAM_B) is None
    csv_a = views.worklist_csv(who, night, TEAM_A).decode()
    assert mine <= {p for p in mine if p in csv_a} and not any(p in csv_a for p in theirs)


@pytest.mark.parametrize("identity", [None, "stranger@elsewhere.example", ENGINEER])
def test_no_or_unknown_identity_and_engineers_see_aggregates_only(dash_env, identity):
    children = person_ids(dash_env, TEAM_A) | person_ids(dash_env, TEAM_B)
    at = app_test(identity, "screens/team.py", {"team": TEAM_A})
    text = page_text(at)
    assert not any(p in text for p in children)
    assert len(at.get("download_button")) == 0
    assert at.metric  # the counts (aggregates) are there
    at.switch_page("screens/data_quality.py").run()
    assert not any(p in page_text(at) for p in children)
    if identity != ENGINEER:  # no pipeline-health page (not in the navigation, or refused)
        try:
            at.switch_page("screens/pipeline.py").run()
        except ValueError as exc:
            assert "Could not find a navigation page" in str(exc)
        else:
            assert not any("nights_published" in df.value.columns for df in at.dataframe)


def test_head_of_service_sees_every_team_of_the_service_area(dash_env):
    (area,) = marts(
        dash_env, "select service_area_id from marts.dim_team where team_id = ?", [TEAM_B]
    )[0]
    assert area == "SG"
    at = app_test(HEAD_SG, "screens/team.py", {"team": TEAM_B})
    text = page_text(at)
    assert all(p in text for p in person_ids(dash_env, TEAM_B))
    at.selectbox(key="team").set_value(TEAM_A).run()  # Assessment service area: not theirs
    assert not any(p in page_text(at) for p in person_ids(dash_env, TEAM_A))


def test_identity_header_and_access_file(tmp_path):
    assert (
        access.identity_from_headers({"x-forwarded-email": " A@B.example "}, "X-Forwarded-Email")
        == "A@B.example"
    )
    assert access.identity_from_headers({}, "X-Forwarded-Email") is None
    bad = tmp_path / "access.yml"
    bad.write_text("users:\n  someone@n.example: superuser\n")
    with pytest.raises(Exception, match="role 'superuser' is not one of"):
        access.load_access(bad, None, {})
    book = access.load_access(
        access.SAMPLE_ACCESS_FILE, REPO / "config" / "routing.example.yml", {"T101": "AS"}
    )
    assert book.header == "X-Forwarded-Email"
    assert book.viewer("MANAGER.T101@northbridge.example").teams == {"T101"}
    assert book.viewer("deputy.t101@northbridge.example").may_see_team("T101")
    assert not book.viewer("analyst@northbridge.example").sees_children
    assert book.viewer(None).role == "anonymous"


# --- the real app in a browser ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def served(dash_env):
    port = free_port()
    env = {
        **os.environ,
        "CSC_WAREHOUSE": str(dash_env["warehouse"]),
        "CSC_VAR_DIR": str(dash_env["var"]),
        "PYTHONPATH": f"{REPO / 'include'}:{REPO / 'tools'}",
    }
    env.pop("CSC_DASHBOARD_DEV_IDENTITY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "csc_pipeline.dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stdout.read().decode()) from None
                time.sleep(0.5)
        else:
            raise TimeoutError("dashboard did not start")
        # bound to 127.0.0.1 only
        out = subprocess.run(
            ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True
        ).stdout
        local = {line.split()[3] for line in out.splitlines() if line.strip()}
        assert local <= {f"127.0.0.1:{port}"}, out
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def browser_page(p, identity: str | None):
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.skip("Debian chromium is not installed")
    browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
    context = browser.new_context(
        viewport={"width": 1400, "height": 1300},
        accept_downloads=True,
        extra_http_headers={"X-Forwarded-Email": identity} if identity else {},
    )
    return browser, context.new_page()


def test_browser_team_page_matches_the_marts(served, dash_env, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    mine = person_ids(dash_env, TEAM_A)
    theirs = person_ids(dash_env, TEAM_B) - mine
    (overdue,) = marts(
        dash_env,
        "select count(*) from marts.fct_assessments where team_id = ? and is_overdue",
        [TEAM_A],
    )[0]
    overdue_ids = {
        r[0]
        for r in marts(
            dash_env,
            "select assessment_id from marts.fct_assessments where team_id = ? and is_overdue",
            [TEAM_A],
        )
    }
    with sync_playwright() as p:
        browser, page = browser_page(p, MANAGER_A)
        try:
            page.goto(served + "/team?team=" + TEAM_B, wait_until="networkidle")
            expect(page.get_by_text("Signed in as:")).to_be_visible(timeout=60_000)
            expect(page.get_by_text("team manager (T101)")).to_be_visible()
            nav = page.get_by_test_id("stSidebarNav")
            expect(nav.get_by_text("Team", exact=True)).to_be_visible()
            assert nav.get_by_text("Pipeline health").count() == 0  # engineers' page
            # choose team A in the team picker
            page.get_by_test_id("stSelectbox").filter(has_text="Team").first.click()
            page.get_by_role("option", name=f"({TEAM_A})").click()
            expect(page.get_by_text(f"Assessments overdue: {overdue}")).to_be_visible(
                timeout=60_000
            )
            metric = page.get_by_test_id("stMetric").filter(has_text="Assessments overdue").first
            assert metric.get_by_test_id("stMetricValue").inner_text().strip() == str(overdue)
            page.screenshot(path=str(tmp_path / "team.png"))  # README: docs/img/dashboard-team.png
            # the worklist grid is a canvas: read it through its CSV download instead
            with page.expect_download() as download:
                page.get_by_role("button", name="Download the team's worklists (CSV)").click()
            path = tmp_path / "worklists.csv"
            download.value.save_as(path)
            csv_text = path.read_text()
            assert overdue_ids <= {i for i in overdue_ids if i in csv_text}
            assert mine <= {i for i in mine if i in csv_text} and not any(
                i in csv_text for i in theirs
            )
            assert "team_id" not in csv_text.splitlines()[0]
        finally:
            browser.close()


def test_browser_without_identity_shows_aggregates_only(served, dash_env):
    from playwright.sync_api import expect, sync_playwright

    children = person_ids(dash_env, TEAM_A)
    with sync_playwright() as p:
        browser, page = browser_page(p, None)
        try:
            page.goto(served + "/team?team=" + TEAM_A, wait_until="networkidle")
            expect(page.get_by_text("not signed in: aggregates only")).to_be_visible(timeout=60_000)
            expect(
                page.get_by_text("shown to the team's manager and head of service only")
            ).to_be_visible()
            assert (
                page.get_by_role("button", name="Download the team's worklists (CSV)").count() == 0
            )
            body = page.content()
            assert not any(pid in body for pid in children)
        finally:
            browser.close()


# --- the sample's own digests (written to the outbox by the DAG's alerts step) ------------


def test_sample_digests_list_each_record_once_with_worker_names(dash_env):
    """On the real sample (not a hand-built warehouse): every team digest of the last
    night lists each record once, carries each worker's name, and shows the 8670Q
    issues (assessment open over 45 working days) with the overdue assessments."""
    import csv
    import email
    import email.policy
    import io

    folder = dash_env["var"] / "outbox" / "999" / dash_env["nights"][-1]
    digests = sorted(folder.glob("T*.eml"))
    assert digests
    merged = 0
    for path in digests:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        (part,) = [p for p in msg.iter_attachments() if p.get_filename().endswith(".csv")]
        rows = list(csv.DictReader(io.StringIO(part.get_content())))
        keys = [(r["section"], r["record_type"], r["record_id"]) for r in rows]
        assert len(keys) == len(set(keys)), path.name
        work_ids = {r["record_id"] for r in rows if r["section"] != "dq_issue"}
        assert not [r for r in rows if r["section"] == "dq_issue" and r["record_id"] in work_ids], (
            path.name
        )
        assert all(r["worker_name"] for r in rows if r["worker_id"]), path.name
        merged += sum(1 for r in rows if r["also_data_quality_issue"].startswith("8670Q"))
    assert merged > 0
