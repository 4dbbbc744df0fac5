"""dbt, invoked in the task's own process (dbtRunner), with its parsed project reused.

Why in-process: a dbt subprocess paid about 6 s a night twice over (starting Python,
importing dbt, reading the project) for builds whose SQL takes 3-8 s (bench/README.md,
"Round 5"). Airflow 3 already isolates each task in a process of its own under the
supervisor, so a subprocess inside the task bought no isolation the task lacked.

Why a manifest cache: dbt parses the project (partial parsing from the target's
partial_parse.msgpack) on every invocation. One process that builds a night's staging
and then its marts (dag.test(), `make run`, the tests, a worker that runs both) parses
once and hands the parsed project to the second invocation (`dbtRunner(manifest=...)`,
dbt's programmatic API for exactly this). Only the latest parsed project is kept: a
night needs one, and a process that runs many councils one after another (a serial
hub under dag.test()) must not hold one parsed project per council.

What the parsed project depends on, and so the cache key (manifest_key): the project's
files (path, size, mtime of every file dbt reads), the profile target and the database
name (dbt-duckdb names a file's catalog after its stem: it is written into every
node), and the --vars (la_code). Not the night's date: it is read only at execution
(dbt_project/macros/calendar.sql). Not the warehouse path itself: a working copy and
the published file differ in folder, not in what dbt parsed.

dbt writes no manifest.json at night (`--no-write-json`: 2 MB, ~1.5 s of serialising);
run_results.json, the one artefact the pipeline reads (csc_pipeline.model_runs and
DbtFailed's failure list), is written here from the invocation's own result object.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# commands that take a parsed project (the nightly ones); others parse for themselves
REUSES_MANIFEST = {"build", "run", "test", "seed"}
# dbt's own output folders inside the project: not part of what dbt parses
_NOT_PARSED = {"target", "logs", "dbt_packages", "__pycache__"}
# what dbt logs that a failure message should carry (errors, warnings, test failures)
_REPORTED_LEVELS = {"error", "warn"}

_manifests: dict[str, object] = {}


@dataclass
class Invocation:
    """What one dbt invocation reported: success, its result, and its error lines."""

    success: bool
    exception: BaseException | None
    result: object
    messages: list[str] = field(default_factory=list)

    @property
    def returncode(self) -> int:
        """dbt's CLI exit codes: 0 success, 1 a node failed, 2 dbt itself failed."""
        if self.exception is not None:
            return 2
        return 0 if self.success else 1


def project_fingerprint(project_dir: Path) -> str:
    """Every file dbt reads from the project, by path, size and modification time (a
    changed model, seed or YAML forces a fresh parse, as dbt's partial parsing would)."""
    digest = hashlib.sha256()
    for path in sorted(project_dir.rglob("*")):
        rel = path.relative_to(project_dir)
        if rel.parts[0] in _NOT_PARSED or not path.is_file():
            continue
        stat = path.stat()
        digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def manifest_key(project_dir: Path, target: str, database: str, vars_json: str) -> str:
    return "\0".join(
        (str(project_dir), target, database, vars_json, project_fingerprint(project_dir))
    )


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` for the duration of an invocation (dbt's profile reads
    the warehouse path and the memory cap from it), then exactly as it was."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a run.

    dbt-duckdb holds one database instance per process (DuckDBConnectionManager._ENV)
    and may leave it open after the invocation; a file left open here would keep its
    lock (no other process could open it) and could hold unwritten WAL when the working
    copy is published. Closing it makes every invocation end as a dbt process did.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed (a PostgreSQL-only deployment)
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if env is not None:
            env.close()


def invoke(argv: list[str], *, key: str | None, target_dir: Path | None) -> Invocation:
    """Run dbt with `argv` in this process; reuse the parsed project stored under `key`
    (parsing it first if there is none). The caller sets the environment."""
    from dbt.cli.main import dbtRunner

    messages: list[str] = []

    def collect(event) -> None:
        if event.info.level in _REPORTED_LEVELS and event.info.msg:
            messages.append(str(event.info.msg))

    if target_dir is not None:  # never leave an earlier invocation's results to be misread
        (target_dir / "run_results.json").unlink(missing_ok=True)
    manifest = None
    if key is not None and argv[0] in REUSES_MANIFEST:
        manifest = _manifests.get(key)
        if manifest is None:
            parsed = dbtRunner(callbacks=[collect]).invoke(["parse", *_parse_args(argv)])
            release_duckdb()
            if parsed.exception is not None or not parsed.success:
                return Invocation(False, parsed.exception, None, messages)
            _manifests.clear()  # one parsed project per process (module docstring)
            manifest = _manifests[key] = parsed.result
    try:
        res = dbtRunner(manifest=manifest, callbacks=[collect]).invoke(argv)
    finally:
        release_duckdb()
    result = res.result
    if "--no-write-json" in argv and target_dir is not None and hasattr(result, "write"):
        target_dir.mkdir(parents=True, exist_ok=True)
        result.write(str(target_dir / "run_results.json"))
    exception = res.exception if not isinstance(res.exception, SystemExit) else None
    return Invocation(bool(res.success), exception, result, messages)


# options that only a running command takes (parse takes the project, profile and vars)
_RUN_ONLY = {"--select", "-s", "--exclude", "--selector", "--resource-type", "--empty"}


def _parse_args(argv: list[str]) -> list[str]:
    """The options of `argv` that `dbt parse` accepts: the project, profile, target,
    target path and vars, and the global flags; not the node selection."""
    out: list[str] = []
    skipping = False
    for word in argv[1:]:
        if word.startswith("-"):
            skipping = word in _RUN_ONLY
            if not skipping:
                out.append(word)
        elif not skipping:
            out.append(word)
    return out


def forget_manifests() -> None:
    """Drop every parsed project kept by this process (tests; a changed project is
    detected by its fingerprint anyway)."""
    _manifests.clear()
