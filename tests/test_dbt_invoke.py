"""dbt in the task's process (csc_pipeline.dbt_invoke): what the parsed-project cache is
keyed on, and that an invocation leaves the environment and the warehouse as it found
them. The nightly builds themselves are exercised by tests/test_pipeline_e2e.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from csc_pipeline import dbt_invoke
from csc_pipeline.config import DBT_PROJECT_DIR


def test_parse_takes_the_project_and_vars_but_not_the_selection():
    kept = ["--no-write-json", "--quiet", "--project-dir", "/p", "--vars", '{"la_code": "999"}']
    selection = ["--select", "path:models/staging", "stg_a", "--exclude", "test_type:unit"]
    argv = ["build", *kept, *selection, "tag:code_only", "--empty", "--target", "duckdb"]
    assert dbt_invoke._parse_args(argv) == [*kept, "--target", "duckdb"]


def test_environment_is_restored_exactly(monkeypatch):
    monkeypatch.setenv("CSC_TEST_KEPT", "before")
    monkeypatch.delenv("CSC_TEST_ADDED", raising=False)
    with dbt_invoke.environment({"CSC_TEST_KEPT": "during", "CSC_TEST_ADDED": "x"}):
        assert os.environ["CSC_TEST_KEPT"] == "during" and os.environ["CSC_TEST_ADDED"] == "x"
    assert os.environ["CSC_TEST_KEPT"] == "before"
    assert "CSC_TEST_ADDED" not in os.environ


def test_a_changed_project_file_changes_the_key(tmp_path):
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "m.sql"
    model.write_text("select 1")
    (tmp_path / "target").mkdir()
    key = dbt_invoke.manifest_key(tmp_path, "duckdb", "csc", '{"la_code": "999"}')
    (tmp_path / "target" / "run_results.json").write_text("{}")  # dbt's output: ignored
    assert dbt_invoke.manifest_key(tmp_path, "duckdb", "csc", '{"la_code": "999"}') == key
    time.sleep(0.01)
    model.write_text("select 2")
    assert dbt_invoke.manifest_key(tmp_path, "duckdb", "csc", '{"la_code": "999"}') != key
    # another council (vars), database (the file's stem) or target is another parse
    assert dbt_invoke.manifest_key(tmp_path, "duckdb", "csc", '{"la_code": "998"}') != key
    assert dbt_invoke.manifest_key(tmp_path, "duckdb", "other", '{"la_code": "999"}') != key
    assert dbt_invoke.manifest_key(tmp_path, "postgres", "csc", '{"la_code": "999"}') != key


def test_a_build_releases_the_warehouse_and_reuses_the_parsed_project(tmp_path):
    """Two invocations in one process parse once; after each, another process can open
    the file for writing (dbt-duckdb's instance is closed, its WAL folded in)."""
    pytest.importorskip("dbt.adapters.duckdb")
    from csc_pipeline.dbt_runner import run_dbt

    dbt_invoke.forget_manifests()
    warehouse = tmp_path / "csc.duckdb"
    common = dict(warehouse=warehouse, la_code="999", export_date="2026-11-20")
    run_dbt("seed", extra_args=["--select", "england_bank_holidays"], **common)
    assert len(dbt_invoke._manifests) == 1
    run_dbt("seed", extra_args=["--select", "england_bank_holidays"], **common)
    assert len(dbt_invoke._manifests) == 1  # the same parsed project, not a second parse
    opened = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            "print(c.execute('select count(*) from seeds.england_bank_holidays').fetchone()[0])",
            str(warehouse),
        ],
        capture_output=True,
        text=True,
    )
    assert opened.returncode == 0, opened.stderr
    assert int(opened.stdout) > 100
    assert not (warehouse.with_name(warehouse.name + ".wal")).exists()
    assert (DBT_PROJECT_DIR / "dbt_project.yml").is_file()
