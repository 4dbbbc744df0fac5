"""Everything generated from contract.py, and the one drift check over all of it.

Generated (committed, readable, never edited by hand):
- ``dbt_project/models/staging/_ssd__sources.yml``: the raw tables as landing writes them
  (contract columns + landed SSD-only columns, as VARCHAR, plus lineage), the council
  override tables and the meta tables staging reads;
- ``dbt_project/seeds/ref_code_sets.csv`` (code_set, code): every code set; the
  accepted-values check of staging is a relationship to it, not a hand-typed list;
- ``dbt_project/seeds/ref_code_map.csv`` (code_set, source_value, code): every code
  mapped to itself, the legacy codes and the shipped descriptions, keyed by
  ``contract.code_key`` — what staging's ``normalise_code`` looks up;
- ``dbt_project/seeds/ref_role_codes.csv`` (role_code): the case holder's role codes;
- ``dbt_project/macros/_contract.sql``: the flag spellings, date formats and the SSD's
  null date, for the cleaning macros;
- ``expectations/<table>.json``: the GX suites (``csc_pipeline.quality.suites``).

    python -m csc_pipeline.contract_artifacts --write   # regenerate
    python -m csc_pipeline.contract_artifacts --check   # exit 1 when anything is stale

tests/test_contract_artifacts.py runs the check.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from csc_pipeline import contract
from csc_pipeline.contract import LINEAGE_COLUMNS, TABLES

ROOT = Path(__file__).resolve().parents[2]
DBT = ROOT / "dbt_project"
SOURCES_YML = DBT / "models" / "staging" / "_ssd__sources.yml"
SEEDS = DBT / "seeds"

_LINEAGE = {
    "_export_date": ("date", "Export (as-at) date of the landed night."),
    "_la_code": ("varchar", "Council (DfE LA code)."),
    "_source_file": ("varchar", "CSV file the row came from."),
    "_source_sha256": ("varchar", "SHA-256 of that file."),
    "_source_row": ("bigint", "1-based data row in the file (file line = _source_row + 1)."),
    "_loaded_at": ("timestamp", "When the night was landed."),
}
assert tuple(_LINEAGE) == LINEAGE_COLUMNS


def _csv(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def code_sets_csv() -> str:
    rows = [[name, code] for name, codes in contract.CODE_SETS.items() for code in codes]
    return _csv(["code_set", "code"], rows)


def code_map_rows() -> list[tuple[str, str, str, bool]]:
    """(code_set, source_value, code, is_code): the seed ref_code_map's rows."""
    out = []
    for line in list(csv.reader(io.StringIO(code_map_csv())))[1:]:
        code_set, source, code = line
        out.append((code_set, source, code, contract.code_key(code) == source))
    return out


def code_map_csv() -> str:
    rows: dict[tuple[str, str], str] = {}
    for name, codes in contract.CODE_SETS.items():
        for code in codes:
            rows[(name, contract.code_key(code))] = code
    for name, mapping in contract.CODE_MAPS.items():
        for source, code in mapping.items():
            assert code in contract.CODE_SETS[name], (name, source, code)
            rows.setdefault((name, contract.code_key(source)), code)
    return _csv(
        ["code_set", "source_value", "code"], [[k[0], k[1], v] for k, v in sorted(rows.items())]
    )


