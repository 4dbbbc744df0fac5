"""Disaster recovery: a council's warehouse rebuilt from its archive of exports.

Three nights of the sample council are published by the nightly steps (night 2 is
quarantined: it misses a file), then the published warehouse is destroyed (overwritten
with garbage, as a failed disk or a bad restore would leave it) and `make rebuild`'s
entry point replays the archive. The rebuilt marts and snapshots must equal what was
published, row for row; the quarantined night is skipped again; a failure part-way
leaves the live file exactly as it was.
"""

from __future__ import annotations

import hashlib
import shutil

import duckdb
import pytest

from csc_pipeline import rebuild
from csc_pipeline.config import settings

LA = "999"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Exports of 3 nights (night 2 broken) and the warehouse the nightly published."""
    from csc_generator import generate

    root = tmp_path_factory.mktemp("rebuild")
    generate(
        root / "exports",
        seed=7,
        referrals_per_year=600,
        years=1,
        nights=3,
        faults=["missing_file=ssd_cp_visits,night=2"],
    )
    return root


@pytest.fixture()
def published(archive, tmp_path, monkeypatch):
    """A fresh var dir and warehouse with every night published by the nightly steps."""
    monkeypatch.setenv("CSC_EXPORTS_ROOT", str(archive / "exports"))
    monkeypatch.setenv("CSC_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CSC_WAREHOUSE", str(tmp_path / "warehouse" / "csc.duckdb"))
    cache = archive / "published"
    if not cache.exists():  # publish once per module, copy for each test
        cfg = settings()
        steps, quarantined = rebuild._steps()  # the nightly's own steps, in order
        while (ref := rebuild.select_night(LA, cfg)) is not None:
            try:
                for step in steps:
                    ref = step(ref, cfg)
            except quarantined:
                continue
        staging = archive / ".published"
        shutil.copytree(tmp_path / "var", staging / "var", symlinks=True)
        shutil.copytree(tmp_path / "warehouse", staging / "warehouse")
        staging.rename(cache)
    else:
        shutil.copytree(cache / "var", tmp_path / "var", symlinks=True)
        shutil.copytree(cache / "warehouse", tmp_path / "warehouse")
    return tmp_path


def contents(path) -> dict[str, list[tuple]]:
    """Every marts and snapshots table of a warehouse file, rows sorted."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'snapshots') and table_type = 'BASE TABLE' "
            "order by 1, 2"
        ).fetchall()
        return {
            f"{s}.{t}": sorted(
                con.execute(f'select * from "{s}"."{t}"').fetchall(), key=lambda r: repr(r)
            )
            for s, t in tables
        }
    finally:
        con.close()


def test_rebuild_from_the_archive_equals_the_published_warehouse(published):
    live = published / "warehouse" / "csc.duckdb"
    before = contents(live)
    assert any(k.startswith("snapshots.") for k in before) and "marts.kpi_monthly" in before
    assert any(len(v) > 0 for k, v in before.items() if k.startswith("snapshots."))
    # the disaster: the published file is garbage now
    live.write_bytes(b"not a duckdb file" * 1000)

    result = rebuild.rebuild(LA)

    nights = sorted(p.name for p in (settings().exports_root / LA).iterdir())
    assert result["nights_replayed"] == [nights[0], nights[2]]
    assert [s["export_date"] for s in result["nights_skipped"]] == [nights[1]]
    assert "ssd_cp_visits" in result["nights_skipped"][0]["reason"]
    after = contents(live)
    assert after.keys() == before.keys()
    for table, rows in before.items():
        assert after[table] == rows, f"{table} differs after the rebuild"
    con = duckdb.connect(str(live), read_only=True)
    try:
        assert con.execute(
            "select strftime(export_date, '%Y-%m-%d'), status from meta.nights order by 1"
        ).fetchall() == [(nights[0], "published"), (nights[2], "published")]
    finally:
        con.close()
    # the damaged file is kept beside it; no staging folder is left; Parquet points home
    assert result["previous_warehouse"]
    with open(result["previous_warehouse"], "rb") as f:
        assert f.read(17) == b"not a duckdb file"
    assert not list(live.parent.glob(".rebuild_*"))
    parquet = settings().parquet_dir / LA
    assert (parquet / "latest").resolve().name == nights[2]
    con = duckdb.connect()
    try:
        kpis = con.execute(
            "select count(*) from read_parquet(?)",
            [str(parquet / "latest" / "kpi_monthly.parquet")],
        ).fetchone()[0]
    finally:
        con.close()
    assert kpis == len(before["marts.kpi_monthly"])
    print(f"rebuild: {result['seconds']}s for {len(nights)} nights ({result})")


def test_a_rebuild_that_fails_part_way_leaves_the_live_warehouse_untouched(published, monkeypatch):
    live = published / "warehouse" / "csc.duckdb"
    digest = hashlib.sha256(live.read_bytes()).hexdigest()
    calls = {"n": 0}
    (land, validate, _, publish), quarantined = rebuild._steps()

    def build(ref, cfg=None):  # the first night lands and validates, then its build fails
        calls["n"] += 1
        raise OSError("disk full")

    steps = (land, validate, build, publish)
    monkeypatch.setattr(rebuild, "_steps", lambda: (steps, quarantined))
    with pytest.raises(rebuild.RebuildError, match="failed in .*build.*disk full"):
        rebuild.rebuild(LA)
    assert hashlib.sha256(live.read_bytes()).hexdigest() == digest
    assert not list(live.parent.glob(".rebuild_*"))
    assert not list(live.parent.glob("*.before-rebuild-*"))
    assert calls["n"] == 1


def test_rebuild_refuses_while_a_night_is_in_flight(published):
    live = published / "warehouse" / "csc.duckdb"
    from csc_pipeline import workspace

    workspace.work_path(live).write_bytes(b"")
    with pytest.raises(rebuild.RebuildError, match="in flight"):
        rebuild.rebuild(LA)


def test_the_command_needs_council_codes(monkeypatch, capsys):
    monkeypatch.delenv("CSC_LA_CODES", raising=False)
    with pytest.raises(SystemExit) as exc:
        rebuild.main([])
    assert exc.value.code == 2
    assert "CSC_LA_CODES" in capsys.readouterr().err
