"""Land one night's export into the warehouse's `raw` schema, atomically.

Why it is built this way:
- The manifest is the only proof a night is complete, so nothing is read without it,
  and every file's sha256 and row count must agree with it before anything is written.
- Every table of the night is replaced inside ONE DuckDB transaction together with the
  lineage log and the night's status: either the whole night is in `raw`, or the
  warehouse is exactly as it was.
- The export files are only ever read. Personal names are never selected.
- Landing the same delivery again is a no-op, so re-runs leave identical tables.
- SSD as deployed (docs/spec/ssd-as-deployed.md): the SSD-only columns the contract
  knows (``Table.ssd_columns``) are landed as text and are not "extra"; the free-text
  ``*_json`` columns and the NHS number are never selected; an empty field or the text
  ``NULL`` (what SQL Server tools write) is SQL NULL — a file-level null, like an empty
  field. Everything else is landed exactly as delivered: staging types it.
- ``case_audits`` is an optional feed: a night without it is complete; it is recorded
  in meta.load_log as ``not_supplied`` and raw.case_audits is empty.
- raw.council_role_codes / raw.council_code_map: the council profile's overrides of the
  shipped reference data (csc_pipeline.profile.write_raw_tables), written in the same
  transaction; staging unions them with the generated seeds.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from csc_pipeline import nights
from csc_pipeline import warehouse as wh
from csc_pipeline.config import pseudonym_key
from csc_pipeline.contract import (
    CONTRACT_VERSION,
    TABLES,
    Table,
)

log = logging.getLogger(__name__)

# Columns holding a child's case-system person id, per table (for pseudonym keys).
PERSON_ID_COLUMNS: dict[str, str] = {
    t.name: c.name for t in TABLES for c in t.columns if c.references == "ssd_person.pers_person_id"
} | {"ssd_person": "pers_person_id"}


class NightRejected(Exception):
    """The night cannot be landed as delivered. The message names file, row and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        check: str = "landing",
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.check = check
        self.row = row
        self.column = column


LOADED = "loaded"
NOT_SUPPLIED = "not_supplied"


@dataclass
class TableLoad:
    table: str
    file: str
    sha256: str | None
    manifest_rows: int
    rows_loaded: int
    extra_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    status: str = LOADED


@dataclass
class LandingResult:
    la_code: str
    export_date: str
    skipped: bool
    tables: list[TableLoad]

    @property
    def total_rows(self) -> int:
        return sum(t.rows_loaded for t in self.tables)

    def summary(self) -> str:
        if self.skipped:
            return (
                f"{self.la_code} {self.export_date}: already landed (same delivery), nothing to do"
            )
        lines = [f"{self.la_code} {self.export_date}: landed {self.total_rows:,} rows"]
        for t in self.tables:
            if t.status == NOT_SUPPLIED:
                lines.append(f"  {t.table:<28}{'not supplied':>10} (optional feed)")
                continue
            note = ""
            if t.missing_columns:
                note += f" missing columns: {', '.join(t.missing_columns)}"
            if t.extra_columns:
                note += f" extra columns ignored: {', '.join(t.extra_columns)}"
            lines.append(f"  {t.table:<28}{t.rows_loaded:>10,}{note}")
        return "\n".join(lines)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_manifest(night: nights.Night) -> dict:
    try:
        manifest = night.manifest()
    except ValueError as exc:
        raise NightRejected(
            f"{night.manifest_path}: manifest is not valid JSON ({exc})",
            file="manifest.json",
            check="manifest_invalid",
        ) from exc
    problems = []
    if str(manifest.get("contract_version")) != CONTRACT_VERSION:
        problems.append(
            f"contract_version {manifest.get('contract_version')!r} is not {CONTRACT_VERSION!r}"
        )
    if str(manifest.get("la_code")) != night.la_code:
        problems.append(
            f"la_code {manifest.get('la_code')!r} does not match folder {night.la_code!r}"
        )
    if str(manifest.get("export_date")) != night.export_date:
        problems.append(
            f"export_date {manifest.get('export_date')!r} does not match folder {night.export_date!r}"
        )
    if not isinstance(manifest.get("files"), dict):
        problems.append("no 'files' object")
    if problems:
        raise NightRejected(
            f"{night.manifest_path}: " + "; ".join(problems),
            file="manifest.json",
            check="manifest_invalid",
        )
    return manifest


