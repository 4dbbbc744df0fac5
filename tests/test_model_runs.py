"""Per-model status of a dbt build: read from run_results.json, logged, kept per night."""

from __future__ import annotations

import json

import duckdb

from csc_pipeline import model_runs

RUN_RESULTS = {
    "metadata": {"invocation_id": "inv-1"},
    "elapsed_time": 3.2,
    "results": [
        {
            "unique_id": "model.csc.kpi_monthly",
            "status": "success",
            "execution_time": 1.25,
            "adapter_response": {"rows_affected": 408},
            "failures": None,
            "timing": [
                {"name": "compile", "started_at": "2026-11-20T02:31:00.000000Z"},
                {
                    "name": "execute",
                    "started_at": "2026-11-20T02:31:01.000000Z",
                    "completed_at": "2026-11-20T02:31:02.250000Z",
                },
            ],
        },
        {
            "unique_id": "test.csc.not_null_fct_referrals_referral_id.1a2b3c",
            "status": "fail",
            "execution_time": 0.05,
            "adapter_response": {},
            "failures": 3,
            "message": "Got 3 results, configured to fail if != 0",
            "timing": [],
        },
        {
            "unique_id": "exposure.csc.board_pack",
            "status": "no-op",
            "execution_time": 0.0,
            "timing": [],
        },
        {
            "unique_id": "seed.csc.england_bank_holidays",
            "status": "success",
            "execution_time": 0.4,
            "adapter_response": {"rows_affected": -1},
            "timing": [],
        },
    ],
}


def test_run_results_become_one_row_per_node_replaced_on_rerun(tmp_path):
    (tmp_path / "run_results.json").write_text(json.dumps(RUN_RESULTS))
    invocation, runs = model_runs.read_run_results(tmp_path)
    assert invocation == "inv-1"
    assert [r.resource_type for r in runs] == ["model", "test", "seed"]  # no exposure no-op
    kpi = next(r for r in runs if r.name == "kpi_monthly")
    assert (kpi.resource_type, kpi.status, kpi.rows_affected) == ("model", "success", 408)
    assert (kpi.completed_at - kpi.started_at).total_seconds() == 1.25
    test = next(r for r in runs if r.resource_type == "test")
    assert (test.status, test.failures) == ("fail", 3)
    assert next(r for r in runs if r.resource_type == "seed").rows_affected is None

    table = model_runs.summary_table(runs).splitlines()
    assert table[1].startswith("not_null_fct_referrals_referral_id")  # failures first
    assert "3 fail" in table[1] and "kpi_monthly" in table[2]

    warehouse = tmp_path / "work.duckdb"
    for _ in range(2):  # a re-run of the night replaces its rows
        model_runs.record(warehouse, "999", "2026-11-20", invocation, runs)
    model_runs.record(warehouse, "999", "2026-11-21", "inv-2", runs[:1])
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute(
        "select strftime(export_date, '%Y-%m-%d'), count(*) from meta.model_runs group by 1 order by 1"
    ).fetchall()
    cols = [r[0] for r in con.execute("describe meta.model_runs").fetchall()]
    con.close()
    assert rows == [("2026-11-20", 3), ("2026-11-21", 1)]
    assert "message" not in cols and "sql" not in " ".join(cols)  # no error text, no SQL


def test_no_run_results_records_nothing(tmp_path):
    assert model_runs.report_build(tmp_path, tmp_path / "w.duckdb", "999", "2026-11-20") == {
        "model_runs": 0
    }
    assert not (tmp_path / "w.duckdb").exists()
