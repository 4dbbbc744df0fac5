"""The one small helper for DuckDB files and atomic file writes.

Why one module: DuckDB allows ONE writer process per file, a reader must say
``read_only=True`` to share the file with a writer, a connection left open holds the
lock, and a half-written file must never be visible under its final name. Getting
those right by hand in every module is how they go wrong, so every module opens the
warehouse, probes a table, runs a transaction or writes a file through these helpers.
This module imports nothing of the package (no cycles).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

Connection = duckdb.DuckDBPyConnection

# DuckDB's own memory cap per process (it spills sorts, joins and temporary tables to a
# folder beside the file beyond it). DuckDB's default is 80 % of the machine's RAM, so a
# hub worker running two councils could be asked for most of the machine; capped, a
# large council's validate task peaked at ~1.2 GB instead of ~1.6 GB (bench/README.md).
# csc_pipeline.dbt_runner passes the same value to dbt's profile (dbt_project/profiles.yml).
MEMORY_LIMIT_ENV = "CSC_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "600MB"


def memory_limit() -> str:
    """The DuckDB memory limit of this process (CSC_DUCKDB_MEMORY_LIMIT, e.g. 2GB)."""
    return os.environ.get(MEMORY_LIMIT_ENV, "").strip() or DEFAULT_MEMORY_LIMIT


@contextmanager
def connect(path: Path | str | None = None, *, read_only: bool = False) -> Iterator[Connection]:
    """A DuckDB connection that is always closed (the file lock is released).

    ``path=None`` is an in-memory database. A writer creates the parent folder; a
    reader never creates anything (DuckDB refuses to open a missing file read-only).
    """
    if path is None:
        con = duckdb.connect()
    else:
        path = Path(path)
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only)
    con.execute(f"set memory_limit = '{memory_limit()}'")
    try:
        yield con
    finally:
        con.close()


def table_exists(con: Connection, schema: str, table: str) -> bool:
    """True when ``schema.table`` (a table or a view) exists."""
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def tables(con: Connection, schema: str, *, base_tables_only: bool = False) -> list[str]:
    """The tables (and views, unless ``base_tables_only``) of a schema, sorted."""
    kind = " and table_type = 'BASE TABLE'" if base_tables_only else ""
    return [
        r[0]
        for r in con.execute(
            f"select table_name from information_schema.tables where table_schema = ?{kind} "
            "order by table_name",
            [schema],
        ).fetchall()
    ]


@contextmanager
def transaction(con: Connection) -> Iterator[Connection]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception (then re-raised)."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def checkpoint(path: Path) -> None:
    """Fold a file's write-ahead log into it, so that a byte copy of it is complete."""
    wal = Path(path).with_name(Path(path).name + ".wal")
    if wal.exists():
        with connect(path) as con:
            con.execute("checkpoint")


def sql_literal(value: object) -> str:
    """A SQL string literal (or NULL): for the few statements (COPY ... TO) that take
    no parameters."""
    if value is None:
        return "null"
    return "'" + str(value).replace("'", "''") + "'"


def atomic_replace(source: Path, target: Path) -> None:
    """Move ``source`` over ``target`` in one step (same file system: a rename)."""
    os.replace(source, target)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write a file so that readers see the old content or the new, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """``atomic_write_bytes`` for text."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_symlink(link: Path, target: str | Path) -> None:
    """Point ``link`` at ``target`` (relative or absolute) with an atomic swap."""
    link = Path(link)
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target, target_is_directory=True)
    tmp.replace(link)
