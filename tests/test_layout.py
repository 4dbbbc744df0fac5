"""The package's layout rules (docs/architecture.md, "Layout"): no import cycles, library
modules never import the steps, one home for DuckDB connections, table probes, atomic
writes and boolean settings. Static (ast), so it runs in a fraction of a second."""

from __future__ import annotations

import ast

import pytest
from conftest import REPO

from csc_pipeline import config, warehouse

PACKAGE = REPO / "include" / "csc_pipeline"

# Modules of other areas not yet moved onto csc_pipeline.warehouse (their owners' work
# in progress); the list may only shrink.
NOT_YET_ON_THE_HELPER = {
    "landing.py",
    "rebuild.py",  # renames the rebuilt warehouse into place
    "steps/extract.py",  # renames the night's folder into place (os.replace of a folder)
}


# The drivers that run the steps in order outside the DAG (`make run`, the rebuild).
DRIVERS = {"csc_pipeline.run", "csc_pipeline.rebuild"}


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return out


def _imports(tree: ast.Module, *, top_level_only: bool) -> set[str]:
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("csc_pipeline")}


def test_no_import_cycles_between_modules():
    mods = _modules()
    graph = {
        name: {m for m in _imports(tree, top_level_only=True) if m in mods and m != name}
        for name, tree in mods.items()
    }
    # a package's __init__ importing its own submodules is not a cycle of modules
    graph = {n: {m for m in deps if not n.startswith(m + ".")} for n, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in graph[node]:
            if state.get(dep) == 1:
                cycle = path[path.index(dep) :] + [dep] if dep in path else [node, dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_library_modules_never_import_the_steps():
    for name, tree in _modules().items():
        if name.startswith("csc_pipeline.steps") or name in DRIVERS:
            continue
        steps = {
            m for m in _imports(tree, top_level_only=False) if m.startswith("csc_pipeline.steps")
        }
        assert not steps, f"{name} imports {sorted(steps)}"


def test_every_dag_step_has_its_module_with_run():
    for step in ("discover", "extract", "land", "validate", "build", "publish", "alerts"):
        tree = ast.parse((PACKAGE / "steps" / f"{step}.py").read_text(encoding="utf-8"))
        assert any(isinstance(n, ast.FunctionDef) and n.name == "run" for n in tree.body), step
    assert not (PACKAGE / "tasks.py").exists()


def test_connections_probes_and_atomic_writes_have_one_home():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        if rel == "warehouse.py" or rel in NOT_YET_ON_THE_HELPER:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in (
            "duckdb.connect(",
            "from information_schema.tables where table_schema = ? and table_name",
            "os.replace(",
        ):
            if needle in text:
                offenders.append(f"{rel}: {needle}")
    assert not offenders, offenders


def test_boolean_settings_have_one_parser(monkeypatch):
    for word in ("1", "true", "Yes", " on ", "y"):
        monkeypatch.setenv("CSC_X_FLAG", word)
        assert config.env_flag("CSC_X_FLAG") is True
    for word in ("0", "false", "NO", "off", "n"):
        monkeypatch.setenv("CSC_X_FLAG", word)
        assert config.env_flag("CSC_X_FLAG", default=True) is False
    monkeypatch.setenv("CSC_X_FLAG", "")
    assert config.env_flag("CSC_X_FLAG", default=True) is True
    monkeypatch.setenv("CSC_X_FLAG", "ture")
    with pytest.raises(config.ConfigError, match="CSC_X_FLAG must be true or false"):
        config.env_flag("CSC_X_FLAG")


def test_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CSC_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("CSC_LA_CODES", " 999, 123 ,")
    monkeypatch.setenv("CSC_EXPORT_DATE", "")
    cfg = config.settings()
    assert cfg.exports_root == tmp_path / "exports"
    assert cfg.warehouse == tmp_path / "warehouse" / "csc.duckdb"
    assert cfg.la_codes == ("999", "123") and cfg.export_date is None
    assert cfg.parquet_dir == tmp_path / "parquet"
    monkeypatch.setenv("CSC_EXPORT_DATE", "yesterday")
    with pytest.raises(config.ConfigError, match="CSC_EXPORT_DATE"):
        config.settings()


def test_warehouse_helper(tmp_path):
    db = tmp_path / "sub" / "w.duckdb"
    with warehouse.connect(db) as con:
        con.execute("create schema s; create table s.t (x int)")
        assert warehouse.table_exists(con, "s", "t") and not warehouse.table_exists(con, "s", "u")
        with pytest.raises(RuntimeError), warehouse.transaction(con):
            con.execute("insert into s.t values (1)")
            raise RuntimeError("boom")
        assert con.execute("select count(*) from s.t").fetchone()[0] == 0  # rolled back
    with warehouse.connect(db, read_only=True) as con:
        assert warehouse.tables(con, "s") == ["t"]
    target = warehouse.atomic_write_text(tmp_path / "a" / "f.json", "{}")
    assert target.read_text() == "{}" and [p.name for p in target.parent.iterdir()] == ["f.json"]
    (tmp_path / "n1").mkdir()
    warehouse.atomic_symlink(tmp_path / "latest", "n1")
    assert (tmp_path / "latest").resolve() == tmp_path / "n1"


def test_every_module_and_script_the_makefile_runs_exists():
    """`$(PY) -m <module>` and `$(PY) <script>.py` in the Makefile resolve to files of the
    repository (two streams once deleted each other's copy of the dbt unit-test tool and
    left `make test-fast` pointing at nothing)."""
    import re

    makefile = (REPO / "Makefile").read_text()
    roots = (REPO / "include", REPO / "tools", REPO)
    missing = []
    for module in re.findall(r"\$\(PY\) -m ([\w.]+)", makefile):
        if module.split(".")[0] in {"pip", "pytest", "ruff", "sqlfluff", "playwright"}:
            continue
        rel = module.replace(".", "/")
        if not any(
            (r / f"{rel}.py").is_file() or (r / rel / "__main__.py").is_file() for r in roots
        ):
            missing.append(module)
    for script in re.findall(r"\$\(PY\) ([\w/]+\.py)", makefile):
        if not (REPO / script).is_file():
            missing.append(script)
    assert not missing, missing


def test_duckdb_memory_limit_has_one_default():
    """The pipeline's DuckDB connections and dbt's read one value, whose one default is
    csc_pipeline.warehouse's (dbt_runner passes it; the profile has no default of its own)."""
    from csc_pipeline import dbt_runner
    from csc_pipeline import warehouse as wh

    profile = (REPO / "dbt_project" / "profiles.yml").read_text()
    assert f"env_var('{wh.MEMORY_LIMIT_ENV}')" in profile, "dbt's profile must read the cap"
    assert wh.DEFAULT_MEMORY_LIMIT not in profile, "a second default for the DuckDB cap"
    assert dbt_runner.MEMORY_LIMIT_ENV == wh.MEMORY_LIMIT_ENV
    with wh.connect() as con:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit.replace(" ", "").upper().startswith(("572", "600")), limit
