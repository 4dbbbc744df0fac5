"""The whole night through Airflow (`dag.test()`): land, validate, build, publish.

These are the slowest tests: one shared run of the sample's nights, then assertions on
what the published warehouse holds, plus re-run and bad-night behaviour.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from helpers import copy_exports, night_dirs, table_digests

from csc_pipeline.contract import TABLES
from csc_pipeline.steps import discover

pytestmark = pytest.mark.slow

STAGING = {
    "ssd_person": "stg_ssd__persons",
    "ssd_department": "stg_ssd__departments",
    "ssd_professionals": "stg_ssd__professionals",
    "ssd_involvements": "stg_ssd__involvements",
    "ssd_cin_episodes": "stg_ssd__cin_episodes",
    "ssd_cin_assessments": "stg_ssd__cin_assessments",
    "ssd_s47_enquiry": "stg_ssd__s47_enquiries",
    "ssd_initial_cp_conference": "stg_ssd__initial_cp_conferences",
    "ssd_cp_plans": "stg_ssd__cp_plans",
    "ssd_cp_visits": "stg_ssd__cp_visits",
    "ssd_cla_episodes": "stg_ssd__cla_episodes",
    "case_audits": "stg_ssd__case_audits",
}


def _dag():
    from airflow.dag_processing.dagbag import DagBag
    from conftest import REPO

    return DagBag(dag_folder=str(REPO / "dags")).get_dag("csc_nightly")


def _run(export_date: str | None = None) -> str:
    dr = _dag().test(run_conf={"export_date": export_date, "wait": False})
    return str(dr.state)


@pytest.fixture(scope="module")
def pipeline(small_sample, tmp_path_factory, airflow_db):
    """Run the DAG over the first two nights of the sample; keep night 3 for later tests."""
    root = tmp_path_factory.mktemp("e2e")
    exports = copy_exports(small_sample, root / "exports")
    env = {
        "CSC_EXPORTS_ROOT": str(exports),
        "CSC_WAREHOUSE": str(root / "wh" / "csc.duckdb"),
        "CSC_VAR_DIR": str(root / "var"),
        "CSC_KEEP_NIGHTS": "1",  # per-night Parquet / Data Docs: only the newest kept
    }
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    third = night_dirs(exports)[-1]
    held_back = root / "held_back"
    shutil.move(third, held_back)
    states = [_run(), _run()]
    yield {
        "root": root,
        "exports": exports,
        "warehouse": root / "wh" / "csc.duckdb",
        "var": root / "var",
        "states": states,
        "third": third,
        "held_back": held_back,
    }
    mp.undo()


def test_nights_published_oldest_first(pipeline):
    assert pipeline["states"] == ["success", "success"]
    con = duckdb.connect(str(pipeline["warehouse"]), read_only=True)
    rows = con.execute(
        "select strftime(export_date, '%Y-%m-%d'), status from meta.nights order by 1"
    ).fetchall()
    dates = [d.name for d in night_dirs(pipeline["exports"])]
    assert rows == [(d, "published") for d in dates]


def test_each_published_night_is_an_asset_event(pipeline):
    """Downstream DAGs run on a published night (csc_pipeline/assets.py, test_assets.py)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.name, AssetEvent.extra).join(
                AssetModel, AssetEvent.asset_id == AssetModel.id
            )
        ).all()
    ours = [
        (name, extra)
        for name, extra in rows
        if extra.get("warehouse") == str(pipeline["warehouse"])
    ]
    dates = [d.name for d in night_dirs(pipeline["exports"])]
    for asset in ("csc_published_night", "csc_published_night_999"):
        published = sorted(e["export_date"] for name, e in ours if name == asset)
        assert published == dates, asset
    assert all(e["la_code"] == "999" and e["published_tables"] > 0 for _, e in ours)


