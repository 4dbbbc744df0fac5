"""Airflow's REST API as the admin user: one client for every deployment the tests run.

Both the in-process deployments of tests/airflow_cluster.py (api-server, scheduler,
dag-processor and workers as local processes) and the docker-compose stack of
tests/docker_stack.py talk to the same api-server API; only where it listens, how to
tell that the deployment is still alive, and what to print when it is not differ. So a
deployment class subclasses ``AirflowRestClient`` and provides ``api_base`` and
``admin_password``, and may override ``check_alive`` and ``diagnostics``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request


class AirflowRestClient:
    """REST calls, DAG-run triggering and waiting, task states and logs."""

    admin_password: str
    request_timeout: float = 60

    @property
    def api_base(self) -> str:  # e.g. http://127.0.0.1:8080
        raise NotImplementedError

    def check_alive(self) -> None:
        """Raise when the deployment has died (so a wait fails at once, with the reason)."""

    def diagnostics(self) -> str:
        """What to print with a timeout: the components' log tails."""
        return ""

    def _request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api_base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=self.request_timeout) as resp:
            return json.loads(resp.read() or b"null")

    def token(self, fresh: bool = False) -> str:
        """The admin's token; asking for one is safe to repeat, so a busy api-server's
        timeout or refused connection is retried."""
        if fresh or not getattr(self, "_token", None):
            body = {"username": "admin", "password": self.admin_password}
            for attempt in range(1, 6):
                try:
                    self._token = self._request("POST", "/auth/token", body)["access_token"]
                    break
                except (urllib.error.URLError, TimeoutError, ConnectionError):
                    if attempt == 5:
                        raise
                    time.sleep(3 * attempt)
        return self._token

    def api(self, method: str, path: str, body: dict | None = None, tries: int = 5):
        """A REST call as the admin. A busy api-server (a loaded 2-core machine) may not
        answer for a while: reads and idempotent updates are tried again (a POST is not:
        it could run twice); an expired token is renewed."""
        for attempt in range(1, tries + 1):
            try:
                return self._request(method, path, body, token=self.token())
            except urllib.error.HTTPError as exc:
                if exc.code != 401 or attempt == tries:
                    raise
                self.token(fresh=True)
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                if method == "POST" or attempt == tries:
                    raise
                time.sleep(2 * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def wait_for_api(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                self._request("GET", "/api/v2/version")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1)
        raise TimeoutError(f"api-server did not answer in {timeout}s\n{self.diagnostics()}")

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
        raise TimeoutError(f"DAG {dag_id} not parsed in {timeout}s ({last})\n{self.diagnostics()}")

    def trigger(self, dag_id: str, conf: dict) -> str:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        run = self.api(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf}
        )
        return run["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise TimeoutError(
            f"run {run_id} still {state} after {timeout:.0f}s: "
            f"{self.task_states(dag_id, run_id)}\n{self.diagnostics()}"
        )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        tis = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=200")
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

    def log_events(
        self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int = 1
    ) -> list[str]:
        """Every event (message) of a task's log, in order, from the structured log."""
        log = self.api(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
            f"?map_index={map_index}&full_content=true",
        )
        return [str(e.get("event", "")) for e in log["content"] if isinstance(e, dict)]

    def preloaded_at_start(self, dag_id: str, run_id: str, map_index: int = 0) -> str:
        """The validate task's log line listing what its process had already imported
        when it started (csc_pipeline.preload: the forking process's preload)."""
        events = self.log_events(dag_id, run_id, "council_night.validate", map_index)
        line = next((e for e in events if "libraries already imported at start" in e), None)
        assert line is not None, events[:20]
        return line
