"""Helpers shared by tests: copying export sets, re-signing manifests, table digests."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb


def copy_exports(
    src: Path, dst: Path, *, nights: list[str] | None = None, la_code: str = "999"
) -> Path:
    """Copy an export set (optionally only some nights) to dst and return dst."""
    for night_dir in sorted((src / la_code).iterdir()):
        if nights is None or night_dir.name in nights:
            shutil.copytree(night_dir, dst / la_code / night_dir.name)
    return dst


def night_dirs(root: Path, la_code: str = "999") -> list[Path]:
    return sorted(p for p in (root / la_code).iterdir() if p.is_dir())


def resign_manifest(night_dir: Path, files: list[str] | None = None) -> None:
    """Recompute rows and sha256 in the manifest (a 'consistent but wrong' delivery)."""
    manifest_path = night_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for name in files or list(manifest["files"]):
        path = night_dir / name
        data = path.read_bytes()
        rows = max(len(data.decode("utf-8-sig").splitlines()) - 1, 0)
        manifest["files"][name] = {"rows": rows, "sha256": hashlib.sha256(data).hexdigest()}
    manifest_path.write_text(json.dumps(manifest, indent=2))


def file_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def table_digests(
    warehouse: Path, schemas: tuple[str, ...] | None = None
) -> dict[str, tuple[int, str]]:
    """(row count, md5 of all rows in a canonical order) for every table in the warehouse."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        out = {}
        for schema, table in tables:
            if schemas and schema not in schemas:
                continue
            out[f"{schema}.{table}"] = con.execute(
                f"select count(*), md5(coalesce(string_agg(cast(t as varchar), chr(10) "
                f'order by cast(t as varchar)), \'\')) from "{schema}"."{table}" t'
            ).fetchone()
        return out
    finally:
        con.close()


def assert_first_night_published(warehouse: Path, exports: Path, var: Path) -> None:
    """The first night of council 999 is the warehouse's one published night, its marts
    are built with figures, and its Parquet copy is the latest (what a deployment's first
    run must leave behind: tests/test_scheduler.py, tests/test_compose_up.py)."""
    first_night = sorted(p.name for p in (exports / "999").iterdir())[0]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        nights = con.execute(
            "select strftime(export_date, '%Y-%m-%d'), status from meta.nights"
        ).fetchall()
        assert nights == [(first_night, "published")]
        marts = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        assert {"kpi_monthly", "fct_assessments", "fct_cp_plans"} <= marts
        assert con.execute("select count(*) from marts.kpi_monthly").fetchone()[0] > 0
    finally:
        con.close()
    assert (var / "parquet" / "999" / "latest").resolve().name == first_night


def pipeline_env(exports: Path, root: Path) -> dict[str, str]:
    """The settings that point the pipeline's steps at an export set and a fresh
    warehouse and var dir under `root` (set them with a MonkeyPatch)."""
    return {
        "CSC_EXPORTS_ROOT": str(exports),
        "CSC_WAREHOUSE": str(root / "wh" / "csc.duckdb"),
        "CSC_VAR_DIR": str(root / "var"),
    }