def _header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        first = fh.readline()
    return [h.strip() for h in next(csv.reader([first]), [])]


def _verify_file(
    night: nights.Night, table: Table, manifest: dict, optional: bool = False
) -> tuple[Path, dict] | None:
    """Presence and checksum of one file against the manifest (None: an optional feed —
    case_audits, or a table the council's profile lists as not supplied — that the night
    does not deliver)."""
    entry = manifest["files"].get(table.file_name)
    path = night.path / table.file_name
    if entry is None and (optional or table.optional) and not path.exists():
        return None
    if entry is None:
        raise NightRejected(
            f"{night.path}: {table.file_name} is not listed in the manifest (whole table missing)",
            file=table.file_name,
            check="file_missing",
        )
    if not path.is_file():
        raise NightRejected(
            f"{path}: file listed in the manifest ({entry.get('rows')} rows) is missing",
            file=table.file_name,
            check="file_missing",
        )
    actual = sha256_file(path)
    if actual != entry.get("sha256"):
        raise NightRejected(
            f"{path}: sha256 {actual[:12]}… does not match the manifest's "
            f"{str(entry.get('sha256'))[:12]}… — the file was changed or truncated in transfer",
            file=table.file_name,
            check="checksum_mismatch",
        )
    return path, entry


def _load_table(
    con: duckdb.DuckDBPyConnection,
    night: nights.Night,
    table: Table,
    path: Path,
    entry: dict,
    loaded_at,
) -> TableLoad:
    header = _header(path)
    by_lower = {h.lower(): h for h in header}
    problems = table.header_problems(header)
    extra = problems["extra"]
    # Every contract column not delivered (null in raw). Those a SSD system omits by
    # design ("absent": Table.header_problems) are in no column-presence check.
    missing = problems["missing"] + problems["absent"]
    if not header or len(by_lower) != len(header):
        raise NightRejected(
            f"{path}: row 1 (header): duplicate or empty column names {header!r}",
            file=table.file_name,
            check="header_invalid",
            row=1,
        )
    selects = []
    for col in table.warehouse_columns + table.landed_ssd_columns:
        if col in by_lower:
            src = by_lower[col].replace('"', '""')
            selects.append(f'"{src}"::varchar as {col}')
        else:
            selects.append(f"null::varchar as {col}")
    sql_path = str(path).replace("'", "''")
    con.execute("drop table if exists reject_errors; drop table if exists reject_scans;")
    try:
        con.execute(
            f"""
            create or replace table raw.{table.name} as
            select {", ".join(selects)},
                   ?::date as _export_date,
                   ?::varchar as _la_code,
                   ?::varchar as _source_file,
                   ?::varchar as _source_sha256,
                   row_number() over () as _source_row,
                   ?::timestamp as _loaded_at
            from read_csv('{sql_path}', all_varchar = true, header = true, delim = ',',
                          quote = '"', escape = '"', auto_detect = false,
                          columns = {{{", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in header)}}},
                          nullstr = ['', 'NULL'], store_rejects = true, parallel = false)
            """,
            [night.export_date, night.la_code, table.file_name, entry["sha256"], loaded_at],
        )
    except duckdb.Error as exc:
        raise _locate_bad_row(path, table, len(header), exc) from exc
    rejects = con.execute(
        "select line, column_idx, column_name, error_message from reject_errors order by line limit 3"
    ).fetchall()
    if rejects:
        line, column_idx, column, message = rejects[0]
        column = column or f"#{column_idx}"
        more = f" (and {len(rejects) - 1} more)" if len(rejects) > 1 else ""
        raise NightRejected(
            f"{path}: row {int(line) - 1} (file line {line}), column {column}: "
            f"the CSV cannot be parsed ({message.splitlines()[0]}){more}",
            file=table.file_name,
            check="csv_unparseable",
            row=int(line) - 1,
            column=column,
        )
    rows = con.execute(f"select count(*) from raw.{table.name}").fetchone()[0]
    manifest_rows = int(entry.get("rows", -1))
    if rows != manifest_rows:
        raise NightRejected(
            f"{path}: {rows:,} data rows but the manifest says {manifest_rows:,}",
            file=table.file_name,
            check="rowcount_mismatch",
        )
    return TableLoad(
        table.name, table.file_name, entry["sha256"], manifest_rows, rows, extra, missing
    )