def test_model_runs_published_with_each_night(pipeline):
    """Per-model status of each night's dbt build (csc_pipeline/model_runs.py)."""
    con = duckdb.connect(str(pipeline["warehouse"]), read_only=True)
    rows = con.execute(
        "select strftime(export_date, '%Y-%m-%d'), resource_type, status, count(*) "
        "from meta.model_runs group by all order by all"
    ).fetchall()
    kpi = con.execute(
        "select count(*), min(execution_seconds) from meta.model_runs "
        "where unique_id = 'model.csc.kpi_monthly'"
    ).fetchone()
    con.close()
    dates = [d.name for d in night_dirs(pipeline["exports"])]
    assert sorted({r[0] for r in rows}) == dates
    assert {(r[1], r[2]) for r in rows} <= {
        ("model", "success"),
        ("seed", "success"),
        ("snapshot", "success"),
        ("test", "pass"),
        ("test", "warn"),
    }
    assert kpi[0] == len(dates) and kpi[1] > 0


def test_raw_and_staging_for_every_contract_table(pipeline):
    con = duckdb.connect(str(pipeline["warehouse"]), read_only=True)
    relations = set(
        con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
    )
    relations = {r[0] for r in relations}
    for table in TABLES:
        assert f"raw.{table.name}" in relations
        assert f"staging.{STAGING[table.name]}" in relations, f"no staging model for {table.name}"
    for mart in (
        "fct_assessments",
        "fct_cp_plans",
        "fct_caseloads",
        "fct_case_audits",
        "kpi_monthly",
    ):
        assert f"marts.{mart}" in relations
        assert con.execute(f"select count(*) from marts.{mart}").fetchone()[0] > 0


def test_marts_published_as_parquet(pipeline):
    latest = pipeline["var"] / "parquet" / "999" / "latest"
    assert latest.is_symlink()
    # two nights published, CSC_KEEP_NIGHTS=1: the older night's folders were pruned
    second = night_dirs(pipeline["exports"])[1].name
    for kind in ("parquet", "dq_docs"):
        kept = [p.name for p in (pipeline["var"] / kind / "999").iterdir() if not p.is_symlink()]
        assert kept == [second], kind
    con = duckdb.connect(str(pipeline["warehouse"]), read_only=True)
    for mart in ("kpi_monthly", "fct_assessments"):
        from_parquet = con.execute(
            f"select count(*) from read_parquet('{latest / (mart + '.parquet')}')"
        ).fetchone()[0]
        assert from_parquet == con.execute(f"select count(*) from marts.{mart}").fetchone()[0]


def test_rerun_of_a_published_night_is_idempotent(pipeline):
    last = night_dirs(pipeline["exports"])[-1].name
    before = table_digests(pipeline["warehouse"], ("raw", "marts", "snapshots", "dq", "meta"))
    assert _run(last) == "success"
    after = table_digests(pipeline["warehouse"], ("raw", "marts", "snapshots", "dq", "meta"))
    # meta.nights records the new publish time and meta.model_runs the re-run's own dbt
    # timings (its rows for the night are replaced, not added); everything else is identical
    before.pop("meta.nights")
    after.pop("meta.nights")
    assert after.pop("meta.model_runs")[0] == before.pop("meta.model_runs")[0]
    assert after == before


def test_bad_night_is_quarantined_and_marts_survive(pipeline):
    warehouse = pipeline["warehouse"]
    marts_before = table_digests(warehouse, ("marts",))
    bytes_before = warehouse.read_bytes()
    bad = pipeline["third"]
    shutil.copytree(pipeline["held_back"], bad)
    (bad / "ssd_cin_assessments.csv").unlink()  # a whole file missing
    assert _run() == "failed"
    assert warehouse.read_bytes() == bytes_before
    assert table_digests(warehouse, ("marts",)) == marts_before
    report = json.loads((pipeline["var"] / "quarantine" / "999" / f"{bad.name}.json").read_text())
    assert "ssd_cin_assessments.csv" in report["message"]
    # nothing pending: the same bad delivery is not retried ...
    assert not discover.pending_nights(pipeline["exports"], warehouse, "999", pipeline["var"])
    # ... and once re-delivered correctly, it loads
    shutil.rmtree(bad)
    shutil.copytree(pipeline["held_back"], bad)
    (bad / "manifest.json").write_text((bad / "manifest.json").read_text() + "\n")  # a new delivery
    assert _run() == "success"
    con = duckdb.connect(str(warehouse), read_only=True)
    assert (
        con.execute(
            "select max(export_date)::varchar from meta.nights where status = 'published'"
        ).fetchone()[0]
        == bad.name
    )


