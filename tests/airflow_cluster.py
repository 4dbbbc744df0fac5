"""A real Airflow 3 deployment for tests: api-server, scheduler, dag-processor (and
triggerer) as separate processes on a PostgreSQL metadata database, with the
LocalExecutor or the CeleryExecutor and Celery workers on a Redis broker.

The same components and settings as docker-compose.yml (its `celery` profile for the
CeleryExecutor), minus the containers. Every process is started in its own session; it
is stopped by signalling its whole process tree (task processes put themselves in their
own process group, so the group alone would miss them). The metadata database is created
for the cluster and dropped afterwards; the Redis database is flushed before and after.

Each Celery worker gets its own hostname (`worker-1`, `worker-2`: what separate
containers or machines would report), through a tiny hostname callable written into
the cluster's home, so the metadata DB's task instances say which worker ran them.
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
from pathlib import Path

from airflow_api import AirflowRestClient

PG_HOST = os.environ.get("CSC_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CSC_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("CSC_TEST_PG_USER", "postgres")
PG_PASSWORD = os.environ.get("CSC_TEST_PG_PASSWORD", "")

REDIS_URL = os.environ.get("CSC_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")  # db 7: this repo's

LOCAL_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
CELERY_COMPONENTS = ("api-server", "scheduler", "dag-processor")  # + worker-1..N

HOSTNAME_MODULE = '''"""Hostname callable of a test Celery worker (written by tests/airflow_cluster.py)."""
import os
import socket


def hostname() -> str:
    return os.environ.get("CSC_TEST_WORKER_HOSTNAME") or socket.getfqdn()
'''


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


def redis_unavailable_reason(url: str = REDIS_URL) -> str | None:
    """None when the test Redis answers, else why not (for pytest.skip)."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover
        return f"the redis client is not installed: {exc}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"Redis not reachable at {url}: {str(exc).strip()[:200]}"
    return None


def celery_unusable_reason() -> str | None:
    """None when Airflow's Celery executor imports in this environment, else why not.

    apache-airflow-providers-celery 3.26.0 imports `retry` from celery.backends.database,
    which celery 5.7.0 removed: with celery 5.7 neither the scheduler nor a worker can load
    the executor. Checked in a fresh interpreter (importing Airflow here would fix its
    configuration for this test process)."""
    code = "import airflow.providers.celery.executors.celery_executor"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if proc.returncode == 0:
        return None
    last = (proc.stderr.strip().splitlines() or ["?"])[-1]
    return f"Airflow's CeleryExecutor does not import here ({last[:300]})"


def flush_redis(url: str = REDIS_URL) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=3).flushdb()


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


