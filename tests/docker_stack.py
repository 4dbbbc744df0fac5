"""A docker engine, a stand-in Airflow base image and the compose stack, for tests.

No image registry is reachable from the machines this project runs on, so nothing is
pulled: a Debian bookworm root file system is made with debootstrap from the machine's
configured Debian mirror and `docker import`ed, the Airflow base image the Dockerfile
builds FROM is built locally on it (tests/compose/airflow-base/), and the project's own
image is built from the repository's Dockerfile by docker-compose. Both images are
cached in the engine, each keyed by a hash of everything that built it (a label on the
image), so a rerun rebuilds only what changed.

The engine is the machine's dockerd (Debian's docker.io). If none answers and we are
root, one is started here without a bridge or iptables rules (the stack runs on the host
network: every byte stays on loopback) and stopped again by `stop_engine()`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from airflow_api import AirflowRestClient

REPO = Path(__file__).resolve().parents[1]
BASE_DIR = REPO / "tests" / "compose" / "airflow-base"
TEST_OVERRIDE = REPO / "tests" / "compose" / "docker-compose.test.yml"
SOCKET = "/var/run/docker.sock"
DEBIAN_SUITE = "bookworm"
KEY_LABEL = "org.csc-pipeline.build-key"
ROOTFS_REPO = "csc-test/debian-bookworm"
# what the stack's copy of the project holds (the build context and the bind mounts)
PROJECT_ITEMS = (
    "Dockerfile",
    ".dockerignore",
    "docker-compose.yml",
    "requirements.txt",
    "constraints.txt",
    "dags",
    "include",
    "dbt_project",
    "expectations",
    "config",
    "tools",
)
COPY_IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "target", "logs", "dbt_packages", "*.duckdb", "*.duckdb.wal"
)


def _run(args: list[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def _sha(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


# --- the engine ---------------------------------------------------------------------------
_started: dict[str, subprocess.Popen] = {}


def engine_answers() -> bool:
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        return _run([docker, "info", "--format", "{{.ServerVersion}}"], timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def ensure_engine(log_dir: Path, timeout: float = 90) -> str | None:
    """None once a docker engine answers (starting dockerd as root if need be), else why not."""
    if engine_answers():
        return None
    if not shutil.which("docker"):
        return "docker CLI not installed (apt-get install docker.io; make test does as root)"
    dockerd = shutil.which("dockerd")
    if not dockerd:
        return "dockerd not installed (apt-get install docker.io; make test does as root)"
    if os.geteuid() != 0:
        return "no docker engine answers and dockerd can only be started as root"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / "dockerd.log", "wb")  # noqa: SIM115 (closed in stop_engine)
    proc = subprocess.Popen(
        [
            dockerd,
            f"--host=unix://{SOCKET}",
            # host networking only: no docker0 bridge, no NAT rules on the machine
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    _started["dockerd"] = proc
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (log_dir / "dockerd.log").read_text(errors="replace")[-1500:]
            return f"dockerd exited ({proc.returncode}): {tail}"
        if engine_answers():
            return None
        time.sleep(1)
    stop_engine()
    return f"dockerd did not answer within {timeout:.0f}s"


def stop_engine() -> None:
    """Stop the dockerd this module started (never one that was already running)."""
    proc = _started.pop("dockerd", None)
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    if proc.stdout:
        proc.stdout.close()


def docker(*args: str, timeout: float = 120, check: bool = True, **kw) -> str:
    proc = _run(["docker", *args], timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"docker {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc.stdout


def image_label(image: str, label: str = KEY_LABEL) -> str | None:
    proc = _run(["docker", "image", "inspect", image, "--format", "{{json .Config.Labels}}"])
    if proc.returncode != 0:
        return None
    return (json.loads(proc.stdout or "null") or {}).get(label)


# --- the machine's package sources --------------------------------------------------------
def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine (CSC_DEBIAN_MIRROR overrides)."""
    if os.environ.get("CSC_DEBIAN_MIRROR"):
        return os.environ["CSC_DEBIAN_MIRROR"]
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text(errors="replace")):
            fields = dict(
                (k.strip().lower(), v.strip())
                for k, _, v in (
                    line.partition(":") for line in stanza.splitlines() if not line.startswith("#")
                )
                if v
            )
            if (
                "deb" in fields.get("types", "").split()
                and DEBIAN_SUITE in fields.get("suites", "").split()
            ):
                return fields["uris"].split()[0]
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*.list")]:
        if path.is_file():
            for line in path.read_text(errors="replace").splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[0] == "deb" and parts[2] == DEBIAN_SUITE:
                    return next(p for p in parts[1:] if not p.startswith("["))
    return "http://deb.debian.org/debian"


