"""A real Airflow 3 deployment for tests: api-server, scheduler, dag-processor and
triggerer as separate processes on a PostgreSQL metadata database, LocalExecutor.

The same components and settings as docker-compose.yml, minus the containers. Every
process is started in its own session and stopped by its process-group id; the
metadata database is created for the cluster and dropped afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

PG_HOST = os.environ.get("CSC_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CSC_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("CSC_TEST_PG_USER", "postgres")
PG_PASSWORD = os.environ.get("CSC_TEST_PG_PASSWORD", "")

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def pg_conninfo(dbname: str = "postgres") -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        password=PG_PASSWORD or None,
        dbname=dbname,
        connect_timeout=3,
    )


def postgres_unavailable_reason() -> str | None:
    """None when the test PostgreSQL server answers, else why not (for pytest.skip)."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover
        return f"psycopg is not installed: {exc}"
    try:
        with psycopg.connect(pg_conninfo(), autocommit=True) as con:
            con.execute("select 1")
    except Exception as exc:
        return (
            f"PostgreSQL not reachable at {PG_USER}@{PG_HOST}:{PG_PORT}: {str(exc).strip()[:200]}"
        )
    return None


def create_database(prefix: str) -> str:
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(pg_conninfo(), autocommit=True) as con:
        con.execute(f'create database "{name}"')
    return name


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(pg_conninfo(), autocommit=True) as con:
        con.execute(f'drop database if exists "{name}" with (force)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AirflowCluster:
    """Start with start(), stop with stop() (always, in a finally or fixture teardown)."""

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        database: str,
        extra_env: dict[str, str],
        parallelism: int = 3,
    ) -> None:
        self.home = home
        self.database = database
        self.port = free_port()
        self.admin_password = secrets.token_urlsafe(16)
        self.procs: dict[str, subprocess.Popen] = {}
        self.airflow = str(Path(sys.executable).with_name("airflow"))
        pg_password = f":{PG_PASSWORD}" if PG_PASSWORD else ""
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.env = {
            **base,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{PG_USER}{pg_password}@{PG_HOST}:{PG_PORT}/{database}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # react fast in a test: list the dags folder often, re-parse little
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "300",
            # only the runs a test triggers: no scheduled run on unpause (it would take
            # the DAG's single active-run slot first)
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            **extra_env,
        }

    # --- lifecycle -------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 180) -> str:
        proc = subprocess.run(
            [self.airflow, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
            )
        return proc.stdout

    def init(self, pools: dict[str, int] | None = None) -> None:
        """What airflow-init does: migrate the DB, create the pools, set the admin password."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({"admin": self.admin_password}))
        self.cli("db", "migrate")
        for name, slots in (pools or {}).items():
            self.cli("pools", "set", name, str(slots), "created by the test deployment")

    def start(self) -> None:
        for component in COMPONENTS:
            log = open(self.home / f"{component}.log", "wb")  # noqa: SIM115 (closed in stop)
            self.procs[component] = subprocess.Popen(
                [self.airflow, component],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() ends it and its children
            )

    def stop(self, grace: float = 20) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGKILL)  # leftovers of the group (task runners)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
            if proc.stdout:
                proc.stdout.close()

    def check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow components exited: {dead}\n{self.log_tails()}")

    def log_tails(self, lines: int = 40) -> str:
        out = []
        for component in COMPONENTS:
            path = self.home / f"{component}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {component} ---\n" + "\n".join(tail))
        return "\n".join(out)

    # --- REST API (as the admin user) ---------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def wait_for_api(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                self._request("GET", "/api/v2/version")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1)
        raise TimeoutError(f"api-server did not answer in {timeout}s\n{self.log_tails()}")

    def token(self) -> str:
        body = {"username": "admin", "password": self.admin_password}
        return self._request("POST", "/auth/token", body)["access_token"]

    def api(self, method: str, path: str, body: dict | None = None):
        return self._request(method, path, body, token=self.token())

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict:
        """Until the dag-processor has parsed the DAG into the metadata DB."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                return self.api("GET", f"/api/v2/dags/{dag_id}")
            except urllib.error.HTTPError as exc:
                last = exc
                time.sleep(2)
        raise TimeoutError(f"DAG {dag_id} not parsed in {timeout}s ({last})\n{self.log_tails()}")

    def trigger(self, dag_id: str, conf: dict) -> str:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        run = self.api(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf}
        )
        return run["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise TimeoutError(
            f"run {run_id} still {state} after {timeout}s\n{self.task_states(dag_id, run_id)}"
            f"\n{self.log_tails()}"
        )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        tis = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=100")
        return {f"{t['task_id']}[{t['map_index']}]": t["state"] for t in tis["task_instances"]}

    def task_log(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int = 1
    ) -> str:
        path = (
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
            f"?map_index={map_index}&full_content=true"
        )
        try:
            return json.dumps(self.api("GET", path))[-6000:]
        except urllib.error.HTTPError as exc:
            return f"(no log: {exc})"


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the group this test started (start_new_session=True)
    except ProcessLookupError:
        pass