def role_codes_csv() -> str:
    keys = sorted({contract.code_key(r) for r in contract.CASE_HOLDER_ROLE_CODES})
    return _csv(["role_code"], [[k] for k in keys])


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sources_yml() -> str:
    out = [
        "# GENERATED from include/csc_pipeline/contract.py by",
        "# `python -m csc_pipeline.contract_artifacts --write`: do not edit by hand.",
        "# raw.<table> holds the LATEST landed night only, every contract column (names",
        "# excluded) and every landed SSD-only column as VARCHAR exactly as delivered (an",
        "# empty field or the text NULL is null), plus lineage columns.",
        "version: 2",
        "",
        "sources:",
        "  - name: ssd",
        "    description: >",
        "      The nightly export (Standard Safeguarding Dataset tables plus the optional local",
        "      case_audits feed) as landed: text as delivered, no parsing; and the council's",
        "      reference-data overrides.",
        "    schema: raw",
        "    tables:",
    ]
    for t in TABLES:
        desc = f"{t.description}. Primary key {t.primary_key} (not enforced in raw)."
        if t.optional:
            desc += " An optional feed: empty when the night does not supply it."
        out += [f"      - name: {t.name}", f"        description: {_q(desc)}", "        columns:"]
        for c in t.columns:
            if c.name not in t.warehouse_columns:
                continue
            notes = [c.type]
            if c.name == t.primary_key:
                notes.append("primary key")
            if c.mandatory:
                notes.append("mandatory")
            if c.codes:
                notes.append(f"code set {c.code_set}")
            if c.may_be_absent or c.derivable:
                notes.append("not delivered by every SSD system")
            out += [
                f"          - name: {c.name}",
                "            data_type: varchar",
                f"            description: {_q('As delivered (' + '; '.join(notes) + ').')}",
            ]
        for s in t.ssd_columns:
            if s.load:
                out += [
                    f"          - name: {s.name}",
                    "            data_type: varchar",
                    f"            description: {_q('SSD-only column, as delivered: ' + s.note + '.')}",
                ]
        for name, (dtype, text) in _LINEAGE.items():
            out += [
                f"          - name: {name}",
                f"            data_type: {dtype}",
                f"            description: {_q(text)}",
            ]
    out += [
        "      - name: person_pseudonyms",
        "        description: >",
        "          HMAC-SHA256 (hex) of every person id appearing in any table of the night, keyed",
        "          by the council's pseudonym key. Computed in Python at landing so the key never",
        "          enters dbt artifacts. The only way a child is identified in marts.",
        "        columns:",
        "          - name: person_id",
        "            data_type: varchar",
        "            description: Case-system person id (internal; never in marts).",
        "          - name: person_key",
        "            data_type: varchar",
        "            description: Pseudonymous key of the child.",
        "      - name: council_role_codes",
        "        description: >",
        "          The council's extra case-holder role codes (council profile); empty when none.",
        "          Added to the shipped seed ref_role_codes.",
        "        columns:",
        "          - name: role_code",
        "            data_type: varchar",
        "      - name: council_code_map",
        "        description: >",
        "          The council's own code / description -> code mappings (council profile); empty",
        "          when none. They win over the shipped seed ref_code_map.",
        "        columns:",
        "          - name: code_set",
        "            data_type: varchar",
        "            description: A code set name (contract.CODE_SETS, seed ref_code_sets).",
        "          - name: source_value",
        "            data_type: varchar",
        "            description: The delivered value (matched on its code key).",
        "          - name: code",
        "            data_type: varchar",
        "            description: The code it means.",
        "",
        "  - name: meta",
        "    description: Pipeline bookkeeping written by csc_pipeline.landing.",
        "    schema: meta",
        "    tables:",
        "      - name: nights",
        "        description: One row per council per export night seen, with its status"
        " (landed | quarantined | published).",
        "        columns:",
    ]
    for name, dtype in (
        ("la_code", "varchar"),
        ("export_date", "date"),
        ("manifest_sha256", "varchar"),
        ("status", "varchar"),
        ("landed_at", "timestamp"),
        ("validated_at", "timestamp"),
        ("published_at", "timestamp"),
        ("message", "varchar"),
    ):
        out += [f"          - name: {name}", f"            data_type: {dtype}"]
    out += [
        "      - name: load_log",
        "        description: One row per file per landed night (status loaded | not_supplied).",
        "        columns:",
    ]
    for name, dtype in (
        ("la_code", "varchar"),
        ("export_date", "date"),
        ("table_name", "varchar"),
        ("file_name", "varchar"),
        ("sha256", "varchar"),
        ("manifest_rows", "bigint"),
        ("rows_loaded", "bigint"),
        ("extra_columns", "varchar"),
        ("missing_columns", "varchar"),
        ("loaded_at", "timestamp"),
        ("status", "varchar"),
    ):
        out += [f"          - name: {name}", f"            data_type: {dtype}"]
    return "\n".join(out) + "\n"


def contract_macros() -> str:
    """dbt macros returning the contract's literal lists, so the cleaning macros hold
    none of their own (flag spellings, date formats, the SSD's null date)."""

    def sql_list(values) -> str:
        return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"

    formats = "[" + ", ".join("'" + f + "'" for f in contract.DATE_FORMATS) + "]"
    return (
        "{# GENERATED from include/csc_pipeline/contract.py by\n"
        "   `python -m csc_pipeline.contract_artifacts --write`: do not edit by hand. #}\n\n"
        "{% macro contract_flag_true() %}"
        + sql_list(sorted(contract.FLAG_TRUE))
        + "{% endmacro %}\n"
        "{% macro contract_flag_false() %}"
        + sql_list(sorted(contract.FLAG_FALSE))
        + "{% endmacro %}\n"
        "{% macro contract_flag_na() %}" + sql_list(sorted(contract.FLAG_NA)) + "{% endmacro %}\n"
        "{% macro contract_date_formats() %}" + formats + "{% endmacro %}\n"
        "{% macro contract_null_date() %}" + contract.NULL_DATES[0] + "{% endmacro %}\n"
    )


def artifacts() -> dict[Path, str]:
    """Every generated file and its content."""
    return {
        SOURCES_YML: sources_yml(),
        DBT / "macros" / "_contract.sql": contract_macros(),
        SEEDS / "ref_code_sets.csv": code_sets_csv(),
        SEEDS / "ref_code_map.csv": code_map_csv(),
        SEEDS / "ref_role_codes.csv": role_codes_csv(),
    }


def stale() -> list[str]:
    """Generated files that differ from what the contract generates (suites included)."""
    from csc_pipeline.quality import suites

    out = [
        str(p.relative_to(ROOT))
        for p, text in artifacts().items()
        if not p.is_file() or p.read_text(encoding="utf-8") != text
    ]
    return out + [f"expectations/{t}.json" for t in suites.stale_suites()]


def write() -> list[Path]:
    from csc_pipeline.quality import suites

    paths = []
    for p, text in artifacts().items():
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    return paths + suites.write_suites()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.write:
        for p in write():
            print(f"wrote {p}")
        return 0
    bad = stale()
    if bad:
        print("stale (run python -m csc_pipeline.contract_artifacts --write): " + ", ".join(bad))
        return 1
    print("all generated files are up to date with contract.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