def pip_ca_bundle() -> Path | None:
    """The CA bundle pip is configured with here (PIP_CERT, else `pip config list`)."""
    if os.environ.get("PIP_CERT") and Path(os.environ["PIP_CERT"]).is_file():
        return Path(os.environ["PIP_CERT"])
    proc = _run([sys.executable, "-m", "pip", "config", "list"])
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.endswith(".cert"):
            path = Path(value.strip().strip("'\""))
            if path.is_file():
                return path
    default = Path("/etc/ssl/certs/ca-certificates.crt")
    return default if default.is_file() else None


def base_image_name() -> str:
    """The image the project's Dockerfile builds FROM."""
    text = (REPO / "Dockerfile").read_text()
    return re.search(r"^FROM\s+(\S+)", text, re.M).group(1)


def pinned_airflow() -> str:
    text = (REPO / "requirements.txt").read_text()
    return re.search(r"^apache-airflow==(\S+)", text, re.M).group(1)


# --- the stand-in base image ----------------------------------------------------------------
def ensure_rootfs_image(work: Path, timings: dict) -> str:
    """csc-test/debian-bookworm:<key>: debootstrap minbase from the machine's mirror."""
    mirror = debian_mirror()
    tag = f"{ROOTFS_REPO}:minbase-{_sha(DEBIAN_SUITE, 'minbase', mirror)[:12]}"
    if image_label(tag, "org.csc-pipeline.mirror") is not None:
        timings["rootfs"] = "cached"
        return tag
    if not shutil.which("debootstrap"):
        raise RuntimeError("debootstrap not installed (apt-get install debootstrap)")
    started = time.monotonic()
    rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=work))
    try:
        proc = _run(
            ["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(rootfs), mirror], timeout=900
        )
        if proc.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            [
                "docker",
                "import",
                "--change",
                f"LABEL org.csc-pipeline.mirror={mirror}",
                "-",
                tag,
            ],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
            timeout=300,
        )
        tar.stdout.close()
        tar.wait(timeout=60)
        if imported.returncode != 0 or tar.returncode != 0:
            raise RuntimeError(f"docker import failed: {imported.stderr[-2000:]}")
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    timings["rootfs"] = round(time.monotonic() - started, 1)
    return tag


def ensure_base_image(work: Path, timings: dict) -> str:
    """The Dockerfile's FROM image, built locally; rebuilt only when what built it changed."""
    name = base_image_name()
    airflow = pinned_airflow()
    ca = pip_ca_bundle()
    if ca is None:
        raise RuntimeError("no CA bundle for pip found (PIP_CERT / pip config list)")
    rootfs = ensure_rootfs_image(work, timings)
    inputs = {
        "Dockerfile": (BASE_DIR / "Dockerfile").read_bytes(),
        "entrypoint.sh": (BASE_DIR / "entrypoint.sh").read_bytes(),
        "constraints.txt": (REPO / "constraints.txt").read_bytes(),
        "pip-ca-bundle.crt": ca.read_bytes(),
    }
    key = _sha(rootfs, airflow, *(f"{k}={_sha(v)}" for k, v in sorted(inputs.items())))
    if image_label(name) == key:
        timings["base_image"] = "cached"
        return name
    started = time.monotonic()
    context = Path(tempfile.mkdtemp(prefix="airflow-base-", dir=work))
    try:
        for filename, data in inputs.items():
            (context / filename).write_bytes(data)
        (context / "entrypoint.sh").chmod(0o755)
        proc = _run(
            [
                "docker",
                "build",
                "--network",
                "host",
                "--build-arg",
                f"ROOTFS_IMAGE={rootfs}",
                "--build-arg",
                f"AIRFLOW_VERSION={airflow}",
                "--label",
                f"{KEY_LABEL}={key}",
                "-t",
                name,
                str(context),
            ],
            timeout=1500,
            env={**os.environ, "DOCKER_BUILDKIT": "0"},
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"base image build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
            )
    finally:
        shutil.rmtree(context, ignore_errors=True)
    timings["base_image"] = round(time.monotonic() - started, 1)
    return name


# --- docker-compose 1.29 ------------------------------------------------------------------
def compose_cli() -> list[str] | None:
    """The docker-compose CLI: CSC_DOCKER_COMPOSE, .venv-compose/ (make), or on the PATH."""
    explicit = os.environ.get("CSC_DOCKER_COMPOSE")
    if explicit:
        return explicit.split()
    local = REPO / ".venv-compose" / "bin" / "docker-compose"
    if local.exists():
        return [str(local)]
    found = shutil.which("docker-compose")
    return [found] if found else None


