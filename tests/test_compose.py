"""The production compose file, checked offline (tests/test_compose_up.py runs it).

Structure is asserted on the parsed YAML (PyYAML resolves the anchors and merge keys as
compose does); when the Python `docker-compose` 1.29 CLI is available (`make
compose-check` installs it in .venv-compose/) its schema validation runs as well.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from docker_stack import compose_cli

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"

CORE_SERVICES = (
    "postgres",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-init",
)
LONG_RUNNING = (
    "postgres",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-init",
)
SECRET_NAME = re.compile(
    r"^(?!.*_FILE$).*(PASSWORD|SECRET|FERNET|_KEY$|TOKEN|^AIRFLOW_CONN_)", re.I
)
VOLUME = re.compile(r"^(\$\{[^}]*\}|[^:]+):([^:]+)(?::(ro|rw))?$")
PLACEHOLDER = re.compile(r"^(|change-me|.*example\.invalid.*)$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def _mounts(service: dict) -> dict[str, str]:
    """container path -> source, for short-syntax volume entries."""
    out = {}
    for entry in service.get("volumes") or []:
        match = VOLUME.match(entry)
        assert match, f"unexpected volume syntax: {entry}"
        out[match.group(2)] = match.group(1)
    return out


def _dotenv(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def test_compose_parses_with_the_core_services(services):
    missing = [s for s in CORE_SERVICES if s not in services]
    assert not missing, f"services missing from docker-compose.yml: {missing}"


def test_every_long_running_service_has_a_healthcheck(services):
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck") or {}
        assert check.get("test"), f"{name} has no healthcheck"
        assert services[name].get("restart") == "always", f"{name} is not restarted"
    assert "8974/health" in str(services["airflow-scheduler"]["healthcheck"]["test"])
    assert "DagProcessorJob" in str(services["airflow-dag-processor"]["healthcheck"]["test"])
    assert "TriggererJob" in str(services["airflow-triggerer"]["healthcheck"]["test"])


def test_airflow_services_share_the_image_and_wait_for_init(services):
    commands = {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
    }
    for name, command in commands.items():
        svc = services[name]
        assert svc["command"] == command
        assert svc["build"]["dockerfile"] == "Dockerfile"
        deps = svc["depends_on"]
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["postgres"]["condition"] == "service_healthy", name


def test_init_migrates_creates_the_pool_and_the_admin(services):
    init = services["airflow-init"]
    script = "\n".join(init["command"]) if isinstance(init["command"], list) else init["command"]
    assert "airflow db migrate" in script
    dag_source = (REPO / "dags" / "csc_nightly.py").read_text()
    pool = re.search(r'WAREHOUSE_POOL\s*=\s*"([^"]+)"', dag_source).group(1)
    assert f"airflow pools set {pool}" in script, "airflow-init must create the DAG's pool"
    env = _env(init)
    assert "SimpleAuthManager" in env["AIRFLOW__CORE__AUTH_MANAGER"]
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in env
    assert "AIRFLOW_ADMIN_PASSWORD" in script  # read from the env file at run time


def test_local_executor_by_default_and_a_celery_profile(services):
    env = _env(services["airflow-scheduler"])
    assert env["AIRFLOW__CORE__EXECUTOR"] in ("LocalExecutor", "${AIRFLOW_EXECUTOR:-LocalExecutor}")
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith(
        "http://airflow-apiserver:8080/"
    )
    for name in ("redis", "airflow-worker"):
        assert services[name].get("profiles") == ["celery"], (
            f"{name} must be opt-in (profile celery)"
        )
    assert services["airflow-worker"]["command"] == "celery worker"
    # nothing outside a profile needs Redis
    for name, svc in services.items():
        if not svc.get("profiles"):
            assert "redis" not in (svc.get("depends_on") or {}), name


def test_secrets_come_from_the_env_file_only(compose, services):
    for name in AIRFLOW_SERVICES:
        env_file = services[name].get("env_file")
        assert env_file and ".env" in env_file, f"{name} must read the .env file"
    for name, svc in services.items():
        for key, value in _env(svc).items():
            if SECRET_NAME.search(key):
                assert value == "" or value.startswith("${"), f"{name}: {key} is set inline"
            # credentials inside URLs must be interpolated, never literal
            for password in re.findall(r"://[^:/@\s]*:(.*?)@", value):
                assert password == "" or password.startswith("${"), (
                    f"{name}: {key} has a literal password"
                )
        assert "CSC_PSEUDONYM_KEY" not in _env(svc), (
            f"{name}: the pseudonym key must come from .env"
        )
    text = COMPOSE.read_text()
    assert not re.search(r"(password|secret|api[_-]?key)\s*[:=]\s*['\"][^'\"$]{8,}", text, re.I)


def test_env_file_is_gitignored_and_the_example_has_placeholders_only():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO).returncode == 0
    assert ignored, ".env must be gitignored"
    assert ENV_EXAMPLE.is_file()
    example = _dotenv(ENV_EXAMPLE)
    for key in (
        "CSC_PSEUDONYM_KEY",
        "AIRFLOW_DB_PASSWORD",
        "AIRFLOW_ADMIN_PASSWORD",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW_CONN_SMTP_DEFAULT",
        "CSC_PG_PASSWORD",
    ):
        assert key in example, f".env.example does not document {key}"
    for key, value in example.items():
        if SECRET_NAME.search(key):
            if key.startswith("AIRFLOW_CONN_"):
                assert "change-me@" in value and "example.invalid" in value, key
            else:
                assert PLACEHOLDER.match(value), f".env.example: {key} looks like a real secret"


def test_project_folders_and_data_volumes_are_mounted(compose, services):
    declared = set(compose.get("volumes") or {})
    for name in AIRFLOW_SERVICES:
        mounts = _mounts(services[name])
        for folder in ("dags", "include", "dbt_project", "expectations", "config"):
            assert mounts.get(f"/opt/airflow/{folder}") == f"./{folder}", (
                f"{name}: ./{folder} not mounted"
            )
        env = _env(services[name])
        assert "/opt/airflow/include" in env["PYTHONPATH"].split(":")
        assert mounts["/opt/airflow/logs"] in declared
        for var, mount in (
            ("CSC_EXPORTS_ROOT", "/data/exports"),
            ("CSC_WAREHOUSE", "/data/warehouse"),
            ("CSC_VAR_DIR", "/data/var"),
        ):
            assert env[var].startswith(mount), f"{name}: {var} is not on its volume"
            source = mounts[mount]
            assert source in declared or "csc-exports" in source, f"{name}: {mount} has no volume"
        # the pipeline never writes to the exports
        exports = next(v for v in services[name]["volumes"] if ":/data/exports" in v)
        assert exports.endswith(":ro")


def test_compose_settings_give_one_warehouse_file_per_council(services, monkeypatch):
    """The container's settings, read by the real config code."""
    from csc_pipeline.config import settings

    env = _env(services["airflow-scheduler"])
    for key in ("CSC_EXPORTS_ROOT", "CSC_WAREHOUSE", "CSC_VAR_DIR"):
        monkeypatch.setenv(key, env[key])
    cfg = settings()
    assert cfg.warehouse_for("999") != cfg.warehouse_for("201")
    assert str(cfg.warehouse_for("201")) == "/data/warehouse/csc_201.duckdb"
    assert cfg.parquet_dir == Path("/data/var/parquet")


