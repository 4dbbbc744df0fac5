"""A night reloads dbt's seeds only when they changed (csc_pipeline.seed_state)."""

from __future__ import annotations

import shutil

from csc_pipeline import seed_state
from csc_pipeline import warehouse as wh
from csc_pipeline.config import DBT_PROJECT_DIR
from csc_pipeline.steps import validate


def test_seeds_load_on_the_first_night_then_only_when_changed(tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR / "seeds", project / "seeds")
    shutil.copy2(DBT_PROJECT_DIR / "dbt_project.yml", project / "dbt_project.yml")
    monkeypatch.setattr(seed_state, "DBT_PROJECT_DIR", project)
    monkeypatch.setattr(seed_state, "SEEDS_DIR", project / "seeds")
    work = tmp_path / "work.duckdb"

    # a new warehouse (first night, or a rebuild from the archive): seeds + staging
    select, record = validate.staging_selection(work)
    assert select == ["--select", "resource_type:seed", "path:models/staging"]
    assert record == seed_state.fingerprint()
    with wh.connect(work) as con:
        seed_state.record(con, record)

    # the next night's working copy holds them: staging only
    assert validate.staging_selection(work) == (["--select", "path:models/staging"], None)

    # a release (or an EES refresh) changes a seed: loaded again
    thresholds = project / "seeds" / "kpi_thresholds.csv"
    thresholds.write_text(thresholds.read_text() + "\n")
    select, record = validate.staging_selection(work)
    assert "resource_type:seed" in select and record != seed_state.current(work)
