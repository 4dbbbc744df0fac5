"""Council profiles: defaults, the example file, errors naming file and line, raw tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import REPO

from csc_pipeline import contract
from csc_pipeline import profile as prof
from csc_pipeline.config import ConfigError


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_the_defaults(tmp_path):
    p = prof.council_profile("301", tmp_path)
    assert (p.delivery, p.source_system, p.ssd_version, p.source_file) == (
        "folder",
        "other",
        "1.4.5",
        None,
    )
    assert p.conn_id == "csc_ssd_301" and p.schema is None


def test_example_file_documents_every_key_and_is_valid():
    example = REPO / "config" / "councils" / "example.yml"
    text = example.read_text()
    for key in prof.CouncilProfile.model_fields:
        if key != "source_file":
            assert key in text, key
    for code_set in contract.CODE_SETS:
        assert code_set in text, code_set
        assert prof.code_set_columns(code_set), code_set


def test_example_copied_is_a_valid_profile(tmp_path):
    text = (REPO / "config" / "councils" / "example.yml").read_text()
    p = prof.load_profile_file(_write(tmp_path, "301.yml", text))
    assert p.la_code == "301" and p.delivery == "folder"
    assert prof.load_profiles(REPO / "config" / "councils").by_code == {}  # example skipped


def test_database_profile(tmp_path):
    path = _write(
        tmp_path,
        "301.yml",
        """source_system: systemc
delivery: database
extra_role_codes: [KEYWORKER, " LEAD SW "]
code_map:
  cp_category:
    "Neglect (long term)": NEG
  referral_source:
    4: 4
tables_not_supplied: [case_audits]
""",
    )
    p = prof.load_profile_file(path)
    assert p.is_database and p.conn_id == "csc_ssd_301"
    assert p.schema == "ssd_development"  # SystemC's default
    assert p.extra_role_codes == ("KEYWORKER", "LEAD SW")
    assert p.code_map_rows() == [
        ("cp_category", "Neglect (long term)", "NEG"),
        ("referral_source", "4", "4"),
    ]
    assert not p.supplies("case_audits") and p.supplies("ssd_person")
    assert prof.load_profiles(tmp_path).database_councils() == ["301"]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("delivery: database\ncolour: blue\n", 2, "unknown key 'colour'"),
        ("delivery: pigeon\n", 1, "delivery"),
        ("source_system: eclipse\ndelivery: folder\nconnection_id: x\n", 1, "delivery: database"),
        (
            "code_map:\n  cp_category:\n    Neglect: NEG\n    Bad: XXX\n",
            4,
            "'Bad' maps to 'XXX'",
        ),
        ("code_map:\n  colours: {red: R}\n", 2, "unknown code set 'colours'"),
        ("tables_not_supplied:\n  - ssd_person\n  - ssd_cats\n", 3, "unknown table 'ssd_cats'"),
        ("la_code: '302'\n", 1, "does not match the file name"),
        ("source_system: [eclipse\n", 2, "not valid YAML"),
        ("- a\n- b\n", 1, "a mapping of keys"),
    ],
)
def test_errors_name_file_and_line(tmp_path, text, line, fragment):
    path = _write(tmp_path, "301.yml", text)
    with pytest.raises(prof.ProfileError) as err:
        prof.load_profile_file(path)
    message = str(err.value)
    assert f"{path}:{line}:" in message, message
    assert fragment in message, message
    assert isinstance(err.value, ConfigError)


def test_misnamed_profile_is_an_error_not_ignored(tmp_path):
    _write(tmp_path, "northbridge.yml", "delivery: folder\n")
    with pytest.raises(prof.ProfileError, match="northbridge.yml"):
        prof.load_profiles(tmp_path)


def test_raw_tables_for_dbt(tmp_path):
    p = prof.CouncilProfile(
        la_code="301", extra_role_codes=("KEYWORKER",), code_map={"sex": {"Male": "M"}}
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    prof.write_raw_tables(con, p)
    assert con.execute("select * from raw.council_role_codes").fetchall() == [("KEYWORKER",)]
    assert con.execute("select * from raw.council_code_map").fetchall() == [("sex", "Male", "M")]
    prof.write_raw_tables(con, prof.CouncilProfile(la_code="301"))  # replaced, still present
    assert con.execute("select count(*) from raw.council_code_map").fetchone() == (0,)
