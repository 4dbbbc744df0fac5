"""extract: read a council's SSD tables from its database and write the night's folder.

For councils whose profile says `delivery: database` (csc_pipeline.profile), this is
the first step of the night. It produces exactly what a file drop would: one CSV per
table and `manifest.json` (export-contract.md), so landing, the quality gate and
everything after stay as they are and the files remain the evidence of what the SSD
held that night.

Why it is built this way:
- Complete or absent: everything is written into a hidden temporary folder beside the
  night (`<la>/.<date>.extract-<random>`, ignored by night discovery), the manifest
  last, each file fsynced, then the folder is renamed into place in one step. A killed
  extract leaves only a temporary folder, removed by the next attempt.
- Idempotent: a night whose folder already has its manifest is never touched again
  (the published evidence is not replaced by a later, different read of the SSD).
- Streaming: rows come through a server-side cursor (`stream_results`) in chunks of
  `chunk_rows` and go straight to the file; no table is ever held in memory.
- Privacy by construction: columns are selected BY NAME, never `*`: the contract's
  columns without the children's names (pers_forename, pers_surname), plus the SSD-only
  columns the pipeline knows, never any `*_json` column (free-text case notes). A
  column the SSD adds in a later version is therefore not read until it is known.
- One consistent read: on PostgreSQL all tables are read in ONE read-only
  REPEATABLE READ transaction (one snapshot of the SSD), and an empty ssd_person is
  refused as "the SSD refresh is running" (retried), since SSD refreshes truncate and
  re-insert.
- Source recorded: the manifest's `source` object says where the night came from
  (system, SSD version and where that was read, connection id, schema, query start and
  end, columns the SSD lacks or has beyond what was selected).

Values are written as the database holds them, rendered as text: NULL as an empty
field, TIMESTAMP/DATETIME values at midnight as `YYYY-MM-DD` (otherwise
`YYYY-MM-DD HH:MM:SS[.ffffff]`, which the contract also accepts), numbers as digits,
booleans as Y/N. Everything else (codes as descriptions, placeholders, ...) is the
landing and staging's business, exactly as for a file drop.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from csc_pipeline import contract
from csc_pipeline.config import SAMPLE_LA_CODE, SAMPLE_LA_NAME, ConfigError, Settings, settings
from csc_pipeline.profile import CouncilProfile, council_profile

log = logging.getLogger(__name__)

CHUNK_ROWS = 5_000
AUDITS = "case_audits"  # a local feed, not an SSD table: extracted when the database has it


class ExtractConfigError(ConfigError):
    """The council's SSD cannot be read as configured (fix the setting; no retry)."""


class SourceNotReady(RuntimeError):
    """The SSD looks mid-refresh (e.g. ssd_person empty): worth retrying later."""


# The NHS number (SSD v1.4's pers_single_unique_id): no figure needs it, so it is not
# read either (data minimisation; landing never selects it: docs/architecture.md).
NOT_NEEDED = frozenset({"pers_single_unique_id"})


def is_never_selected(column: str) -> bool:
    """Children's names, the NHS number and the free-text JSON columns are never read
    from the SSD."""
    name = column.lower()
    return name in contract.EXCLUDED_COLUMNS or name in NOT_NEEDED or name.endswith("_json")


def wanted_columns(table: str) -> tuple[str, ...]:
    """The columns extract asks for, in file order: the contract's columns, then the
    SSD-only columns the contract knows and lands (`Table.landed_ssd_columns`, the one
    list of docs/spec/ssd-as-deployed.md's columns; JSON and the NHS number are not)."""
    spec = contract.TABLES_BY_NAME[table]
    names = list(spec.column_names)
    names += [c for c in spec.landed_ssd_columns if c not in names]
    return tuple(c for c in names if not is_never_selected(c))


@dataclass
class TablePlan:
    """What to read from one source table."""

    table: str  # contract table name (= file stem)
    source_name: str  # the table's name in the database
    columns: list[tuple[str, str]]  # (name in the database, name in the file)
    primary_key: str | None  # the database column to order by
    missing: list[str] = field(default_factory=list)  # wanted but absent in the SSD
    not_extracted: list[str] = field(default_factory=list)  # in the SSD, not selected

    def query(self, schema: str | None):
        """SELECT <named columns> FROM <schema>.<table> ORDER BY <primary key>: the
        dialect quotes the names; there is no way to ask for `*`."""
        from sqlalchemy import column, select, table

        assert not [c for _, c in self.columns if is_never_selected(c)]
        query = select(*(column(src) for src, _ in self.columns)).select_from(
            table(self.source_name, schema=schema)
        )
        return query.order_by(column(self.primary_key)) if self.primary_key else query


