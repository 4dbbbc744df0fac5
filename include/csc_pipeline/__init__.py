"""csc-pipeline: nightly children's social care data platform (Airflow + DuckDB + dbt + GX)."""

__version__ = "0.1.0"
