"""The Improvement Board pack and the night's data-quality page (issue 13, items 1, 2, 4).

One published sample warehouse per module (the last night of the shared small sample:
its export carries the whole history), one pack rendered from it (HTML + PDF, through
the DAG step's own entry point), one headless Chromium for every browser check.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from helpers import copy_exports, night_dirs
from pdf_reader import read_pdf

REPO = Path(__file__).resolve().parents[1]


def _kpi_codes_in_spec() -> list[str]:
    """Every indicator code defined in docs/spec/kpis.md (e.g. ASSESS_45WD_PCT)."""
    text = (REPO / "docs" / "spec" / "kpis.md").read_text()
    return sorted(set(re.findall(r"\b((?:[A-Z0-9]+_)+(?:PCT|FTE))\b", text)))


@pytest.fixture(scope="module")
def published(small_sample, tmp_path_factory):
    """A published warehouse of the sample council (one night), and its settings."""
    from csc_pipeline.config import settings
    from csc_pipeline.steps import build, discover, land, publish, validate

    root = tmp_path_factory.mktemp("pack")
    last = night_dirs(small_sample)[-1].name
    exports = copy_exports(small_sample, root / "exports", nights=[last])
    mp = pytest.MonkeyPatch()
    mp.setenv("CSC_EXPORTS_ROOT", str(exports))
    mp.setenv("CSC_VAR_DIR", str(root / "var"))
    mp.setenv("CSC_WAREHOUSE", str(root / "warehouse" / "csc.duckdb"))
    mp.setenv("CSC_BOARD_PACK", "on")
    cfg = settings()
    ref = discover.select_night("999", cfg=cfg)
    ref = publish.run(build.run(validate.run(land.run(ref, cfg), cfg), cfg), cfg)
    yield {"ref": ref, "cfg": cfg, "warehouse": Path(ref["warehouse"])}
    mp.undo()


@pytest.fixture(scope="module")
def step_result(published):
    """The Board pack DAG's step on the night it picks with no asset events (the
    council's latest published night), and the nightly DAG's dq_page step."""
    from csc_pipeline.steps import board_pack, dq_page

    refs = board_pack.nights_to_render([], published["cfg"])
    night = published["ref"]["export_date"]
    assert [(r["la_code"], r["export_date"]) for r in refs] == [("999", night)]
    pack = board_pack.run(refs[0], published["cfg"])
    return {**pack, **dq_page.run(published["ref"], published["cfg"])}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    from csc_pipeline.pack.pdf import launch

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pack_page(browser, step_result):
    """The pack's HTML opened with every request outside file:// and 127.0.0.1 blocked."""
    from csc_pipeline.pack.pdf import PageCheck, open_blocked

    check = PageCheck()
    html = Path(step_result["board_pack"]["html"])
    page = open_blocked(browser, html.resolve().as_uri(), check)
    yield page, check
    page.close()


def _mart(warehouse: Path, month: str) -> dict[str, dict]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select kpi_code, numerator, denominator, value, value_unit, as_at_date "
            "from marts.kpi_monthly where team_id is null and month_start = ?::date",
            [f"{month}-01"],
        ).fetchall()
    finally:
        con.close()
    return {
        r[0]: {"num": r[1], "den": r[2], "value": r[3], "unit": r[4], "as_at": r[5]} for r in rows
    }


def test_step_writes_pack_for_latest_complete_month(step_result):
    pack = step_result["board_pack"]
    # the sample's last night is 2026-11-20: October 2026 is the latest complete month
    assert pack["month"] == "2026-10"
    assert pack["as_at"] == step_result["export_date"] == "2026-11-20"
    assert Path(pack["html"]).stat().st_size > 50_000
    assert Path(pack["pdf"]).read_bytes().startswith(b"%PDF-")
    assert Path(step_result["dq_page"]).is_file()


def test_pack_requests_nothing_and_logs_no_error(pack_page):
    page, check = pack_page
    assert check.blocked == []
    assert check.console_errors == []
    # and the file itself names no outside resource at all
    html = page.content()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert "@import" not in html and "@font-face" not in html and "<script" not in html