def plan_tables(inspector, schema: str | None, profile: CouncilProfile) -> list[TablePlan]:
    """Match the contract's tables and columns to the database (case-insensitively)."""
    try:
        available = {n.lower(): n for n in inspector.get_table_names(schema=schema)}
    except Exception as exc:  # noqa: BLE001 - a missing schema surfaces here
        raise ExtractConfigError(
            f"cannot list the tables of schema {schema or '(default)'}: {exc} "
            f"(ssd_schema in {profile.source_file or 'the council profile'})"
        ) from exc
    plans: list[TablePlan] = []
    absent: list[str] = []
    for table in contract.TABLES:
        if not profile.supplies(table.name):
            continue
        source = available.get(table.name)
        if source is None:
            if table.name != AUDITS:  # audits are optional: the SSD has no audit table
                absent.append(table.name)
            continue
        db_cols = {c["name"].lower(): c["name"] for c in inspector.get_columns(source, schema)}
        wanted = wanted_columns(table.name)
        columns = [(db_cols[c], c) for c in wanted if c in db_cols]
        plans.append(
            TablePlan(
                table=table.name,
                source_name=source,
                columns=columns,
                primary_key=db_cols.get(table.primary_key),
                missing=[c for c in wanted if c not in db_cols],
                not_extracted=sorted(db_cols[c] for c in db_cols if c not in wanted),
            )
        )
    if absent:
        ssd = sorted(n for n in available.values() if n.lower().startswith("ssd_"))
        raise ExtractConfigError(
            f"council {profile.la_code}: table(s) {', '.join(absent)} not found in schema "
            f"{schema or '(the connection default)'} (it has: {', '.join(ssd) or 'no ssd_* tables'}). "
            f"Set ssd_schema, or list what the council does not supply under "
            f"tables_not_supplied, in {profile.source_file or f'config/councils/{profile.la_code}.yml'}"
        )
    return plans


def render(value: Any) -> str:
    """One database value as CSV text (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8")
    return str(value)


class _HashingCsv:
    """CSV rows -> UTF-8 bytes on disk, hashed and counted on the way (RFC 4180, CRLF)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = path.open("wb")
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self.sha256 = hashlib.sha256()
        self.rows = 0

    def _flush(self) -> None:
        data = self._buf.getvalue().encode("utf-8")
        self._buf.seek(0)
        self._buf.truncate()
        self.sha256.update(data)
        self._fh.write(data)

    def header(self, names: Iterable[str]) -> None:
        self._writer.writerow(list(names))
        self._flush()

    def rows_(self, rows: Iterable[Iterable[Any]]) -> None:
        n = 0
        for row in rows:
            # fast path for the common cases (text, NULL), render() for the rest
            self._writer.writerow(
                [v if v.__class__ is str else "" if v is None else render(v) for v in row]
            )
            n += 1
        self.rows += n
        self._flush()

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _utc_stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ssd_version(con, inspector, schema: str | None, profile: CouncilProfile) -> tuple[str, str]:
    """The SSD version: the database's ssd_version_log (current row) when it has one,
    else the profile's `ssd_version`. Returns (version, where it was read)."""
    from sqlalchemy import column, select, table

    names = {n.lower(): n for n in inspector.get_table_names(schema=schema)}
    if "ssd_version_log" in names:
        cols = {
            c["name"].lower(): c["name"]
            for c in inspector.get_columns(names["ssd_version_log"], schema)
        }
        if "version_number" in cols and "is_current" in cols:
            log_table = table(names["ssd_version_log"], schema=schema)
            rows = con.execute(
                select(column(cols["version_number"]), column(cols["is_current"])).select_from(
                    log_table
                )
            ).fetchall()
            current = [
                str(v) for v, flag in rows if str(flag).strip().lower() in {"1", "true", "y"}
            ]
            if current:
                return current[-1], "ssd_version_log"
    return profile.ssd_version, "profile"