def test_dockerfile_builds_from_the_pinned_airflow_image():
    assert DOCKERFILE.is_file()
    text = DOCKERFILE.read_text()
    base = re.search(r"^FROM\s+apache/airflow:(\S+)", text, re.M)
    assert base, "Dockerfile must build FROM the official apache/airflow image"
    pinned = re.search(
        r"^apache-airflow==(\S+)", (REPO / "requirements.txt").read_text(), re.M
    ).group(1)
    assert base.group(1) == f"{pinned}-python3.11"
    assert re.search(r"pip install .*-r \S*requirements\.txt -c \S*constraints\.txt", text)
    for folder in ("dags", "include", "dbt_project", "expectations", "config"):
        assert (REPO / folder).is_dir(), f"the Dockerfile copies {folder}/, which is missing"
        assert f"COPY --chown=airflow:0 {folder}/" in text
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored and "var" in ignored


def test_docker_compose_validates_the_file(tmp_path):
    cli = compose_cli()
    if cli is None:
        pytest.skip(
            "docker-compose CLI not installed (make compose-check installs it); "
            "structure is still checked by the other tests"
        )
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    for profiles in (
        [],
        ["--profile", "celery", "--profile", "pg-warehouse", "--profile", "sample"],
    ):
        proc = subprocess.run(
            [*cli, *profiles, "config", "-q"], cwd=tmp_path, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
    # and it refuses to start without the DB password (no silent default)
    (tmp_path / ".env").write_text("CSC_PSEUDONYM_KEY=change-me\n")
    proc = subprocess.run([*cli, "config", "-q"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0 and "AIRFLOW_DB_PASSWORD" in proc.stderr