def test_scorecard_has_every_indicator_with_the_marts_value(pack_page, published):
    page, _ = pack_page
    mart = _mart(published["warehouse"], "2026-10")
    codes = _kpi_codes_in_spec()
    assert len(codes) == 10, codes  # the spec's indicators, all monthly (kpi_monthly)
    assert set(codes) <= set(mart), set(codes) - set(mart)
    rows = page.eval_on_selector_all(
        "table.scorecard tbody tr[data-kpi]",
        """rows => rows.map(r => ({code: r.dataset.kpi,
              value: r.querySelector('td.this').dataset.kpiValue,
              text: r.querySelector('td.this').innerText.trim()}))""",
    )
    shown = {r["code"]: r for r in rows}
    assert set(mart) <= set(shown), set(mart) - set(shown)  # and every other monthly one
    suppressed = 0
    for code in sorted(mart):  # the spec's ten and every other monthly indicator
        m, row = mart[code], shown[code]
        small = any(x is not None and 0 < x <= 5 for x in (m["num"], m["den"]))
        if m["value"] is None:
            assert row["text"].startswith(("not supplied", "none in period")), (code, row)
        elif small:
            suppressed += 1
            assert row["value"] == "" and row["text"].startswith("c"), (code, row)
        else:
            assert Decimal(row["value"]) == m["value"], (code, row, m)
            shown_value = (
                f"{100 * float(m['value']):.1f}%"
                if m["unit"] == "fraction"
                else f"{float(m['value']):.1f}"
            )
            assert row["text"].startswith(shown_value), (code, row, shown_value)
            num, den = float(m["num"]), float(m["den"])
            assert f"/{den:g}" in row["text"].replace(",", "") or f"/{den:,.1f}" in row["text"]
            assert f"({num:g}/" in row["text"].replace(",", "") or f"({num:,.1f}/" in row["text"]
    assert suppressed < len(mart)


def test_benchmark_rules_are_drawn_with_their_year(pack_page):
    page, _ = pack_page
    for code, label in {
        "ASSESS_45WD_PCT": "England 85.7% (2024-25)",
        "REREFERRAL_12M_PCT": "England 22.6% (2024-25)",
        "ICPC_15WD_PCT": "England 81.4% (2024-25)",
        "CP_2Y_PLUS_ENDED_PCT": "England 4.4% (2024-25)",
        "CASELOAD_PER_FTE": "England 15.4 (2024)",
    }.items():
        article = page.locator(f"article.indicator[data-kpi='{code}']")
        svg_text = article.locator("svg").first.inner_html()
        assert label in svg_text, (code, label)  # the rule's label, inside the chart
        assert "Target " in svg_text
        assert label in article.locator("p.rules").inner_text()
    # England's repeat-plan figure is not captured: "not supplied", never 0
    row = page.locator("table.scorecard tr[data-kpi='CP_REPEAT_EVER_PCT']")
    assert "not supplied (2024-25)" in row.inner_text()


def test_pdf_is_tagged_with_bookmarks_pages_and_as_at(step_result):
    info = read_pdf(Path(step_result["board_pack"]["pdf"]))
    assert info.tagged and info.lang == "en-GB"
    assert "as at 2026-11-20" in info.title
    top = [b.title for b in info.outline]
    assert top[:4] == [
        "Improvement Board performance pack",
        "Summary",
        "Exception report",
        "Scorecard",
    ]
    themes = [t for t in top if re.match(r"\d\. ", t)]
    # an indicator added to the catalogue before the pack places it goes last
    assert themes[6:] in ([], ["7. Other indicators"])
    assert themes[:6] == [
        "1. Front door",
        "2. Assessments",
        "3. Section 47 enquiries and initial conferences",
        "4. Child protection",
        "5. Workforce",
        "6. Quality assurance",
    ]
    assert top[-3:] == [
        "Team breakdown",
        "Data quality and caveats",
        "Appendix: definitions and benchmark sources",
    ]
    # every section starts a page, in order, and the page count covers them all
    starts = [b.page for b in info.outline]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert len(top) <= info.pages <= 60
    assert starts[-1] <= info.pages
    titles = info.all_titles()
    assert "Assessments authorised within 45 working days" in titles