def copy_project(dest: Path) -> Path:
    """The files the stack builds and mounts, copied so a test never writes in the repo."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in PROJECT_ITEMS:
        src = REPO / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=COPY_IGNORE)
        else:
            shutil.copy2(src, dest / item)
    shutil.copy2(TEST_OVERRIDE, dest / "docker-compose.test.yml")
    return dest


@dataclass
class ComposeStack(AirflowRestClient):
    """The project's compose stack with the test override, in a copy of the project."""

    project_dir: Path
    name: str
    env: dict[str, str]
    profiles: list[str] = field(default_factory=list)
    admin_password: str = ""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['AIRFLOW_API_PORT']}"

    def write_env_file(self) -> None:
        text = "".join(f"{k}={v}\n" for k, v in self.env.items())
        path = self.project_dir / ".env"
        path.write_text(text)
        path.chmod(0o600)

    def resolve(self) -> Path:
        """The compose file as docker-compose itself merges it with the test override.

        One change is made to compose's own output: published `ports` are dropped from
        host-network services (docker discards them there anyway, but docker-compose
        1.29 refuses the combination, and an override can only add ports, not remove
        them)."""
        import yaml

        proc = self.compose("config", files=("docker-compose.yml", "docker-compose.test.yml"))
        config = yaml.safe_load(proc.stdout)
        for service in config["services"].values():
            if service.get("network_mode") == "host":
                service.pop("ports", None)
        path = self.project_dir / "docker-compose.resolved.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)  # holds the interpolated secrets, like .env
        return path

    def compose(
        self,
        *args: str,
        timeout: float = 600,
        check: bool = True,
        files: tuple[str, ...] | None = None,
    ):
        cli = compose_cli()
        profiles = [arg for p in self.profiles for arg in ("--profile", p)]
        if files is None:
            files = (
                ("docker-compose.resolved.yml",)
                if (self.project_dir / "docker-compose.resolved.yml").exists()
                else ("docker-compose.yml", "docker-compose.test.yml")
            )
        proc = _run(
            [
                *cli,
                "--project-name",
                self.name,
                *(arg for f in files for arg in ("-f", f)),
                *profiles,
                *args,
            ],
            timeout=timeout,
            cwd=self.project_dir,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CSC_"))},
                "DOCKER_BUILDKIT": "0",
                "COMPOSE_DOCKER_CLI_BUILD": "0",
                "COMPOSE_HTTP_TIMEOUT": "300",
            },
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"docker-compose {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
            )
        return proc

    def containers(self) -> dict[str, dict]:
        """service -> docker inspect of its container (State, Config...)."""
        ids = docker(
            "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.name}"
        ).split()
        if not ids:
            return {}
        out = {}
        for info in json.loads(docker("inspect", *ids)):
            out[info["Config"]["Labels"]["com.docker.compose.service"]] = info
        return out

    def wait_healthy(self, services: list[str], timeout: float = 300) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        status: dict[str, str] = {}
        while time.monotonic() < deadline:
            info = self.containers()
            status = {
                s: (info[s]["State"].get("Health") or {}).get("Status", info[s]["State"]["Status"])
                if s in info
                else "missing"
                for s in services
            }
            if all(v == "healthy" for v in status.values()):
                return status
            # unhealthy may still turn healthy (a slow start): only a dead container is final
            broken = {s: v for s, v in status.items() if v in ("exited", "dead")}
            if broken:
                raise RuntimeError(f"services failed: {broken}\n{self.logs()}")
            time.sleep(3)
        raise TimeoutError(f"not healthy after {timeout:.0f}s: {status}\n{self.logs()}")

    def logs(self, tail: int = 60) -> str:
        proc = self.compose("logs", "--no-color", f"--tail={tail}", timeout=120, check=False)
        return proc.stdout[-20000:]

    def down(self) -> None:
        self.compose(
            "down", "--volumes", "--remove-orphans", "--timeout", "20", timeout=300, check=False
        )

    # --- REST API as the admin user: tests/airflow_api.py ---------------------------------
    @property
    def api_base(self) -> str:
        return self.api_url

    def diagnostics(self) -> str:
        return self.logs()


def new_secrets() -> dict[str, str]:
    """Fresh values for every secret .env.example asks for (nothing reused, nothing kept)."""
    from cryptography.fernet import Fernet

    return {
        "AIRFLOW_DB_PASSWORD": secrets.token_urlsafe(16),
        "AIRFLOW_ADMIN_USERNAME": "admin",
        "AIRFLOW_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "CSC_PSEUDONYM_KEY": secrets.token_urlsafe(24),
    }
