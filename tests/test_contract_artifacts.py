"""The one drift test: every file generated from contract.py (dbt sources YAML, the
reference seeds, the GX suites) is what the contract generates now."""

from csc_pipeline import contract, contract_artifacts


def test_generated_files_are_up_to_date():
    assert contract_artifacts.stale() == [], (
        "run: python -m csc_pipeline.contract_artifacts --write"
    )


def test_code_normalisation_reference():
    """The Python reference of staging's normalise_code on the SSD facts."""
    cases = {
        ("cp_category", "Neglect"): "NEG",
        ("cp_category", "physical ABUSE"): "PHY",
        ("cp_category", "Sexual abuse"): "SAB",
        ("cp_category", "Emotional Abuse"): "EMO",
        ("cp_category", "Multiple"): "MUL",
        ("referral_source", "3A - GP"): "3A",
        ("close_reason", "RC8 - Case closed after assessment"): "RC8",
        ("cla_ceased_reason", "E11 - Adopted - application"): "E11",
        ("cla_start_reason", "S - Single period of accommodation"): "S",
        ("sex", "Male"): "M",
        ("sex", "2"): "F",
        ("audit_grade", "Requires improvement"): "REQUIRES_IMPROVEMENT",
        ("worker_change_reason", "Worker left role"): "LEFTRL",
        ("cp_category", "Sunburn"): None,
    }
    for (code_set, text), code in cases.items():
        assert contract.normalise_code(code_set, text) == code, (code_set, text)


def test_staging_reads_each_code_column_with_its_contract_code_set():
    """The staging SQL names the contract's code set for every code column (a renamed
    set would silently flag every value invalid)."""
    import re
    from pathlib import Path

    staging = Path(contract_artifacts.DBT) / "models" / "staging"
    for table in contract.TABLES:
        sql = (staging / f"{table.staging_model}.sql").read_text(encoding="utf-8")
        for c in table.columns:
            if c.type != "code":
                continue
            used = set(re.findall(rf"\('{c.name}'[^)]*?'(\w+)'\)", sql))
            used |= set(re.findall(rf"clean_text\('{c.name}'\), '(\w+)'\)", sql))
            assert used == {c.code_set}, (table.name, c.name, used)


def test_code_key_has_one_rule_in_python_sql_and_dbt():
    """contract.code_key (Python), contract.code_key_sql (the gate's SQL) and dbt's macro
    code_key are one rule: the macro is the SQL text, and both agree with Python."""
    import re

    import duckdb
    from conftest import REPO

    from csc_pipeline.contract import code_key, code_key_sql

    macro = (REPO / "dbt_project" / "macros" / "cleaning.sql").read_text()
    body = re.search(r"macro code_key\(expression\) -%\}\s*(.*?)\s*\{%- endmacro", macro, re.S)
    assert body.group(1) == code_key_sql("{{ expression }}")
    samples = [
        "C&F Allocated Worker",
        "  physical--abuse ",
        "3A - GP",
        "cw",
        "",
        "Key Worker (local)",
    ]
    con = duckdb.connect()
    for text in samples:
        got = con.execute(f"select {code_key_sql('?')}", [text]).fetchone()[0]
        assert got == code_key(text), text