def _not_supplied(con: duckdb.DuckDBPyConnection, night: nights.Night, table: Table, loaded_at):
    """An optional feed absent from the night: an empty raw table (so staging builds)
    and a load_log row saying so."""
    cols = ", ".join(f"{c} varchar" for c in table.warehouse_columns + table.landed_ssd_columns)
    con.execute(
        f"create or replace table raw.{table.name} ({cols}, _export_date date, "
        "_la_code varchar, _source_file varchar, _source_sha256 varchar, "
        "_source_row bigint, _loaded_at timestamp)"
    )
    return TableLoad(table.name, table.file_name, None, 0, 0, [], [], NOT_SUPPLIED)


def _locate_bad_row(path: Path, table: Table, width: int, exc: Exception) -> NightRejected:
    """DuckDB refused the file: find the first malformed row with the csv module (slow
    path, only on failure) so the error names the row and column."""
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        try:
            next(reader, None)
            for row_number, row in enumerate(reader, start=1):
                if len(row) != width:
                    column = f"#{min(len(row), width) + 1}"
                    return NightRejected(
                        f"{path}: row {row_number} (file line {reader.line_num}), column {column}: "
                        f"{len(row)} fields where the header has {width}",
                        file=table.file_name,
                        check="csv_unparseable",
                        row=row_number,
                        column=column,
                    )
        except csv.Error as err:
            return NightRejected(
                f"{path}: file line {reader.line_num}: the CSV cannot be parsed ({err})",
                file=table.file_name,
                check="csv_unparseable",
                row=reader.line_num - 1,
            )
    return NightRejected(
        f"{path}: the CSV cannot be parsed ({str(exc).splitlines()[0]})",
        file=table.file_name,
        check="csv_unparseable",
    )


def _pseudonyms(con: duckdb.DuckDBPyConnection, la_code: str) -> None:
    """raw.person_pseudonyms: keyed hash of every person id in the night."""
    key = pseudonym_key(la_code)
    union = " union ".join(
        f"select {col} as person_id from raw.{tbl} where {col} is not null"
        for tbl, col in PERSON_ID_COLUMNS.items()
    )
    ids = [
        r[0]
        for r in con.execute(
            f"select distinct trim(person_id) from ({union}) order by 1"
        ).fetchall()
    ]
    keys = [hmac.new(key, pid.encode(), hashlib.sha256).hexdigest() for pid in ids]
    con.execute(
        "create or replace table raw.person_pseudonyms (person_id varchar primary key, person_key varchar not null)"
    )
    frame = pd.DataFrame({"person_id": ids, "person_key": keys}, dtype="string")
    con.register("_pseudo", frame)
    con.execute("insert into raw.person_pseudonyms select person_id, person_key from _pseudo")
    con.unregister("_pseudo")