class AirflowCluster(AirflowRestClient):
    """Start with start(), stop with stop() (always, in a finally or fixture teardown).

    executor "LocalExecutor" (tasks run under the scheduler, plus a triggerer) or
    "CeleryExecutor" (`workers` Celery workers named worker-1..N, `worker_concurrency`
    task slots each, broker `broker_url`, results in the metadata DB).
    """

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        database: str,
        extra_env: dict[str, str],
        parallelism: int = 3,
        executor: str = "LocalExecutor",
        workers: int = 0,
        worker_concurrency: int = 2,
        broker_url: str = REDIS_URL,
    ) -> None:
        self.home = home
        self.database = database
        self.executor = executor
        self.broker_url = broker_url
        self.worker_concurrency = worker_concurrency
        self.port = free_port()
        self.admin_password = secrets.token_urlsafe(16)
        self.procs: dict[str, subprocess.Popen] = {}
        self.airflow = str(Path(sys.executable).with_name("airflow"))
        pg_password = f":{PG_PASSWORD}" if PG_PASSWORD else ""
        pg = f"{PG_USER}{pg_password}@{PG_HOST}:{PG_PORT}/{database}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.env = {
            **base,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{pg}",
            "AIRFLOW__CORE__EXECUTOR": executor,
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
            # the one api-server of a test deployment on a busy 2-core machine can take
            # many seconds to answer a task (default 5 s: the task then fails to start)
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        }
        if executor == "CeleryExecutor":
            # The settings of docker-compose.yml's celery profile (broker, results in the
            # metadata DB, acks late), plus one task prefetched per slot so that a busy
            # worker never sits on a task another worker could start.
            self.env.update(
                {
                    "AIRFLOW__CELERY__BROKER_URL": broker_url,
                    "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{pg}",
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
                    "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
                    "AIRFLOW__CELERY__TASK_ACKS_LATE": "True",
                    "AIRFLOW__CELERY__WORKER_ENABLE_REMOTE_CONTROL": "True",
                }
            )
        self.env.update(extra_env)
        self.workers = [f"worker-{i}" for i in range(1, workers + 1)]
        self.components = (
            (*CELERY_COMPONENTS, *self.workers)
            if executor == "CeleryExecutor"
            else LOCAL_COMPONENTS
        )

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
        pylib = self.home / "pylib"
        pylib.mkdir(exist_ok=True)
        (pylib / "csc_test_hostname.py").write_text(HOSTNAME_MODULE)
        if self.executor == "CeleryExecutor":
            flush_redis(self.broker_url)
        self.cli("db", "migrate")
        for name, slots in (pools or {}).items():
            self.cli("pools", "set", name, str(slots), "created by the test deployment")

    def _argv(self, component: str) -> tuple[list[str], dict[str, str]]:
        if component not in self.workers:
            return [self.airflow, component], self.env
        env = {
            **self.env,
            "CSC_TEST_WORKER_HOSTNAME": component,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "csc_test_hostname.hostname",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(self.home / "pylib"), self.env.get("PYTHONPATH")])
            ),
        }
        argv = [
            self.airflow,
            "celery",
            "worker",
            "--celery-hostname",
            f"{component}@%h",
            "--concurrency",
            str(self.worker_concurrency),
            "--pid",
            str(self.home / f"{component}.pid"),
            # task logs are files in the shared AIRFLOW_HOME: no log server per worker
            "--skip-serve-logs",
            "--without-mingle",
            "--without-gossip",
        ]
        return argv, env

    def start(self) -> None:
        for component in self.components:
            self.start_component(component)

    def start_component(self, component: str) -> None:
        argv, env = self._argv(component)
        log = open(self.home / f"{component}.log", "ab")  # noqa: SIM115 (closed in stop)
        self.procs[component] = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: nothing else is signalled with it
        )

    def kill_component(self, component: str, sig: int = signal.SIGKILL) -> list[int]:
        """Signal a component's whole process tree (as when its container or machine
        dies: the Celery pool, the task supervisors and the task processes with it).
        Returns the pids signalled."""
        proc = self.procs[component]
        # a reaped process's pid may belong to someone else now: only a live one's tree
        tree = _tree(proc.pid) if proc.poll() is None else []
        _signal_all(tree, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        if proc.stdout:
            proc.stdout.close()
        return [p.pid for p in tree]

    def restart_component(self, component: str, sig: int = signal.SIGTERM) -> None:
        self.kill_component(component, sig)
        self.start_component(component)

    def stop(self, grace: float = 20) -> None:
        trees = {name: _tree(p.pid) for name, p in self.procs.items() if p.poll() is None}
        for pids in trees.values():
            _signal_all(pids[:1], signal.SIGTERM)  # the component itself: a warm shutdown
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                pass
        for name, proc in self.procs.items():
            # leftovers of the tree (task runners in their own process groups); the
            # processes seen before are checked by identity, not by pid
            live = _tree(proc.pid) if proc.poll() is None else []
            _signal_all(live + trees.get(name, []), signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
            if proc.stdout and not proc.stdout.closed:
                proc.stdout.close()
        if self.executor == "CeleryExecutor":
            try:
                flush_redis(self.broker_url)
            except Exception:  # pragma: no cover (Redis gone: nothing left to flush)
                pass

    def check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow components exited: {dead}\n{self.log_tails()}")

    def log_tails(self, lines: int = 40) -> str:
        out = []
        for component in self.components:
            path = self.home / f"{component}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {component} ---\n" + "\n".join(tail))
        return "\n".join(out)

    # --- the metadata database -------------------------------------------------------
    def sql(self, query: str, params: tuple | list = ()) -> list[tuple]:
        """Rows of a query on the cluster's metadata database (read what Airflow recorded)."""
        import psycopg

        with psycopg.connect(pg_conninfo(self.database), autocommit=True) as con:
            return con.execute(query, params).fetchall()

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every try of every task of a run: the current try from task_instance, earlier
        tries from task_instance_history (hostname, pid, start, end, state, pool)."""
        cols = "task_id, map_index, try_number, state, hostname, pid, start_date, end_date, pool"
        rows = self.sql(
            f"select {cols}, 'current' from task_instance where dag_id = %s and run_id = %s "
            f"union all select {cols}, 'history' from task_instance_history "
            "where dag_id = %s and run_id = %s",
            (dag_id, run_id, dag_id, run_id),
        )
        names = [*(c.strip() for c in cols.split(",")), "source"]
        return [dict(zip(names, r, strict=True)) for r in rows]

    def wait_for_workers(self, names: list[str] | None = None, timeout: float = 120) -> None:
        """Until every (named) Celery worker answers a ping on the broker."""
        from celery import Celery

        wanted = set(names or self.workers)
        app = Celery(broker=self.broker_url)
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        try:
            while time.monotonic() < deadline:
                self.check_alive()
                replies = app.control.ping(timeout=2)
                seen = {name.split("@")[0] for reply in replies for name in reply}
                if wanted <= seen:
                    return
                time.sleep(1)
        finally:
            app.close()
        raise TimeoutError(
            f"workers {sorted(wanted - seen)} not up in {timeout}s\n{self.log_tails()}"
        )

    # --- REST API (as the admin user) ---------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return self.url

    def diagnostics(self) -> str:
        return self.log_tails()

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        """From the metadata DB: no dependency on the api-server while waiting."""
        rows = self.sql(
            "select state from dag_run where dag_id = %s and run_id = %s", (dag_id, run_id)
        )
        return rows[0][0] if rows else None


def _tree(pid: int) -> list:
    """The process and all its descendants (psutil.Process objects, the root first).

    Objects, not pids: psutil checks a process's identity (its start time) before it
    signals it, so a pid reused since (pid_max is 32768 on these machines, and a busy
    machine wraps it within minutes) is never signalled by mistake."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _signal_all(procs: list, sig: int) -> None:
    import psutil

    for p in procs:
        try:
            p.send_signal(sig)
        except psutil.Error:  # gone (or its pid reused by another process): leave it
            pass