def test_dbt_unit_tests_pin_every_definition(pipeline, tmp_path):
    """The nightly build skips dbt's unit tests (they test definitions, not data) and the
    code-only tests; run them here, on a copy of the published warehouse, so CI still
    pins every definition and the marts' privacy guard."""
    from csc_pipeline.dbt_runner import run_dbt

    copy = tmp_path / "unit.duckdb"
    shutil.copy2(pipeline["warehouse"], copy)
    last = night_dirs(pipeline["exports"])[-1].name
    result = run_dbt(
        "test",
        warehouse=copy,
        la_code="999",
        export_date=last,
        # the code_only tests (the marts' privacy guard) and the seeds' tests run here,
        # not at night: their outcome depends on the code, not on the night's data
        extra_args=["--select", "test_type:unit", "tag:code_only", "path:seeds"],
        target_path=tmp_path / "target",
    )
    assert result.counts.get("pass", 0) >= 20 + 21 + 18 and not result.failures


def test_a_duplicate_mart_key_fails_the_build(pipeline, tmp_path):
    """Marts' keys are primary_key constraints of their enforced contracts (no unique /
    not_null data tests at night): a duplicated key fails the mart's build in the
    database itself, so the night is not published (steps/build.py discards the copy)."""
    from csc_pipeline.dbt_runner import DbtFailed, run_dbt

    copy = tmp_path / "dup.duckdb"
    shutil.copy2(pipeline["warehouse"], copy)
    con = duckdb.connect(str(copy))
    con.execute(
        "insert into intermediate.int_referrals__rereferrals "
        "select * from intermediate.int_referrals__rereferrals limit 1"
    )
    con.close()
    last = night_dirs(pipeline["exports"])[-1].name
    with pytest.raises(DbtFailed) as failed:
        run_dbt(
            "run",
            warehouse=copy,
            la_code="999",
            export_date=last,
            extra_args=["--select", "fct_referrals"],
            target_path=tmp_path / "target",
        )
    assert "model.csc.fct_referrals" in failed.value.args[0]
    assert "duplicate key" in failed.value.args[0].lower()


def test_dbt_docs_generate_documents_the_marts(pipeline, tmp_path):
    """`dbt docs generate` works on the published warehouse: the catalog BI analysts
    browse lists every mart with its columns."""
    from csc_pipeline.dbt_runner import run_dbt

    copy = tmp_path / "docs.duckdb"
    shutil.copy2(pipeline["warehouse"], copy)
    last = night_dirs(pipeline["exports"])[-1].name
    run_dbt(
        "docs generate",
        warehouse=copy,
        la_code="999",
        export_date=last,
        target_path=tmp_path / "target",
    )
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    marts = {
        node["metadata"]["name"]: node
        for node in catalog["nodes"].values()
        if node["metadata"]["schema"] == "marts"
    }
    assert {"kpi_monthly", "fct_assessments", "fct_cp_plans", "fct_caseloads"} <= set(marts)
    assert {"kpi_code", "month_end", "numerator"} <= {
        c.lower() for c in marts["kpi_monthly"]["columns"]
    }
    assert (tmp_path / "target" / "index.html").is_file()