def land_night(
    warehouse: Path, night: nights.Night, *, force: bool = False, profile=None
) -> LandingResult:
    """Verify and load one complete night into raw.* in a single transaction.

    Raises NightRejected (warehouse unchanged) when the delivery does not match its
    manifest or cannot be parsed. Returns skipped=True when this exact delivery is
    already the landed night, unless force=True (which reloads with the same loaded_at,
    so the result is still identical).
    """
    if not night.is_complete:
        raise NightRejected(
            f"{night.path}: no manifest.json — the night is not complete", check="incomplete"
        )
    from csc_pipeline.profile import council_profile, write_raw_tables

    profile = profile or council_profile(night.la_code)  # a bad profile fails before any write
    manifest = _check_manifest(night)
    manifest_sha = night.manifest_sha256()
    verified = {
        t.name: _verify_file(night, t, manifest, optional=not profile.supplies(t.name))
        for t in TABLES
    }

    with wh.connect(warehouse) as con:  # creates the folder; always closed
        nights.ensure_meta(con)
        prior = con.execute(
            "select status, manifest_sha256, landed_at from meta.nights where la_code = ? and export_date = ?",
            [night.la_code, night.export_date],
        ).fetchone()
        current = _current_raw_night(con)
        same_delivery = prior is not None and prior[1] == manifest_sha
        if same_delivery and current == night.export_date and not force:
            write_raw_tables(con, profile)  # same content; present in older warehouses too
            return LandingResult(night.la_code, night.export_date, True, _logged_loads(con, night))
        loaded_at = prior[2] if same_delivery and prior[2] is not None else nights.utcnow()

        con.execute("begin transaction")
        try:
            con.execute("create schema if not exists raw")
            loads = [
                _load_table(con, night, t, *verified[t.name], loaded_at)
                if verified[t.name] is not None
                else _not_supplied(con, night, t, loaded_at)
                for t in TABLES
            ]
            _pseudonyms(con, night.la_code)
            write_raw_tables(con, profile)  # the council's overrides, read by dbt staging
            con.execute(
                "delete from meta.load_log where la_code = ? and export_date = ?",
                [night.la_code, night.export_date],
            )
            con.executemany(
                "insert into meta.load_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        night.la_code,
                        night.export_date,
                        t.table,
                        t.file,
                        t.sha256,
                        t.manifest_rows,
                        t.rows_loaded,
                        t.extra_columns,
                        t.missing_columns,
                        loaded_at,
                        t.status,
                    ]
                    for t in loads
                ],
            )
            con.execute(
                """
                insert into meta.nights (la_code, export_date, manifest_sha256, status, landed_at)
                values (?, ?, ?, 'landed', ?)
                on conflict (la_code, export_date) do update set
                    manifest_sha256 = excluded.manifest_sha256, status = 'landed',
                    landed_at = excluded.landed_at, validated_at = null, published_at = null,
                    message = null
                """,
                [night.la_code, night.export_date, manifest_sha, loaded_at],
            )
            con.execute("drop table if exists reject_errors; drop table if exists reject_scans;")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        log.info(
            "landed %s %s: %d tables, %d rows",
            night.la_code,
            night.export_date,
            len(loads),
            sum(t.rows_loaded for t in loads),
        )
        return LandingResult(night.la_code, night.export_date, False, loads)


def _current_raw_night(con: duckdb.DuckDBPyConnection) -> str | None:
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = 'ssd_person'"
    ).fetchone()[0]
    if not exists:
        return None
    row = con.execute(
        "select strftime(max(_export_date), '%Y-%m-%d') from raw.ssd_person"
    ).fetchone()
    return row[0] if row else None


def _logged_loads(con: duckdb.DuckDBPyConnection, night: nights.Night) -> list[TableLoad]:
    rows = con.execute(
        "select table_name, file_name, sha256, manifest_rows, rows_loaded, extra_columns, "
        "missing_columns, status "
        "from meta.load_log where la_code = ? and export_date = ? order by table_name",
        [night.la_code, night.export_date],
    ).fetchall()
    return [
        TableLoad(r[0], r[1], r[2], r[3], r[4], list(r[5] or []), list(r[6] or []), r[7])
        for r in rows
    ]
