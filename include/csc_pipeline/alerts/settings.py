"""Alert settings, all from the environment (read at run time, never at DAG parse).

| variable                              | default                                  |
|---------------------------------------|------------------------------------------|
| CSC_ROUTING_FILE                      | config/routing.example.yml (council 999 only); may contain {la_code} |
| CSC_ALERT_DEFAULT_TO                  | routing file's default_to, else CSC_ENGINEERS_EMAIL |
| CSC_ALERT_SEND_EMPTY                  | false (no email for a team with nothing to report) |
| CSC_ALERT_FROM                        | the SMTP connection's from_email, else csc-pipeline@localhost |
| CSC_SMTP_CONN_ID                      | smtp_default (Airflow connection; none -> outbox) |
| CSC_ENGINEERS_EMAIL                   | csc-data-engineers@localhost             |
| CSC_CASELOAD_ALERT_THRESHOLD          | 25 (children per FTE)                    |
| CSC_DASHBOARD_URL                     | unset (digests link the dashboard's team page when set) |
| CSC_ALERT_MAX_ATTEMPTS                | 20 (then the alert stays 'failed')       |
| CSC_ALERT_LOG                         | <CSC_VAR_DIR>/alerts/alert_log.sqlite    |
| CSC_PUBLISH_DEADLINE                  | 07:00 (local time, CSC_TIMEZONE); off    |
| CSC_PUBLISH_DEADLINE_ALERT            | false (Airflow deadline alert; see engineers) |

The ICPC and CP-visit timescales are NOT alert settings: the digests read the marts'
flags, whose timescales are defined once in the dbt project.

The two deadline settings are read by alerts/engineers.py, the rest here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from csc_pipeline.config import PROJECT_ROOT, SAMPLE_LA_CODE, ConfigError, Settings, settings

SAMPLE_ROUTING_FILE = PROJECT_ROOT / "config" / "routing.example.yml"
DEFAULT_ENGINEERS_EMAIL = "csc-data-engineers@localhost"
DEFAULT_FROM_EMAIL = "csc-pipeline@localhost"
DEFAULT_PUBLISH_DEADLINE = "07:00"


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    if value.strip().lower() in {"1", "true", "yes", "y", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "n", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _number(name: str, default: float, kind=float):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        number = kind(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {value!r}") from exc
    if number <= 0:
        raise ConfigError(f"{name} must be positive, not {value!r}")
    return number


@dataclass(frozen=True)
class AlertSettings:
    base: Settings
    routing_file: str | None  # None: the sample file for council 999, nothing for others
    default_to: str | None
    send_empty: bool
    from_email: str | None
    smtp_conn_id: str
    engineers_email: str
    caseload_threshold: float
    dashboard_url: str | None
    max_attempts: int
    alert_log_path: Path

    @property
    def outbox_dir(self) -> Path:
        return self.base.outbox_dir

    def routing_path(self, la_code: str) -> Path | None:
        """The routing file of a council (None: no routing, everything to the default)."""
        if self.routing_file:
            return Path(self.routing_file.format(la_code=la_code))
        return SAMPLE_ROUTING_FILE if la_code == SAMPLE_LA_CODE else None


def alert_settings(cfg: Settings | None = None) -> AlertSettings:
    cfg = cfg or settings()
    return AlertSettings(
        base=cfg,
        routing_file=os.environ.get("CSC_ROUTING_FILE") or None,
        default_to=os.environ.get("CSC_ALERT_DEFAULT_TO") or None,
        send_empty=_flag("CSC_ALERT_SEND_EMPTY", False),
        from_email=os.environ.get("CSC_ALERT_FROM") or None,
        smtp_conn_id=os.environ.get("CSC_SMTP_CONN_ID") or "smtp_default",
        engineers_email=os.environ.get("CSC_ENGINEERS_EMAIL") or DEFAULT_ENGINEERS_EMAIL,
        caseload_threshold=_number("CSC_CASELOAD_ALERT_THRESHOLD", 25.0),
        dashboard_url=(os.environ.get("CSC_DASHBOARD_URL") or "").strip() or None,
        max_attempts=_number("CSC_ALERT_MAX_ATTEMPTS", 20, int),
        alert_log_path=Path(
            os.environ.get("CSC_ALERT_LOG") or cfg.var_dir / "alerts" / "alert_log.sqlite"
        ),
    )
