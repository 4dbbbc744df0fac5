"""Fault injection: the "Real extracts are messy" list of export-contract.md, on demand.

Clean output (any `messy` level) never contains these faults, so a data-quality test
can inject one kind, run the pipeline and assert exactly what it reports. A fault is
applied to ONE night (default the last) of every council (or those in `la_codes`),
and to the named tables (default: one table per kind, below).

Spec (API: `Fault(...)` or `Fault.parse(text)`; CLI: `--fault TEXT`, repeatable)::

    KIND[=ARG,ARG,...]       ARG is any of:
      TABLE                  a contract table name, e.g. ssd_cp_visits
      TABLE.COLUMN           a table and the column to damage
      NUMBER                 amount: < 1 = fraction of the table's rows (at least 1 row),
                             >= 1 = number of rows (capped at the rows available)
      night=N                1 = first night, 2 = second...; -1 = last (default), -2...
      la=CODE                only this council (repeatable; default every council)
      mode=copy|stale        duplicate_night only

    e.g. --fault duplicate_pk=0.01   --fault missing_file=ssd_cp_visits
         --fault unparseable_date=ssd_cp_plans.cppl_cp_plan_start_date,5,night=2

Rows are chosen at random (deterministically from the seed, council, night, kind and
table). Dates written by faults are ISO `YYYY-MM-DD`. Default column per kind =
"first ... column" in contract column order.

Faults in the data (applied before the CSV is written; the manifest matches the file):

- missing_column: the column is absent from the file (header and every row).
  Default table ssd_cin_assessments; default column the table's LAST column.
- extra_column: a column named `extra_column` (or the COLUMN given, when it is not a
  contract column) is appended as the last column, every row holding "EXTRA".
  Default table ssd_cin_episodes.
- duplicate_pk: AMOUNT rows (default 1%) are each repeated, identical, on the line
  right after the original; the file then has rows + AMOUNT rows.
  Default table ssd_cin_assessments.
- end_before_start: in AMOUNT rows (default 1%) that have a start date, the end date
  of the table's first (start, end) pair in contract.Table.date_ranges (or the pair
  whose end is COLUMN) becomes start - k days, k uniform in 1..30.
  Default table ssd_cp_plans (cppl_cp_plan_end_date).
- future_date: in AMOUNT rows (default 1%) the column becomes export_date + k days,
  k uniform in 30..365. Default column the first mandatory date column, else the
  first date column. Default table ssd_cp_visits (cppv_cp_visit_date): a record that
  nothing refers to and that has no end date, so the fault trips no other check.
  On other tables rows are preferably taken, in this order, from those that no other
  table of the night refers to and (when the column starts a date range) whose end
  is blank, so that as few other checks as possible (end before start, assessment
  before referral...) fire as a side effect.
  (Clean data never has a date after its export date except the legitimately future
  icpc_icpc_target_date and pers_expected_dob.)
- bad_code: in AMOUNT rows (default 1%) the column becomes "ZZ", outside every code
  set and legacy spelling. Default column the first code column. Default table
  ssd_cin_episodes (cine_cin_primary_need_code).
- orphan: in AMOUNT non-blank rows (default 1%) the column becomes "ORPHAN" + 6
  digits (unique, alphanumeric, never a real id). Default column the first column
  referencing ssd_person, else the first with a reference. Default table
  ssd_cp_plans (cppl_person_id).
- blank_mandatory: in AMOUNT non-blank rows (default 1%) the column becomes empty.
  Default column the first mandatory non-key column. Default table
  ssd_cin_assessments (cina_person_id).
- unparseable_date: in AMOUNT non-blank rows (default 1%) the column takes, in turn,
  one of UNPARSEABLE_DATES (none parses with contract.DATE_FORMATS). Default column
  as future_date. Default table ssd_cin_assessments (cina_assessment_start_date).

Faults between file and manifest (the manifest describes the file as it should be):

- missing_file: the CSV is not written; the manifest still lists it with the rows and
  sha256 of the full file. Default table ssd_cp_visits.
- truncated_file: the file keeps its header, its first (rows - AMOUNT) data lines and
  the first half (at least one character, never all) of the next line with no line
  end: a partial last line. AMOUNT = data lines lost (default 0.5 = half the rows,
  at least 1). The manifest keeps the full file's rows and sha256.
  Default table ssd_involvements.
- rowcount_mismatch: the file is intact but the manifest's rows = actual + AMOUNT
  (default 1; may be negative, e.g. -5). The sha256 is the file's real one.
  Default table ssd_person.

Whole-night fault:

- duplicate_night: the chosen night (must not be the first) is delivered as a
  duplicate of the previous night's folder.
  mode=copy (default): every file of the previous night's folder, manifest.json
  included, is copied byte for byte into this night's folder, so the manifest's
  export_date names the previous night, not the folder.
  mode=stale: the previous night's CSVs are copied byte for byte, and a fresh
  manifest is written for this night (its own export_date and extracted_at) whose
  files entries are therefore identical to the previous night's (same rows, sha256).
  Any other fault on the same night is overridden; the previous night's own faults
  are carried along in the copy. (Re-delivery of the same folder twice - an
  unchanged folder seen again - needs nothing from the generator: land it twice.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from csc_pipeline import contract

from .extract import Extract, stable_int
from .workdays import from_day

ROW_FAULTS = (
    "missing_column", "extra_column", "duplicate_pk", "end_before_start", "future_date",
    "bad_code", "orphan", "blank_mandatory", "unparseable_date",
)  # fmt: skip
FILE_FAULTS = ("missing_file", "truncated_file", "rowcount_mismatch")
NIGHT_FAULTS = ("duplicate_night",)
FAULT_KINDS = ROW_FAULTS + FILE_FAULTS + NIGHT_FAULTS

DEFAULT_TABLE = {
    "missing_column": "ssd_cin_assessments",
    "extra_column": "ssd_cin_episodes",
    "duplicate_pk": "ssd_cin_assessments",
    "end_before_start": "ssd_cp_plans",
    "future_date": "ssd_cp_visits",
    "bad_code": "ssd_cin_episodes",
    "orphan": "ssd_cp_plans",
    "blank_mandatory": "ssd_cin_assessments",
    "unparseable_date": "ssd_cin_assessments",
    "missing_file": "ssd_cp_visits",
    "truncated_file": "ssd_involvements",
    "rowcount_mismatch": "ssd_person",
}
DEFAULT_AMOUNT = {"truncated_file": 0.5, "rowcount_mismatch": 1.0}
ROW_FAULT_DEFAULT_AMOUNT = 0.01
EXTRA_COLUMN = "extra_column"
EXTRA_VALUE = "EXTRA"
BAD_CODE = "ZZ"
UNPARSEABLE_DATES = (
    "31/02/2025",
    "2025-13-01",
    "32/01/2025",
    "not known",
    "20250105",
    "2025/01/05",
)


class FaultError(ValueError):
    """A fault spec that cannot be applied as written."""


@dataclass(frozen=True)
class Fault:
    """One fault to inject (see the module docstring for each kind's effect)."""

    kind: str
    tables: tuple[str, ...] = ()
    column: str | None = None
    amount: float | None = None
    night: int = -1
    la_codes: tuple[str, ...] = ()
    mode: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultError(f"unknown fault kind {self.kind!r}; kinds: {', '.join(FAULT_KINDS)}")
        for t in self.tables:
            if t not in contract.TABLES_BY_NAME:
                raise FaultError(f"{self.kind}: unknown table {t!r}")
        if self.night == 0:
            raise FaultError("night is 1-based (1 = first night, -1 = last)")
        if self.mode not in (None, "copy", "stale"):
            raise FaultError(f"duplicate_night mode must be copy or stale, not {self.mode!r}")
        if self.column is not None and self.kind in ROW_FAULTS and self.kind != "extra_column":
            for t in self.target_tables:
                contract.TABLES_BY_NAME[t].column(self.column)  # KeyError -> caller's mistake

    @property
    def target_tables(self) -> tuple[str, ...]:
        if self.tables:
            return self.tables
        return (DEFAULT_TABLE[self.kind],) if self.kind in DEFAULT_TABLE else ()

    @property
    def amount_or_default(self) -> float:
        if self.amount is not None:
            return self.amount
        return DEFAULT_AMOUNT.get(self.kind, ROW_FAULT_DEFAULT_AMOUNT)

    @classmethod
    def parse(cls, text: str) -> Fault:
        """Parse `KIND[=ARG,ARG,...]` (see module docstring)."""
        kind, _, rest = text.strip().partition("=")
        kw: dict[str, Any] = {"kind": kind.strip()}
        tables: list[str] = []
        las: list[str] = []
        for raw in filter(None, (a.strip() for a in rest.split(","))):
            key, eq, value = raw.partition("=")
            if eq and key == "night":
                kw["night"] = int(value)
            elif eq and key == "la":
                las.append(value)
            elif eq and key == "mode":
                kw["mode"] = value
            elif raw in ("copy", "stale"):
                kw["mode"] = raw
            elif _is_number(raw):
                kw["amount"] = float(raw)
            elif "." in raw:
                table, column = raw.split(".", 1)
                tables.append(table)
                kw["column"] = column
            else:
                tables.append(raw)
        try:
            return cls(**kw, tables=tuple(tables), la_codes=tuple(las))
        except KeyError as exc:
            raise FaultError(f"{text!r}: {exc.args[0]}") from None

    def night_index(self, n_nights: int) -> int:
        """The 0-based index of the night this fault hits."""
        wanted = self.night - 1 if self.night > 0 else n_nights + self.night
        if not 0 <= wanted < n_nights:
            raise FaultError(f"{self.kind}: night {self.night} outside 1..{n_nights}")
        return wanted

    def applies_to(self, la_code: str, night_index: int, n_nights: int) -> bool:
        """Whether this fault hits this council's night (0-based index)."""
        wanted = self.night_index(n_nights)
        return night_index == wanted and (not self.la_codes or la_code in self.la_codes)


def as_faults(faults: Iterable[Fault | str] | Mapping[str, Any] | None) -> list[Fault]:
    """Faults from Fault objects, spec strings, or a {kind: arg} mapping."""
    if faults is None:
        return []
    if isinstance(faults, Mapping):
        return [Fault.parse(k if v in (None, True) else f"{k}={v}") for k, v in faults.items()]
    return [f if isinstance(f, Fault) else Fault.parse(f) for f in faults]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _rng(seed: int, la_code: str, day: int, fault: Fault, table: str) -> np.random.Generator:
    return np.random.default_rng(
        [seed, stable_int(la_code), day, stable_int(fault.kind), stable_int(table)]
    )


def _count(amount: float, available: int) -> int:
    """Rows to damage: a count (>= 1) or a fraction (< 1, at least one row)."""
    if available <= 0 or amount == 0:
        return 0
    if abs(amount) >= 1:
        return min(int(abs(amount)), available)
    return min(max(1, round(abs(amount) * available)), available)


def _parse_day(text: str) -> int | None:
    """Day number of a date in any accepted format (None if blank or unparseable)."""
    for fmt in contract.DATE_FORMATS:
        try:
            return (dt.datetime.strptime(text, fmt).date() - dt.date(1970, 1, 1)).days
        except ValueError:
            continue
    return None


def _default_column(table: contract.Table, kind: str) -> str:
    cols = table.columns
    if kind == "missing_column":
        return cols[-1].name
    if kind in ("future_date", "unparseable_date"):
        dates = [c for c in cols if c.type == "date"]
        mandatory = [c for c in dates if c.mandatory]
        if not dates:
            raise FaultError(f"{kind}: {table.name} has no date column")
        return (mandatory or dates)[0].name
    if kind == "bad_code":
        codes = [c for c in cols if c.codes]
        if not codes:
            raise FaultError(f"bad_code: {table.name} has no code column")
        return codes[0].name
    if kind == "orphan":
        person = [c for c in cols if c.references == "ssd_person.pers_person_id"]
        refs = [c for c in cols if c.references]
        if not refs:
            raise FaultError(f"orphan: {table.name} has no reference column")
        return (person or refs)[0].name
    if kind == "blank_mandatory":
        mand = [c for c in cols if c.mandatory and c.name != table.primary_key]
        return (mand or [c for c in cols if c.mandatory])[0].name
    raise AssertionError(kind)


def apply_row_fault(
    ex: Extract,
    fault: Fault,
    seed: int,
    la_code: str,
    export_day: int,
    referenced: set[str] | None = None,
) -> None:
    """Damage one table's cells in place (see module docstring).

    `referenced`: primary keys of this table that other tables of the night refer to
    (used by future_date to prefer rows whose change has no knock-on effect).
    """
    table = contract.TABLES_BY_NAME[ex.table]
    rng = _rng(seed, la_code, export_day, fault, ex.table)
    kind = fault.kind
    if kind == "extra_column":
        name = (
            fault.column
            if fault.column and fault.column not in table.column_names
            else EXTRA_COLUMN
        )
        ex.columns.append(name)
        ex.cells[name] = np.full(ex.rows, EXTRA_VALUE, dtype=object)
        return
    if kind == "missing_column":
        name = fault.column or _default_column(table, kind)
        if name in ex.columns:
            ex.columns.remove(name)
            del ex.cells[name]
        return
    if kind == "duplicate_pk":
        n = _count(fault.amount_or_default, ex.rows)
        chosen = np.sort(rng.choice(ex.rows, size=n, replace=False))
        order = np.sort(np.concatenate([np.arange(ex.rows), chosen]), kind="stable")
        ex.take(order)
        return
    if kind == "end_before_start":
        pairs = table.date_ranges
        if fault.column:
            pairs = tuple(p for p in pairs if fault.column in p)
        if not pairs:
            raise FaultError(f"end_before_start: {table.name} has no (start, end) date pair")
        start_col, end_col = pairs[0]
        starts = ex.cells[start_col]
        days = np.array([_parse_day(s) if s else None for s in starts], dtype=object)
        cand = np.flatnonzero(days != None)  # noqa: E711 - elementwise comparison
        n = _count(fault.amount_or_default, cand.size)
        chosen = rng.choice(cand, size=n, replace=False)
        back = rng.integers(1, 31, n)
        ex.cells[end_col] = ex.cells[end_col].copy()
        for pos, k in zip(chosen, back, strict=True):
            ex.cells[end_col][pos] = from_day(days[pos] - int(k)).isoformat()
        return

    col = fault.column or _default_column(table, kind)
    if col not in ex.cells:
        return
    values = ex.cells[col].copy()
    non_blank = kind in ("orphan", "blank_mandatory", "unparseable_date")
    cand = np.flatnonzero(values != "") if non_blank else np.arange(ex.rows)
    n = _count(fault.amount_or_default, cand.size)
    if kind == "future_date":
        cand = _quiet_rows(ex, table, col, referenced or set(), n)
    chosen = np.sort(rng.choice(cand, size=n, replace=False))
    if kind == "future_date":
        ahead = rng.integers(30, 366, n)
        values[chosen] = [from_day(export_day + int(k)).isoformat() for k in ahead]
    elif kind == "bad_code":
        values[chosen] = BAD_CODE
    elif kind == "orphan":
        values[chosen] = [f"ORPHAN{900_000 + i}" for i in range(n)]
    elif kind == "blank_mandatory":
        values[chosen] = ""
    elif kind == "unparseable_date":
        values[chosen] = [UNPARSEABLE_DATES[i % len(UNPARSEABLE_DATES)] for i in range(n)]
    ex.cells[col] = values


def _quiet_rows(
    ex: Extract, table: contract.Table, col: str, referenced: set[str], n: int
) -> np.ndarray:
    """Rows where moving `col` into the future upsets as little else as possible:
    unreferenced rows with a blank range end if there are n of them, else unreferenced
    rows, else all rows."""
    pk = ex.cells.get(table.primary_key)
    free = np.ones(ex.rows, dtype=bool) if pk is None else ~np.isin(pk, list(referenced))
    open_end = np.ones(ex.rows, dtype=bool)
    for start, end in table.date_ranges:
        if start == col and end in ex.cells:
            open_end &= ex.cells[end] == ""
    for mask in (free & open_end, free):
        if mask.sum() >= n:
            return np.flatnonzero(mask)
    return np.arange(ex.rows)


def truncate(data: bytes, rows: int, fault: Fault) -> bytes:
    """The file cut short: header, rows - AMOUNT whole lines, half of the next line."""
    lines = data.split(b"\r\n")
    if rows == 0:  # nothing but a header: cut the header itself
        return lines[0][: max(1, len(lines[0]) // 2)]
    keep = rows - max(1, _count(fault.amount_or_default, rows))
    nxt = lines[1 + keep]
    return b"".join(line + b"\r\n" for line in lines[: 1 + keep]) + nxt[: max(1, len(nxt) // 2)]


def manifest_rows(actual: int, fault: Fault) -> int:
    """The row count the manifest claims under rowcount_mismatch."""
    amount = fault.amount_or_default
    delta = (
        int(amount)
        if abs(amount) >= 1
        else max(1, round(abs(amount) * actual)) * (1 if amount >= 0 else -1)
    )
    return max(0, actual + delta)


def for_night(faults: list[Fault], la_code: str, night_index: int, n_nights: int) -> list[Fault]:
    """The faults that hit one council's night."""
    return [f for f in faults if f.applies_to(la_code, night_index, n_nights)]
