"""The shadow working copy: a night is published all or nothing, and only its own copy."""

from __future__ import annotations

import duckdb
import pytest

from csc_pipeline import workspace


def _warehouse(path, value: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("create or replace table t as select ? as v", [value])
    con.close()


def _value(path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select v from t").fetchone()[0]
    finally:
        con.close()


def test_publish_replaces_the_warehouse_with_the_nights_copy(tmp_path):
    warehouse = tmp_path / "csc.duckdb"
    _warehouse(warehouse, 1)
    work = workspace.start(warehouse, "2026-11-19")
    assert work == workspace.work_path(warehouse) and work != warehouse
    _warehouse(work, 2)
    assert _value(warehouse) == 1  # readers see the last good night while it builds
    workspace.publish(warehouse, "2026-11-19")
    assert _value(warehouse) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csc.duckdb"]


def test_a_copy_is_never_published_as_another_night(tmp_path):
    warehouse = tmp_path / "csc.duckdb"
    _warehouse(warehouse, 1)
    _warehouse(workspace.start(warehouse, "2026-11-19"), 2)
    with pytest.raises(RuntimeError, match="belongs to night 2026-11-19, not 2026-11-20"):
        workspace.publish(warehouse, "2026-11-20")
    assert _value(warehouse) == 1


def test_discard_leaves_the_published_warehouse_untouched(tmp_path):
    warehouse = tmp_path / "csc.duckdb"
    _warehouse(warehouse, 1)
    before = warehouse.read_bytes()
    _warehouse(workspace.start(warehouse, "2026-11-19"), 2)
    workspace.discard(warehouse, "2026-11-19")
    assert warehouse.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csc.duckdb"]
    with pytest.raises(FileNotFoundError, match="no working copy"):
        workspace.publish(warehouse, "2026-11-19")


def test_a_new_night_starts_from_a_fresh_copy(tmp_path):
    warehouse = tmp_path / "csc.duckdb"
    _warehouse(warehouse, 1)
    _warehouse(workspace.start(warehouse, "2026-11-19"), 99)  # a night that died mid-build
    work = workspace.start(warehouse, "2026-11-20")
    assert _value(work) == 1
