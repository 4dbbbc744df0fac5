"""Run the expectation suites with GX Core 1.x (pandas engine) and build Data Docs.

GX 1.24 has no DuckDB dialect, so each table is read through the gate's read-only
DuckDB connection into one pandas DataFrame (``typed.frame``) and validated as a single
whole-DataFrame batch: one ValidationDefinition per table, in an ephemeral context
whose only Data Docs site is ``docs_dir/<la_code>/<export_date>/``.

Choices made for speed and privacy (GX 1.24.1):
- The DataFrame's index IS the raw ``_source_row``, and results are requested as
  ``COMPLETE`` without ``unexpected_index_column_names``: GX then returns the failing
  rows' index (the source rows) as one list, vectorised. Naming an index column instead
  makes GX build a dict per failing row (~20 µs each).
- ``exclude_unexpected_values`` and no ``unexpected_index_query``: validation results and
  Data Docs carry counts and source row numbers only, never values (no dates of birth).
- Dates are nanosecond timestamps: GX 1.24 compares ``datetime64[ns]`` columns vectorised
  but falls back to a per-row Python function for any other dtype (``[us]`` included).
- GX fingerprints every pandas batch by hashing the whole DataFrame
  (``pandas_data_fingerprint`` batch marker, about 0.2 s per 500k rows x 3 columns);
  the gate turns that off through the engine's ``HASH_THRESHOLD``. The marker is
  metadata only; validation results are unaffected.
- Two passes per table: every expectation first with ``BOOLEAN_ONLY`` (pass or fail:
  GX computes no unexpected lists, counts or observed values), then only the failed ones
  again with ``COMPLETE`` (counts, source rows, observed values), their results merged
  into the first pass's before the result is stored for Data Docs. On a night where most
  expectations pass this halves what GX computes (large council: GX validation 5.2 ->
  3.5 s); the stored result, the findings and the Data Docs of a failed expectation are
  those of a COMPLETE run, and a passing one's show that it passed.
- Progress bars and analytics are off.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 20,
}
# the first pass (module docstring): pass or fail only
FIRST_PASS_FORMAT = {"result_format": "BOOLEAN_ONLY"}
SITE_NAME = "csc_night"


@dataclass
class Outcome:
    """The outcome of one expectation on one table."""

    table: str
    rule_id: str
    severity: str  # the expectation's (base) severity
    columns: list[str]
    expectation: str
    success: bool
    element_count: int | None = None
    unexpected_count: int | None = None
    source_rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype="int64"))
    observed: object = None
    details: dict | None = None
    error: str | None = None

    @property
    def column(self) -> str | None:
        return self.columns[0] if self.columns else None


def import_gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import great_expectations.execution_engine.pandas_execution_engine as pandas_engine

    pandas_engine.HASH_THRESHOLD = 0  # no whole-DataFrame fingerprint (see module docstring)
    return gx


def applicable(suite: dict, columns: set[str]) -> tuple[dict, list[dict]]:
    """The suite restricted to the delivered columns, and the expectations skipped.

    ``column_missing`` expectations always stay (they are how a missing column fails);
    other checks of a column that was not delivered cannot run and are skipped.
    """
    kept, skipped = [], []
    for exp in suite["expectations"]:
        needed = exp["meta"].get("columns", [])
        if exp["meta"]["rule_id"] != "column_missing" and any(c not in columns for c in needed):
            skipped.append(exp)
        else:
            kept.append(exp)
    return {**suite, "expectations": kept}, skipped


def _severity(value) -> str:
    return str(getattr(value, "value", value) or "warning").lower()


def _config_key(config) -> tuple[str, str, str]:
    """An expectation's identity within a suite: its type, arguments and meta (rule id)."""
    return (
        config.type,
        repr(sorted(config.kwargs.items())),
        repr(sorted((config.meta or {}).items())),
    )


def _error(res) -> str | None:
    """The exception an expectation raised, if any (GX may key it by metric)."""
    info = res.exception_info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "exception")
    for value in info.values() if isinstance(info, dict) else ():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "exception")
    return None


def _passed(res) -> bool:
    """An expectation that passed and raised nothing (the first pass's question)."""
    return bool(res.success) and _error(res) is None