def extract_night(
    engine,
    profile: CouncilProfile,
    exports_root: Path,
    export_date: str,
    *,
    conn_id: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[str, int], None] | None = None,
) -> dict:
    """Read the SSD through `engine` (SQLAlchemy) and write `<root>/<la>/<date>/`.

    Returns a summary dict; `skipped` is True when the night's folder was already
    complete (nothing read, nothing written). `progress(table, rows_so_far)` is called
    after every chunk (used by tests and for logging).
    """
    from sqlalchemy import inspect

    dt.date.fromisoformat(export_date)  # a bad date is a caller error, not a folder name
    la_code = profile.la_code
    council_dir = exports_root / la_code
    target = council_dir / export_date
    if (target / contract.MANIFEST_NAME).is_file():
        log.info("%s %s: night folder already complete, nothing extracted", la_code, export_date)
        return {
            "la_code": la_code,
            "export_date": export_date,
            "path": str(target),
            "skipped": True,
        }
    if target.exists():
        raise ExtractConfigError(
            f"{target} exists without {contract.MANIFEST_NAME}: extract never leaves such a "
            "folder (it renames complete folders into place), so something else wrote it. "
            "Move it away, then re-run the night."
        )
    council_dir.mkdir(parents=True, exist_ok=True)
    for stale in council_dir.glob(f".{export_date}.extract-*"):  # a killed earlier attempt
        shutil.rmtree(stale, ignore_errors=True)
    tmp = council_dir / f".{export_date}.extract-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()

    schema = profile.schema
    files: dict[str, dict] = {}
    tables_meta: dict[str, dict] = {}
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    try:
        with engine.connect() as con:
            if engine.dialect.name == "postgresql":
                con = con.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            with con.begin():
                inspector = inspect(con)
                plans = plan_tables(inspector, schema, profile)
                version, version_from = _ssd_version(con, inspector, schema, profile)
                for plan in plans:
                    out = _HashingCsv(tmp / f"{plan.table}.csv")
                    try:
                        out.header(name for _, name in plan.columns)
                        query = plan.query(schema)
                        result = con.execution_options(
                            stream_results=True, yield_per=chunk_rows
                        ).execute(query)
                        for chunk in result.partitions(chunk_rows):
                            out.rows_(chunk)
                            if progress:
                                progress(plan.table, out.rows)
                    finally:
                        out.close()
                    if plan.table == "ssd_person" and out.rows == 0:
                        raise SourceNotReady(
                            f"council {la_code}: {plan.source_name} is empty in the SSD "
                            "(its nightly refresh truncates and re-inserts: probably still "
                            "running); nothing written, retry later"
                        )
                    files[out.path.name] = {"rows": out.rows, "sha256": out.sha256.hexdigest()}
                    tables_meta[plan.table] = {
                        "source_table": plan.source_name,
                        "rows": out.rows,
                        "columns_not_in_source": plan.missing,
                        "columns_not_extracted": plan.not_extracted,
                    }
        finished = dt.datetime.now(dt.UTC)
        supplied = set(tables_meta)
        manifest = {
            "contract_version": contract.CONTRACT_VERSION,
            "la_code": la_code,
            "la_name": profile.la_name
            or (SAMPLE_LA_NAME if la_code == SAMPLE_LA_CODE else la_code),
            "source_system": profile.source_system_name,
            "export_date": export_date,
            "extracted_at": _utc_stamp(finished),
            "files": files,
            "source": {
                "delivery": "database",
                "system": profile.source_system,
                "ssd_version": version,
                "ssd_version_from": version_from,
                "connection_id": conn_id,
                "dialect": engine.dialect.name,
                "database": engine.url.database,
                "schema": schema,
                "query_started_at": _utc_stamp(started),
                "query_finished_at": _utc_stamp(finished),
                "query_seconds": round(time.perf_counter() - t0, 3),
                "tables_not_supplied": [t for t in contract.TABLE_NAMES if t not in supplied],
                "tables": tables_meta,
            },
        }
        manifest_tmp = tmp / (contract.MANIFEST_NAME + ".tmp")
        with manifest_tmp.open("w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(manifest_tmp, tmp / contract.MANIFEST_NAME)  # LAST
        _fsync_dir(tmp)
        os.rename(tmp, target)  # the night appears complete, in one step
        _fsync_dir(council_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rows = sum(f["rows"] for f in files.values())
    log.info(
        "%s %s: extracted %d tables, %d rows from %s (SSD %s) in %.1fs",
        la_code,
        export_date,
        len(files),
        rows,
        profile.source_system_name,
        version,
        time.perf_counter() - t0,
    )
    return {
        "la_code": la_code,
        "export_date": export_date,
        "path": str(target),
        "skipped": False,
        "rows": rows,
        "files": len(files),
        "ssd_version": version,
    }


def engine_for(conn_id: str, profile: CouncilProfile):
    """A SQLAlchemy engine for an Airflow connection (any DB-API provider: postgres,
    microsoft.mssql, ...). A connection that is not configured is a config error."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    where = profile.source_file or f"config/councils/{profile.la_code}.yml"
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise ExtractConfigError(
            f"council {profile.la_code}: the Airflow connection {conn_id!r} is not configured "
            f"(connection_id in {where}; default csc_ssd_<la_code>). Set "
            f"AIRFLOW_CONN_{conn_id.upper()} or add it in the Airflow UI (docs/deployment.md)"
        ) from None
    try:
        hook = conn.get_hook()
        engine_of = hook.get_sqlalchemy_engine
    except Exception as exc:  # noqa: BLE001 - unknown type / provider not installed
        raise ExtractConfigError(
            f"council {profile.la_code}: Airflow connection {conn_id!r} of type "
            f"{conn.conn_type!r} gives no SQL engine ({exc}); PostgreSQL needs "
            "apache-airflow-providers-postgres, SQL Server apache-airflow-providers-microsoft-mssql"
        ) from exc
    return engine_of()


def default_export_date(run_after: dt.datetime | str | None, timezone: str) -> str:
    """The night a run extracts when none is given: the day before the run in the
    council's time zone (a 02:30 run reads the SSD as refreshed overnight, i.e. the
    records up to the end of the previous day: the contract's export_date)."""
    from zoneinfo import ZoneInfo

    if isinstance(run_after, str):
        run_after = dt.datetime.fromisoformat(run_after)
    moment = run_after or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment.astimezone(ZoneInfo(timezone)).date() - dt.timedelta(days=1)).isoformat()


def run(ref: dict, cfg: Settings | None = None) -> dict:
    """DAG entry. ref: la_code, optional export_date, optional run_after (ISO).

    Returns ref with `skipped` (and its reason) for folder-delivery councils; otherwise
    the extract's summary. Config problems raise ConfigError (no retry)."""
    cfg = cfg or settings()
    profile = council_profile(ref["la_code"], cfg.councils_dir)
    if not profile.is_database:
        return {
            **ref,
            "skipped": True,
            "reason": f"council {profile.la_code} delivers by file drop",
        }
    export_date = ref.get("export_date") or default_export_date(ref.get("run_after"), cfg.timezone)
    engine = engine_for(profile.conn_id, profile)
    try:
        summary = extract_night(
            engine, profile, cfg.exports_root, export_date, conn_id=profile.conn_id
        )
    finally:
        engine.dispose()
    return {**ref, **summary}


def main(argv: list[str] | None = None) -> int:
    """`python -m csc_pipeline.steps.extract 301 [--date D] [--check]`: what an engineer
    runs to try a council's SSD connection (--check: list what would be read, write
    nothing) or to extract one night by hand, outside the DAG."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m csc_pipeline.steps.extract")
    parser.add_argument("la_code")
    parser.add_argument("--date", help="export date YYYY-MM-DD (default: yesterday)")
    parser.add_argument("--check", action="store_true", help="show the plan, write nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = settings()
    try:
        profile = council_profile(args.la_code, cfg.councils_dir)
        if not profile.is_database:
            print(f"council {args.la_code} has delivery: folder (nothing to extract)")
            return 2
        engine = engine_for(profile.conn_id, profile)
        if args.check:
            from sqlalchemy import inspect

            with engine.connect() as con:
                for plan in plan_tables(inspect(con), profile.schema, profile):
                    print(f"{plan.table}: {len(plan.columns)} columns from {plan.source_name}")
                    if plan.missing:
                        print(f"  not in the SSD: {', '.join(plan.missing)}")
                    if plan.not_extracted:
                        print(f"  not read: {', '.join(plan.not_extracted)}")
            return 0
        date = args.date or default_export_date(None, cfg.timezone)
        print(
            json.dumps(
                extract_night(engine, profile, cfg.exports_root, date, conn_id=profile.conn_id)
            )
        )
    except ConfigError as exc:
        print(f"configuration error: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
