"""Landing: manifest-gated, verified, atomic, idempotent, name-free."""

from __future__ import annotations

import csv
import json
import shutil

import duckdb
import pytest
from helpers import copy_exports, file_hashes, night_dirs, resign_manifest, table_digests

from csc_pipeline import nights
from csc_pipeline.contract import EXCLUDED_COLUMNS, LINEAGE_COLUMNS, TABLES
from csc_pipeline.landing import NightRejected, land_night
from csc_pipeline.steps import discover, land
from csc_pipeline.steps.errors import NightQuarantined


def _night(root, index=0) -> nights.Night:
    d = night_dirs(root)[index]
    return nights.Night("999", d.name, d)


@pytest.fixture()
def exports(small_sample, tmp_path):
    return copy_exports(small_sample, tmp_path / "exports")


def test_every_table_lands_with_lineage(exports, tmp_path):
    night = _night(exports)
    manifest = json.loads((night.path / "manifest.json").read_text())
    result = land_night(tmp_path / "w.duckdb", night)
    assert not result.skipped
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    for table in TABLES:
        cols = [r[0] for r in con.execute(f"describe raw.{table.name}").fetchall()]
        assert cols == [*table.warehouse_columns, *table.landed_ssd_columns, *LINEAGE_COLUMNS]
        rows, files, dates, max_row = con.execute(
            f"select count(*), count(distinct _source_file), min(_export_date)::varchar, max(_source_row) "
            f"from raw.{table.name}"
        ).fetchone()
        assert rows == manifest["files"][table.file_name]["rows"] == max_row
        assert files == (1 if rows else 0)
        if rows:
            assert dates == night.export_date
    logged = con.execute(
        "select count(*), sum(rows_loaded) from meta.load_log where status = 'loaded'"
    ).fetchone()
    assert logged == (len(TABLES), result.total_rows)
    assert con.execute("select status from meta.nights").fetchall() == [("landed",)]


