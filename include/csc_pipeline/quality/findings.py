"""What the gate found: findings, the night's check log, the result and its messages.

A Finding names the file, the check (rule id), the column, the count and example rows
(raw ``_source_row`` and record id). Findings, messages and dq tables never contain a
name or a date of birth: descriptions are built from ids, codes' column names and event
dates only.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from csc_pipeline.contract import TABLES_BY_NAME
from csc_pipeline.quality.issues import ISSUE_COLUMNS
from csc_pipeline.quality.rules import (
    CRITICAL,
    CRITICAL_MIN_ROWS,
    CRITICAL_ROW_RATE,
    MAX_EXAMPLES,
    RULES,
    WARNING,
)

TABLE_LEVEL_RULES = {
    "file_missing",
    "wrong_night",
    "column_missing",
    "extra_column",
    "manifest_rows",
    "volume_drop",
    "stale_extract",
    "check_error",
}


@dataclass(frozen=True)
class Example:
    source_row: int | None
    record_id: str | None

    def __str__(self) -> str:
        row = f"row {self.source_row}" if self.source_row is not None else "row ?"
        return f"{row} (id {self.record_id})" if self.record_id else row


@dataclass
class Finding:
    """One failed check on one file (and column)."""

    rule_id: str
    severity: str
    table: str
    file: str
    column: str | None
    count: int  # offending rows (1 for a table-level finding)
    total_rows: int | None
    examples: list[Example] = field(default_factory=list)
    message: str = ""

    @property
    def check(self) -> str:
        return self.rule_id

    @property
    def title(self) -> str:
        rule = RULES.get(self.rule_id)
        return rule.title if rule else self.rule_id

    def as_dict(self) -> dict:
        data = asdict(self)
        data["check"] = self.rule_id
        data["row"] = self.examples[0].source_row if self.examples else None
        return data

    def __str__(self) -> str:
        where = self.file + (f", column {self.column}" if self.column else "")
        text = f"{where}: check {self.rule_id} ({self.title})"
        if self.rule_id not in TABLE_LEVEL_RULES:
            share = f" ({self.count / self.total_rows:.1%})" if self.total_rows else ""
            text += f": {self.count:,} of {self.total_rows or 0:,} rows{share}"
        if self.message:
            text += f" - {self.message}"
        if self.examples:
            text += "; e.g. " + ", ".join(str(e) for e in self.examples)
        return text


@dataclass
class GateResult:
    la_code: str
    export_date: str
    critical: list[Finding]
    warnings: list[Finding]
    summary: str  # printable: counts by rule and severity
    counts: dict[str, dict[str, int]]  # severity -> rule_id -> offending rows
    docs_path: Path | None
    is_quarantined: bool
    seconds: float = 0.0
    issue_stats: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.summary


class NightChecks:
    """Collects what the checks of one night found."""

    def __init__(self, la_code: str, export_date: str) -> None:
        self.la_code = la_code
        self.export_date = export_date
        self.findings: list[Finding] = []
        self.runs: dict[tuple[str, str, str], dict] = {}
        self.table_rows: dict[str, int] = {}
        self.volume: dict[str, dict] = {}
        self.manifest_rows: dict[str, int] = {}
        self.hit_rows: dict[tuple[str, str], int] = {}
        self.timings: dict[str, float] = {}

    def timed(self, step: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[step] = self.timings.get(step, 0.0) + now - since
        return now

    def run(
        self,
        rule_id: str,
        table: str,
        column: str | None,
        outcome: str,
        failed: int = 0,
        message: str = "",
        severity: str | None = None,
    ) -> None:
        key = (rule_id, table, column or "")
        self.runs[key] = {
            "rule_id": rule_id,
            "table_name": table,
            "column_name": column or "",
            "severity": severity or RULES[rule_id].severity,
            "outcome": outcome,
            "failed_rows": int(failed),
            "total_rows": self.table_rows.get(table),
            "examples": "",
            "message": message,
        }

    def table_finding(
        self,
        rule_id: str,
        table: str,
        column: str | None,
        message: str,
        severity: str | None = None,
        file: str | None = None,
    ) -> None:
        severity = severity or RULES[rule_id].severity
        file = file or TABLES_BY_NAME[table].file_name
        self.findings.append(
            Finding(
                rule_id, severity, table, file, column, 1, self.table_rows.get(table), [], message
            )
        )
        self.run(rule_id, table, column, "fail", 1, message, severity)


def row_findings(night: NightChecks, issues: pd.DataFrame) -> None:
    """Row-level findings per (rule, table, column), escalated at broken-extract rates."""
    escalated = {}
    for (rule_id, table), n in night.hit_rows.items():
        total = night.table_rows.get(table) or 0
        if (
            RULES[rule_id].escalates
            and total
            and n >= CRITICAL_MIN_ROWS
            and n / total > CRITICAL_ROW_RATE
        ):
            escalated[(rule_id, table)] = n / total
    if issues.empty:
        return
    issues["severity"] = [
        CRITICAL if (r, t) in escalated else s
        for r, t, s in zip(issues["rule_id"], issues["table_name"], issues["severity"], strict=True)
    ]
    for (rule_id, table, column), group in issues.groupby(
        ["rule_id", "table_name", issues["column_name"].fillna("")], sort=True
    ):
        group = group.sort_values("first_row")
        examples = [
            Example(int(r.first_row), None if pd.isna(r.record_id) else str(r.record_id))
            for r in group.head(MAX_EXAMPLES).itertuples()
        ]
        count = int(group["row_count"].sum())
        severity = CRITICAL if (rule_id, table) in escalated else RULES[rule_id].severity
        message = str(group["description"].iloc[0])
        if (rule_id, table) in escalated:
            message = (
                f"more than {CRITICAL_ROW_RATE:.0%} of the file's rows "
                f"({escalated[(rule_id, table)]:.1%}): the extract looks broken. "
                f"First: {message}"
            )
        night.findings.append(
            Finding(
                rule_id,
                severity,
                table,
                TABLES_BY_NAME[table].file_name,
                column or None,
                count,
                night.table_rows.get(table),
                examples,
                message,
            )
        )
        run = night.runs.get((rule_id, table, column))
        if run is not None:
            run["severity"] = severity
            run["examples"] = ", ".join(str(e) for e in examples)


def summary_text(
    night: NightChecks,
    critical: list[Finding],
    warnings: list[Finding],
    docs: Path | None,
    seconds: float,
) -> tuple[str, dict[str, dict[str, int]]]:
    counts: dict[str, dict[str, int]] = {CRITICAL: {}, WARNING: {}}
    for f in critical + warnings:
        bucket = counts.setdefault(f.severity, {})
        bucket[f.rule_id] = bucket.get(f.rule_id, 0) + f.count
    state = "QUARANTINED" if critical else "passed"
    lines = [
        f"Data-quality gate {night.la_code} {night.export_date}: {state} - "
        f"{len(critical)} critical, {len(warnings)} warning findings "
        f"({sum(counts[WARNING].values()):,} rows with warnings) in {seconds:.1f}s",
    ]
    if critical or warnings:
        lines.append(f"  {'severity':<9}{'rule':<20}{'rows':>9}")
        for severity in (CRITICAL, WARNING):
            for rule_id, n in sorted(counts.get(severity, {}).items()):
                lines.append(f"  {severity:<9}{rule_id:<20}{n:>9,}")
    if docs:
        lines.append(f"  Data Docs: {docs}")
    return "\n".join(lines), counts


def format_critical_message(result: GateResult) -> str:
    """The DAG's failure message: every critical finding with file, check and example rows."""
    if not result.critical:
        return f"Night {result.la_code} {result.export_date} passed the data-quality gate."
    lines = [
        f"Night {result.la_code} {result.export_date} quarantined by the data-quality gate: "
        f"{len(result.critical)} critical finding(s); the previous night's marts are unchanged.",
    ]
    lines += [f"- {f}" for f in result.critical]
    if result.docs_path:
        lines.append(f"Data Docs: {result.docs_path}")
    return "\n".join(lines)


def table_level_issues(night: NightChecks, warnings: list[Finding]) -> pd.DataFrame:
    """Table-level warnings (optional column missing, extra columns) as issues too."""
    rows = []
    for f in warnings:
        if f.rule_id not in TABLE_LEVEL_RULES:
            continue
        key = "|".join([night.la_code, f.rule_id, f.table, f.column or "", ""])
        rows.append(
            {
                "issue_id": hashlib.sha256(key.encode()).hexdigest()[:24],
                "la_code": night.la_code,
                "rule_id": f.rule_id,
                "severity": f.severity,
                "table_name": f.table,
                "column_name": f.column,
                "record_id": None,
                "person_id": None,
                "team_id": None,
                "worker_id": None,
                "source_rows": None,
                "description": f.message,
            }
        )
    return pd.DataFrame(rows, columns=ISSUE_COLUMNS)