def _reconcile(warehouse, exports) -> None:
    """Assert marts.kpi_monthly (whole council) = the independent implementation."""
    import pandas as pd
    from independent_kpis import KPI_CODES, council_monthly

    from csc_pipeline.report import night_report

    as_at = night_report(warehouse)["last_published"]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        product = con.execute(
            "select kpi_code, month_start, numerator::double as numerator, "
            "denominator::double as denominator from marts.kpi_monthly where team_id is null"
        ).df()
    finally:
        con.close()
    expected = council_monthly(exports / "999" / as_at, as_at)
    key = ["kpi_code", "month_start"]
    product["month_start"] = pd.to_datetime(product["month_start"])
    both = expected.merge(product, how="outer", on=key, suffixes=("_spec", "_mart"))
    both = both.fillna({c: 0.0 for c in both.columns if c not in key})
    differ = both[
        ((both.numerator_spec - both.numerator_mart).abs() > 1e-6)
        | ((both.denominator_spec - both.denominator_mart).abs() > 1e-6)
    ]
    assert set(expected.kpi_code) == set(product.kpi_code) == set(KPI_CODES)
    assert len(expected) > 100  # years of history: a real comparison
    assert differ.empty, differ.sort_values(key).to_string()


def test_kpi_monthly_agrees_with_an_independent_implementation(pipeline):
    """Every council-level month of every KPI in marts.kpi_monthly equals what a separate
    pandas implementation of spec/kpis.md computes from the published night's CSVs."""
    _reconcile(pipeline["warehouse"], pipeline["exports"])


# Warning-level faults (the night is published, the bad records reported) that touch
# every indicator's exclusion rules.
FIGURE_FAULTS = (
    "duplicate_pk=ssd_cin_assessments,0.01",
    "duplicate_pk=ssd_cp_plans,0.01",
    "duplicate_pk=case_audits,0.01",
    "end_before_start=ssd_cp_plans,0.02",
    "end_before_start=ssd_involvements,0.01",
    "end_before_start=ssd_cin_assessments,5",
    "future_date=ssd_cin_assessments.cina_assessment_auth_date,5",
    "future_date=ssd_cin_episodes.cine_referral_date,3",
    "unparseable_date=ssd_cin_episodes.cine_referral_date,10",
    "unparseable_date=ssd_cp_plans.cppl_cp_plan_start_date,3",
    "unparseable_date=case_audits.audit_completed_date,3",
    "unparseable_date=ssd_s47_enquiry.s47e_s47_start_date,3",
    "blank_mandatory=ssd_cp_plans.cppl_person_id,2",
    "blank_mandatory=ssd_cin_episodes.cine_person_id,3",
    "bad_code=case_audits.audit_grade,5",
    "bad_code=case_audits.moderated_grade,3",
    "orphan=ssd_initial_cp_conference.icpc_s47_enquiry_id,3",
)


def test_figures_agree_on_a_night_with_bad_records(tmp_path, monkeypatch, airflow_db):
    """The same reconciliation on a night whose bad records must be excluded figure by
    figure (kpis.md: excluded from that figure and reported, never silently dropped)."""
    from csc_generator import generate
    from csc_generator.faults import Fault

    exports = tmp_path / "exports"
    generate(
        exports,
        seed=12,
        referrals_per_year=1200,
        years=3,
        nights=1,
        faults=[Fault.parse(text) for text in FIGURE_FAULTS],
    )
    warehouse = tmp_path / "wh" / "csc.duckdb"
    monkeypatch.setenv("CSC_EXPORTS_ROOT", str(exports))
    monkeypatch.setenv("CSC_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("CSC_VAR_DIR", str(tmp_path / "var"))
    assert _run() == "success"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        reported = con.execute(
            "select count(*) from dq.dq_issues where resolved_on is null"
        ).fetchone()[0]
    finally:
        con.close()
    assert reported >= 40  # the injected records are reported, not silently dropped
    _reconcile(warehouse, exports)