def test_landing_same_night_twice_is_identical(exports, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    night = _night(exports)
    land_night(warehouse, night)
    first = table_digests(warehouse)
    again = land_night(warehouse, night)
    assert again.skipped
    assert table_digests(warehouse) == first
    forced = land_night(warehouse, night, force=True)  # a real reload, same loaded_at
    assert not forced.skipped
    assert table_digests(warehouse) == first


def test_failing_night_leaves_warehouse_unchanged(exports, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    land_night(warehouse, _night(exports, 0))
    before = table_digests(warehouse)
    bad = _night(exports, 1)
    visits = bad.path / "ssd_cp_visits.csv"
    lines = visits.read_text().splitlines(keepends=True)
    visits.write_text("".join(lines[: len(lines) // 2]))  # truncated in transfer
    with pytest.raises(NightRejected) as err:
        land_night(warehouse, bad)
    assert "ssd_cp_visits.csv" in str(err.value) and "sha256" in str(err.value)
    assert err.value.check == "checksum_mismatch"
    assert table_digests(warehouse) == before


def test_failure_late_in_the_transaction_rolls_back(exports, tmp_path):
    """A problem found in the LAST table (after others were replaced) leaves nothing behind."""
    warehouse = tmp_path / "w.duckdb"
    land_night(warehouse, _night(exports, 0))
    before = table_digests(warehouse)
    bad = _night(exports, 1)
    last = TABLES[-1].file_name
    with (bad.path / last).open("a", newline="") as fh:
        fh.write("A1," + ",".join(["unexpected"] * 40) + "\r\n")
    resign_manifest(bad.path, [last])  # consistent manifest, malformed row
    with pytest.raises(NightRejected) as err:
        land_night(warehouse, bad)
    message = str(err.value)
    assert last in message and "row " in message and "column" in message
    assert table_digests(warehouse) == before


def test_rowcount_mismatch_names_the_file(exports, tmp_path):
    night = _night(exports)
    manifest = json.loads((night.path / "manifest.json").read_text())
    manifest["files"]["ssd_person.csv"]["rows"] += 5
    (night.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(NightRejected, match=r"ssd_person\.csv.*manifest says"):
        land_night(tmp_path / "w.duckdb", night)


def test_night_without_manifest_is_not_complete(exports):
    newest = night_dirs(exports)[-1]
    (newest / "manifest.json").unlink()
    dates = [n.export_date for n in nights.complete_nights(exports, "999")]
    assert newest.name not in dates and len(dates) == len(night_dirs(exports)) - 1


def test_names_never_reach_the_warehouse(exports, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    night = _night(exports)
    land_night(warehouse, night)
    with (night.path / "ssd_person.csv").open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        names = {row[c] for row in reader for c in ("pers_forename", "pers_surname") if row.get(c)}
    assert len(names) > 10
    con = duckdb.connect(str(warehouse), read_only=True)
    columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR'"
    ).fetchall()
    assert not {c for _, _, c in columns} & EXCLUDED_COLUMNS
    con.execute("create temp table names as select unnest(?::varchar[]) as name", [sorted(names)])
    for schema, table, column in columns:
        hits = con.execute(
            f'select count(*) from "{schema}"."{table}" where "{column}" in (select name from names)'
        ).fetchone()[0]
        assert hits == 0, f"a child's name appears in {schema}.{table}.{column}"


def test_export_files_are_never_modified(exports, tmp_path, monkeypatch):
    monkeypatch.setenv("CSC_EXPORTS_ROOT", str(exports))
    monkeypatch.setenv("CSC_WAREHOUSE", str(tmp_path / "w.duckdb"))
    before = file_hashes(exports)
    ref = discover.select_night("999")
    land.run(ref)
    assert file_hashes(exports) == before


def test_rejected_night_is_quarantined_and_published_file_untouched(exports, tmp_path, monkeypatch):
    """Through the task layer: the published warehouse file is byte-identical after a bad night."""
    warehouse = tmp_path / "wh" / "csc.duckdb"
    monkeypatch.setenv("CSC_EXPORTS_ROOT", str(exports))
    monkeypatch.setenv("CSC_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("CSC_VAR_DIR", str(tmp_path / "var"))
    first = discover.select_night("999")
    landed = land.run(first)
    shutil.copy2(landed["work"], warehouse)  # stand-in for a published first night
    published_bytes = warehouse.read_bytes()
    second_dir = night_dirs(exports)[1]
    (second_dir / "ssd_department.csv").unlink()
    ref = discover.select_night("999", second_dir.name)
    with pytest.raises(NightQuarantined, match="ssd_department.csv"):
        land.run(ref)
    assert warehouse.read_bytes() == published_bytes
    assert not list(warehouse.parent.glob(".*.work.duckdb"))  # discarded
    report = tmp_path / "var" / "quarantine" / "999" / f"{second_dir.name}.json"
    assert json.loads(report.read_text())["findings"][0]["check"] == "file_missing"
    pending = [
        n.export_date for n in discover.pending_nights(exports, warehouse, "999", tmp_path / "var")
    ]
    assert second_dir.name not in pending  # not retried until re-delivered


def _rewrite(night_dir, name, fn) -> None:
    """Rewrite one CSV through fn(header, rows) -> (header, rows) and re-sign it."""
    path = night_dir / name
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = fn(rows[0], rows[1:])
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, *body])
    resign_manifest(night_dir, [name])


def test_ssd_representation_lands_without_findings(exports, tmp_path):
    """SSD v1.4.5 as deployed (docs/spec/ssd-as-deployed.md): the text NULL is a null,
    SSD-only columns are known (not extra) and landed, *_json columns are never selected,
    the NHS number is never landed, case_audits may be absent."""
    night = _night(exports)

    def person(header, rows):
        i = header.index("pers_common_child_id")
        header = [*header[:i], "pers_upn", "pers_single_unique_id", *header[i + 1 :]]
        return header, [[*r[:i], r[i] or "NULL", "9434765919", *r[i + 1 :]] for r in rows]

    def episodes(header, rows):
        header = [*header, "cine_referral_source_desc", "cine_referral_outcome_json"]
        return header, [[*r, "Health services: GP", '{"comment": "free text"}'] for r in rows]

    _rewrite(night.path, "ssd_person.csv", person)
    _rewrite(night.path, "ssd_cin_episodes.csv", episodes)
    (night.path / "case_audits.csv").unlink()
    manifest = json.loads((night.path / "manifest.json").read_text())
    del manifest["files"]["case_audits.csv"]
    (night.path / "manifest.json").write_text(json.dumps(manifest))

    result = land_night(tmp_path / "w.duckdb", night)
    by_table = {t.table: t for t in result.tables}
    assert by_table["ssd_person"].extra_columns == []
    assert by_table["ssd_cin_episodes"].extra_columns == []
    assert by_table["case_audits"].status == "not_supplied"
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    person_cols = {r[0] for r in con.execute("describe raw.ssd_person").fetchall()}
    assert "pers_upn" in person_cols and "pers_single_unique_id" not in person_cols
    episode_cols = {r[0] for r in con.execute("describe raw.ssd_cin_episodes").fetchall()}
    assert "cine_referral_source_desc" in episode_cols
    assert "cine_referral_outcome_json" not in episode_cols
    assert con.execute(
        "select count(*) from raw.ssd_person where pers_upn = 'NULL'"
    ).fetchone() == (0,)
    assert con.execute("select count(*) from raw.case_audits").fetchone() == (0,)
    assert con.execute(
        "select status, rows_loaded from meta.load_log where table_name = 'case_audits'"
    ).fetchall() == [("not_supplied", 0)]
    # the council override tables exist (empty) for staging to read
    for name in ("council_role_codes", "council_code_map"):
        assert con.execute(f"select count(*) from raw.{name}").fetchone() == (0,)
