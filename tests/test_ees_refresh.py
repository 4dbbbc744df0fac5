"""The EES benchmark refresh, against API answers on disk (never the network)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from csc_pipeline.pack import ees_refresh
from csc_pipeline.pack.benchmarks import seed_path

FIXTURES = Path(__file__).parent / "fixtures" / "ees"
DATASET = "342f9a01-26f0-2a71-91a1-f8bc0bee8b11"


def _fake_api(calls: list):
    answers = {
        f"{ees_refresh.API_BASE}/data-sets/{DATASET}": "summary.json",
        f"{ees_refresh.API_BASE}/data-sets/{DATASET}/meta": "meta.json",
        f"{ees_refresh.API_BASE}/data-sets/{DATASET}/query": "query.json",
    }

    def fetch(url: str, body: dict | None) -> dict:
        calls.append((url, body))
        return json.loads((FIXTURES / answers[url]).read_text())

    return fetch


def test_refresh_rewrites_only_the_rows_it_read(tmp_path):
    seed = tmp_path / "benchmark_values.csv"
    shutil.copy(seed_path("benchmark_values"), seed)
    before = {(r["kpi_code"], r["area_code"]): r for r in csv.DictReader(seed.open())}
    calls: list = []
    result = ees_refresh.refresh(_fake_api(calls), seed)
    assert result["errors"] == {} and result["rows_read"] == 3 and result["changed"]
    # the query asked for the latest period, national and regional, the wanted indicators
    body = calls[-1][1]
    assert {"timePeriods": {"eq": {"period": "2024/2025", "code": "FY"}}} in body["criteria"]["and"]
    assert sorted(body["indicators"]) == ["iPct", "iRe", "iRef"]
    after = {(r["kpi_code"], r["area_code"]): r for r in csv.DictReader(seed.open())}
    england = after[("REREFERRAL_12M_PCT", "E92000001")]
    assert england["period"] == "2024-25" and england["period_end"] == "2025-03-31"
    assert float(england["value"]) == pytest.approx(142900 / 632830)
    assert (england["numerator"], england["denominator"]) == ("142900", "632830")
    assert england["ees_version"] == "2.0" and england["ees_api_dataset_id"] == DATASET
    assert float(after[("REREFERRAL_12M_PCT", "E12000001")]["value"]) == pytest.approx(0.207)
    # suppressed: not supplied (null with a note), never 0
    nw = after[("REREFERRAL_12M_PCT", "E12000002")]
    assert nw["value"] == "" and "not supplied" in nw["note"]
    # the breakdown and local-authority rows are ignored; other indicators untouched
    assert ("REREFERRAL_12M_PCT", "E06000001") not in after
    for key, row in before.items():
        if key[0] != "REREFERRAL_12M_PCT":
            assert after[key] == row
    # a region the API did not return keeps its shipped value
    assert after[("REREFERRAL_12M_PCT", "E12000004")] == before[("REREFERRAL_12M_PCT", "E12000004")]


def test_no_network_keeps_the_seed_and_reports(tmp_path):
    seed = tmp_path / "benchmark_values.csv"
    shutil.copy(seed_path("benchmark_values"), seed)
    text = seed.read_text()

    def offline(url, body):
        raise OSError("network is unreachable")

    result = ees_refresh.refresh(offline, seed)
    assert result["rows_read"] == 0 and not result["changed"]
    assert "network is unreachable" in result["errors"]["REREFERRAL_12M_PCT"]
    assert seed.read_text() == text


def test_off_by_default(monkeypatch):
    monkeypatch.delenv("CSC_EES_REFRESH", raising=False)
    assert not ees_refresh.enabled()
    monkeypatch.setenv("CSC_EES_REFRESH", "true")
    assert ees_refresh.enabled()


def test_unknown_indicator_columns_are_an_error_not_a_guess():
    meta = json.loads((FIXTURES / "meta.json").read_text())
    for ind in meta["indicators"]:
        ind["column"] = "renamed_" + ind["column"]
    with pytest.raises(ees_refresh.EesError, match="none of the indicator columns"):
        ees_refresh.parse(
            ees_refresh.SOURCES[0],
            json.loads((FIXTURES / "summary.json").read_text()),
            meta,
            json.loads((FIXTURES / "query.json").read_text()),
        )