def test_pack_is_accessible(pack_page):
    from axe_playwright_python.sync_playwright import Axe

    page, _ = pack_page
    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == []


def test_pack_shows_aggregates_only(step_result, published):
    html = Path(step_result["board_pack"]["html"]).read_text()
    con = duckdb.connect(str(published["warehouse"]), read_only=True)
    try:
        keys = [
            r[0]
            for r in con.execute("select person_key from marts.fct_cp_plans limit 50").fetchall()
        ]
        ids = [
            r[0]
            for r in con.execute(
                "select assessment_id from marts.fct_assessments limit 50"
            ).fetchall()
        ]
    finally:
        con.close()
    assert not any(k in html for k in keys)
    assert not any(i in html for i in ids)
    # small counts are suppressed in every table: no "(1/..." to "(5/..."
    assert not re.search(r"\(([1-5])/", html)


def test_dq_page_offline_by_rule_and_team(browser, step_result, published):
    from csc_pipeline.pack.pdf import PageCheck, open_blocked

    path = Path(step_result["dq_page"])
    html = path.read_text()
    con = duckdb.connect(str(published["warehouse"]), read_only=True)
    try:
        open_by_rule = dict(
            con.execute(
                "select rule_id, count(*) from dq.dq_issues where resolved_on is null group by 1"
            ).fetchall()
        )
        persons = [
            r[0] for r in con.execute("select person_id from dq.dq_issues").fetchall() if r[0]
        ]
    finally:
        con.close()
    assert open_by_rule, "the sample night has open data-quality issues"
    check = PageCheck()
    page = open_blocked(browser, path.resolve().as_uri(), check)
    try:
        assert check.blocked == [] and check.console_errors == []
        rows = page.eval_on_selector_all(
            "#rules-table tbody tr",
            "rows => rows.map(r => [r.cells[0].innerText.trim(), r.cells[3].innerText.trim()])",
        )
        shown = {rule: int(n) for rule, n in rows if rule in open_by_rule}
        assert shown == open_by_rule
        assert page.locator("#teams-table").is_visible()
        from axe_playwright_python.sync_playwright import Axe

        violations = Axe().run(page).response["violations"]
        assert [v["id"] for v in violations if v["impact"] in ("serious", "critical")] == []
    finally:
        page.close()
    assert "<script" not in html and "http" not in html.split("</style>")[0]
    # no case-system person id (the record id is how a manager finds the record)
    assert not any(re.search(rf"\b{re.escape(p)}\b", html) for p in persons)


def test_figures_not_available_are_never_zero_and_small_counts_are_suppressed():
    from csc_pipeline.pack.catalogue import Figure, direction

    missing = Figure(None, None, None, "fraction", reason="agency flags not supplied")
    assert missing.text == "not supplied" and "agency flags not supplied" in missing.note
    assert Figure(None, 0, 0, "fraction").text == "none in period"
    assert Figure(None, None, None, "fraction", present=False).text == "no records"
    small = Figure(0.4, 2, 5, "fraction")
    assert small.suppressed and small.text == "c" and not small.available
    zero = Figure(0.0, 0, 7, "fraction")
    assert zero.text == "0.0% (0/7)" and zero.low_n and "low n" in zero.note
    assert Figure(15.19, 799, 52.6, "children_per_fte").text == "15.2 (799/52.6)"
    assert direction(0.80, 0.85, "fraction", higher_is_better=True) == "worse"
    assert direction(0.20, 0.25, "fraction", higher_is_better=False) == "better"
    assert direction(0.851, 0.845, "fraction", higher_is_better=True) == "same"


def test_without_chromium_the_html_pack_is_still_written(published, monkeypatch, tmp_path):
    from csc_pipeline.pack import build_pack, pdf

    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    result = build_pack(published["warehouse"], "999", "2026-09", var_dir=tmp_path)
    assert result.pdf is None and result.month == "2026-09"
    assert "September 2026" in result.html.read_text()
