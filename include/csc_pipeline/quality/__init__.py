"""The nightly data-quality gate: Great Expectations suites plus SQL checks on raw.*.

Modules:
- ``rules``      every rule id, its plain-English title and the severity policy
- ``suites``     GX expectation suites built from ``contract.py``; committed as
                 ``expectations/<table>.json`` (``python -m csc_pipeline.quality.suites --write``)
- ``typed``      the night's raw tables parsed once into DuckDB temp tables (the same
                 cleaning rules as dbt's ``macros/cleaning.sql``) plus a working-day calendar
- ``gx_runner``  GX Core 1.x, pandas engine, one validation per table, Data Docs per night
- ``sql_checks`` relational checks (orphans) and DfE CIN census checks in DuckDB SQL
- ``issues``     plain-English descriptions and ``dq.dq_issues`` tracking across nights
- ``table_checks`` files, columns, manifest rows, volume drop, stale extract (no values)
- ``gx_checks``  one table's GX suite -> run rows, table findings, row hits
- ``findings``   Finding / GateResult, the night's check log, escalation, messages
- ``gate``       ``run_gate(...)`` (steps/validate.py calls it): orchestration only

The severity policy is documented in ``rules``.
"""
