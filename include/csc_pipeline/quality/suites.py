"""Great Expectations suites, one per export table, generated from ``contract.py``.

The suites are committed as readable JSON in ``expectations/<table>.json`` (GX 1.x
suite format: ``name``, ``expectations`` [{type, kwargs, meta, notes, severity}],
``meta``) so that a reviewer can see exactly what is checked, and
``tests/test_quality.py`` asserts they are up to date with the contract. Regenerate
after changing the contract::

    python -m csc_pipeline.quality.suites --write     # rewrite expectations/*.json
    python -m csc_pipeline.quality.suites --check     # exit 1 if any file is stale

Every expectation carries ``meta.rule_id`` (see ``rules.RULES``) and ``meta.columns``
(the contract columns it reads, so checks on a column missing from the file can be
skipped). The suites run against the DataFrame built by ``typed.frame`` from dbt
staging (parse once): contract columns, staging's typed columns under
``<column>__date`` / ``<column>__num`` and its parse-failure flags under
``<column>__unparsed``; unparseable dates, flags, codes and decimals are checked on the
flags, never by parsing again. Run-time values come in as GX suite parameters: ``manifest_rows``,
``min_rows`` (volume floor from the previous night) and ``export_date``.

This module does not import GX, so generating and checking suites is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from csc_pipeline.config import EXPECTATIONS_DIR
from csc_pipeline.contract import (
    AUDIT_GRADE_LEGACY,
    AUDIT_GRADES,
    CONTRACT_VERSION,
    DATE_FORMATS,
    FLAG_FALSE,
    FLAG_NA,
    FLAG_TRUE,
    SEX_CODES,
    SEX_LEGACY,
    TABLES,
    Column,
    Table,
)
from csc_pipeline.quality.rules import CRITICAL, EARLIEST_DOB, RULES, WARNING

DATE_SUFFIX = "__date"
NUM_SUFFIX = "__num"
# staging's parse-failure flag of a typed column, under the contract column's name
UNPARSED_SUFFIX = "__unparsed"
TYPED = ("date", "code", "flag", "flag_na", "decimal")

# Older systems' codes accepted as valid input for a code set (contract.py's legacy maps).
LEGACY_CODES: dict[tuple[str, ...], dict[str, str]] = {
    SEX_CODES: SEX_LEGACY,
    AUDIT_GRADES: AUDIT_GRADE_LEGACY,
}
# Date columns that may legitimately lie after the export date.
FUTURE_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {("ssd_person", "pers_expected_dob"), ("ssd_initial_cp_conference", "icpc_icpc_target_date")}
)
# Dates of birth: plausible between EARLIEST_DOB and the export date.
DOB_COLUMNS: frozenset[tuple[str, str]] = frozenset({("ssd_person", "pers_dob")})
# Ranges of decimal columns (spec: 0 < FTE <= 1).
DECIMAL_RANGES: dict[tuple[str, str], dict] = {
    ("ssd_professionals", "prof_full_time_equivalency"): {
        "rule_id": "fte_out_of_range",
        "min_value": 0,
        "max_value": 1,
        "strict_min": True,
    },
}
# Date ranges that are DfE CIN census rules in their own right.
CENSUS_DATE_RANGE_RULES: dict[tuple[str, str, str], str] = {
    ("ssd_cp_plans", "cppl_cp_plan_start_date", "cppl_cp_plan_end_date"): "8925",
}

_FORMAT_NAMES = {
    "%Y-%m-%d": "YYYY-MM-DD",
    "%Y-%m-%d %H:%M:%S": "YYYY-MM-DD HH:MM:SS",
    "%Y-%m-%d %H:%M:%S.%f": "YYYY-MM-DD HH:MM:SS.fff",
    "%d/%m/%Y": "DD/MM/YYYY",
}
ACCEPTED_DATE_FORMATS: tuple[str, ...] = tuple(_FORMAT_NAMES.get(f, f) for f in DATE_FORMATS)


def accepted_codes(column: Column) -> list[str]:
    """The code set of a column plus any legacy codes, as the gate accepts them."""
    codes = set(column.codes or ())
    codes |= set(LEGACY_CODES.get(column.codes or (), {}))
    return sorted(codes)


def flag_values(column: Column) -> list[str]:
    values = set(FLAG_TRUE) | set(FLAG_FALSE)
    if column.type == "flag_na":
        values |= set(FLAG_NA)
    return sorted(values)


def _exp(
    type_: str, rule_id: str, columns: list[str], notes: str, severity: str | None = None, **kwargs
) -> dict:
    return {
        "type": type_,
        "kwargs": kwargs,
        "meta": {"rule_id": rule_id, "columns": columns},
        "notes": notes,
        "severity": severity or RULES[rule_id].severity,
    }


def _parsed(rule_id: str, column: str, notes: str) -> dict:
    """A delivered value dbt staging could type: its parse flag (``_is_invalid`` in
    staging, ``<column>__unparsed`` in the gate's frame) is false. Parse once: the gate
    reads the flag, it never parses the value again (docs/architecture.md)."""
    return _exp(
        "expect_column_values_to_be_in_set",
        rule_id,
        [column],
        notes + " (parsed by dbt staging; the gate reads its flag)",
        column=column + UNPARSED_SUFFIX,
        value_set=[False],
    )


def build_suite(table: Table) -> dict:
    """The GX suite (as a JSON-able dict) of one export table."""
    pk = table.primary_key
    exps: list[dict] = []
    delivered = [c for c in table.columns if c.name in table.warehouse_columns]
    # Columns a SSD system omits by design, or that staging derives, are in no presence
    # check (docs/spec/ssd-as-deployed.md): their absence is not a finding.
    expected = [c for c in delivered if not (c.may_be_absent or c.derivable)]
    required = [c.name for c in expected if c.name == pk or c.mandatory]
    optional = [c.name for c in expected if c.name not in required]
    exps.append(
        _exp(
            "expect_table_columns_to_match_set",
            "column_missing",
            required,
            "The key and mandatory columns are delivered (other columns may follow)",
            severity=CRITICAL,
            column_set=required,
            exact_match=False,
        )
    )
    if optional:
        exps.append(
            _exp(
                "expect_table_columns_to_match_set",
                "column_missing",
                optional,
                "The optional columns are delivered (a missing one is null for every row)",
                severity=WARNING,
                column_set=optional,
                exact_match=False,
            )
        )
    exps.append(
        _exp(
            "expect_table_row_count_to_equal",
            "manifest_rows",
            [],
            "Rows loaded equal the rows the manifest declares",
            value={"$PARAMETER": "manifest_rows"},
        )
    )
    exps.append(
        _exp(
            "expect_table_row_count_to_be_between",
            "volume_drop",
            [],
            "No sharp drop in rows against the previous landed night (min_rows is computed per night)",
            min_value={"$PARAMETER": "min_rows"},
            max_value=None,
        )
    )
    exps.append(
        _exp(
            "expect_column_values_to_not_be_null",
            "pk_missing",
            [pk],
            f"Key {pk} is never blank",
            column=pk,
        )
    )
    exps.append(
        _exp(
            "expect_column_values_to_be_unique",
            "pk_duplicate",
            [pk],
            f"Key {pk} is unique",
            column=pk,
        )
    )
    for col in table.columns:
        name = col.name
        if name not in table.warehouse_columns:
            continue
        if col.mandatory and name != pk:
            exps.append(
                _exp(
                    "expect_column_values_to_not_be_null",
                    "mandatory_missing",
                    [name],
                    f"Mandatory {name} is never blank",
                    column=name,
                )
            )
        if col.type == "date":
            derived = name + DATE_SUFFIX
            exps.append(
                _parsed(
                    "date_unparseable",
                    name,
                    f"{name} is a real date in an accepted format: "
                    + ", ".join(ACCEPTED_DATE_FORMATS),
                )
            )
            if (table.name, name) in DOB_COLUMNS:
                exps.append(
                    _exp(
                        "expect_column_values_to_be_between",
                        "dob_implausible",
                        [name],
                        f"{name} is on or after {EARLIEST_DOB} and not after the export date",
                        column=derived,
                        min_value=EARLIEST_DOB + "T00:00:00",
                        max_value={"$PARAMETER": "export_date"},
                    )
                )
            elif (table.name, name) not in FUTURE_ALLOWED:
                exps.append(
                    _exp(
                        "expect_column_values_to_be_between",
                        "future_date",
                        [name],
                        f"{name} is not after the export date",
                        column=derived,
                        max_value={"$PARAMETER": "export_date"},
                    )
                )
        elif col.type in ("flag", "flag_na"):
            exps.append(
                _parsed(
                    "flag_invalid",
                    name,
                    f"{name} is a recognised flag spelling (case-insensitive): "
                    + ", ".join(flag_values(col)),
                )
            )
        elif col.type == "code":
            legacy = " (legacy codes accepted)" if col.codes in LEGACY_CODES else ""
            exps.append(
                _parsed(
                    "code_invalid",
                    name,
                    f"{name} is in its code set{legacy}, or a description of a code "
                    "(case-insensitive)",
                )
            )
        elif col.type == "decimal":
            derived = name + NUM_SUFFIX
            exps.append(_parsed("decimal_unparseable", name, f"{name} is a number"))
            rng = DECIMAL_RANGES.get((table.name, name))
            if rng:
                rng = dict(rng)
                rule_id = rng.pop("rule_id")
                exps.append(
                    _exp(
                        "expect_column_values_to_be_between",
                        rule_id,
                        [name],
                        f"{name} is more than {rng['min_value']} and at most {rng['max_value']}",
                        column=derived,
                        **rng,
                    )
                )
    for start, end in table.date_ranges:
        rule_id = CENSUS_DATE_RANGE_RULES.get((table.name, start, end), "end_before_start")
        exps.append(
            _exp(
                "expect_column_pair_values_a_to_be_greater_than_b",
                rule_id,
                [end, start],
                f"{end} is on or after {start} when both are present",
                column_A=end + DATE_SUFFIX,
                column_B=start + DATE_SUFFIX,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    return {
        "name": table.name,
        "meta": {
            "table": table.name,
            "file": table.file_name,
            "primary_key": pk,
            "contract_version": CONTRACT_VERSION,
            "generated_by": "python -m csc_pipeline.quality.suites --write",
        },
        "notes": table.description,
        "expectations": exps,
    }


def suite_path(table_name: str, directory: Path = EXPECTATIONS_DIR) -> Path:
    return directory / f"{table_name}.json"


def render(suite: dict) -> str:
    return json.dumps(suite, indent=2, ensure_ascii=False) + "\n"


def load_suite(table_name: str, directory: Path = EXPECTATIONS_DIR) -> dict:
    """The committed suite of a table (raises FileNotFoundError if it was never written)."""
    return json.loads(suite_path(table_name, directory).read_text(encoding="utf-8"))


def stale_suites(directory: Path = EXPECTATIONS_DIR) -> list[str]:
    """Tables whose committed suite differs from the one the contract generates."""
    stale = []
    for table in TABLES:
        path = suite_path(table.name, directory)
        if not path.is_file() or path.read_text(encoding="utf-8") != render(build_suite(table)):
            stale.append(table.name)
    return stale


def write_suites(directory: Path = EXPECTATIONS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in TABLES:
        path = suite_path(table.name, directory)
        path.write_text(render(build_suite(table)), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate or check expectations/*.json")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="rewrite the suites from contract.py")
    group.add_argument("--check", action="store_true", help="exit 1 if a suite is stale (default)")
    parser.add_argument("--dir", type=Path, default=EXPECTATIONS_DIR)
    args = parser.parse_args(argv)
    if args.write:
        for path in write_suites(args.dir):
            print(f"wrote {path}")
        return 0
    stale = stale_suites(args.dir)
    if stale:
        print("stale expectation suites (run with --write): " + ", ".join(stale))
        return 1
    print(f"all {len(TABLES)} expectation suites are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