def _outcome(table: str, res) -> Outcome:
    cfg = res.expectation_config
    meta = cfg.meta or {}
    result = res.result or {}
    error = _error(res)
    rows = result.get("unexpected_index_list")
    source_rows = np.asarray(rows if rows else [], dtype="int64")
    return Outcome(
        table=table,
        rule_id=meta.get("rule_id", cfg.type),
        severity=_severity(getattr(cfg, "severity", None)),
        columns=list(meta.get("columns", [])),
        expectation=cfg.type,
        success=bool(res.success) and error is None,
        element_count=result.get("element_count"),
        unexpected_count=result.get("unexpected_count"),
        source_rows=source_rows,
        observed=result.get("observed_value"),
        details=result.get("details"),
        error=error,
    )


class GXRunner:
    """One ephemeral GX context for one night."""

    def __init__(self, docs_path: Path | None, run_name: str) -> None:
        gx = import_gx()
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self._gx = gx
        sites = {}
        if docs_path is not None:
            sites[SITE_NAME] = {
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_path),
                },
            }
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites=sites,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.source = self.context.data_sources.add_pandas("raw")
        self.run_id = RunIdentifier(run_name=run_name)
        self.docs_path = docs_path

    def validate(
        self, table: str, suite: dict, df: pd.DataFrame, parameters: dict
    ) -> list[Outcome]:
        gx = self._gx
        gx_suite = self.context.suites.add(
            gx.ExpectationSuite(
                name=suite["name"],
                expectations=suite["expectations"],
                meta=suite.get("meta"),
                notes=suite.get("notes"),
            )
        )
        batch = self.source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe(
            "whole_night"
        )
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=table, data=batch, suite=gx_suite)
        )
        result = definition.run(
            batch_parameters={"dataframe": df},
            expectation_parameters=parameters,
            result_format=FIRST_PASS_FORMAT,
            run_id=self.run_id,
        )
        failed = [i for i, r in enumerate(result.results) if not _passed(r)]
        if failed:
            self._detail_failures(result, failed, batch, gx_suite.name, df, parameters)
        outcomes = [_outcome(table, r) for r in result.results]
        self._release_batches()
        return outcomes

    def _detail_failures(self, result, failed, batch, suite_name, df, parameters) -> None:
        """The second pass: the failed expectations again with COMPLETE results, merged
        into `result` in place, which then replaces the first pass's stored result (the
        one Data Docs render)."""
        from great_expectations.validator.v1_validator import Validator

        expectations = []
        for i in failed:  # copies: an expectation belongs to one suite
            expectation = result.results[i].expectation_config.to_domain_obj()
            expectation.id = None
            expectations.append(expectation)
        subsuite = self._gx.ExpectationSuite(
            name=f"{suite_name}__failed", expectations=expectations
        )
        detailed = Validator(
            batch_definition=batch,
            batch_parameters={"dataframe": df},
            result_format=RESULT_FORMAT,
        ).validate_expectation_suite(subsuite, parameters)
        # matched on what each expectation is, not on position: GX lists the results of
        # expectations that raised before the others
        details = {_config_key(r.expectation_config): r for r in detailed.results}
        for i in failed:
            first = result.results[i]
            res = details.get(_config_key(first.expectation_config))
            if res is None:  # never let a failure stand without its counts (it would pass)
                raise RuntimeError(
                    f"GX gave no detailed result for a failed {first.expectation_config.type}"
                )
            res.expectation_config = first.expectation_config
            result.results[i] = res
        store = self.context.validation_results_store
        for key in store.list_keys():
            if key.expectation_suite_identifier.name == suite_name and key.run_id == self.run_id:
                store.set(key, result)

    def _release_batches(self) -> None:
        """Drop the DataFrames GX's execution engine caches for the context's lifetime.

        Without this every table of the night stays in memory until the gate ends (a
        large council's peak RSS grew by about 0.8 GB); the results are already kept.
        """
        manager = self.source.get_execution_engine().batch_manager
        manager.batch_data_cache.clear()
        manager.reset_batch_cache()

    def build_docs(self) -> Path | None:
        """Build the night's Data Docs (replacing any earlier build of the same night)."""
        if self.docs_path is None:
            return None
        if self.docs_path.exists():
            shutil.rmtree(self.docs_path)
        self.docs_path.mkdir(parents=True, exist_ok=True)
        self.context.build_data_docs(site_names=[SITE_NAME])
        index = self.docs_path / "index.html"
        return index if index.is_file() else self.docs_path
