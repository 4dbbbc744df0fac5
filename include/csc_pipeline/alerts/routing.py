"""Who receives which team's digest: the council's routing file.

Routing is the council's own configuration, kept with the deployment and not in the
export (spec/export-contract.md): team id -> team manager (name, email); service area
-> head of service (copied in). A team that is not in the file goes to the default
address and is reported as unrouted, so a new team is noticed rather than silently
dropped. See config/routing.example.yml for the format.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from csc_pipeline.config import ConfigError

log = logging.getLogger(__name__)

EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+$")


@dataclass(frozen=True)
class Route:
    """The recipients of one team's digest."""

    team_id: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    manager_name: str | None = None
    routed: bool = True  # False: the team is not in the routing file (default address)


@dataclass(frozen=True)
class Routing:
    la_code: str | None
    default_to: tuple[str, ...]
    teams: dict[str, dict] = field(default_factory=dict)
    service_areas: dict[str, dict] = field(default_factory=dict)
    source: str = "(none)"

    def route(self, team_id: str | None, service_area: str | None = None) -> Route:
        """Recipients for a team; `service_area` (from the export) is used when the
        routing file does not say which service area the team belongs to."""
        team = self.teams.get(team_id or "")
        if team is None:
            return Route(team_id or "", self.default_to, routed=False)
        area = self.service_areas.get(team.get("service_area") or service_area or "") or {}
        head = (area.get("head_of_service") or {}).get("email")
        manager = team["manager"]
        cc = tuple(a for a in (head,) if a and a != manager["email"])
        return Route(team_id, (manager["email"],), cc, manager.get("name"), True)


def _email(value, where: str) -> str:
    if not isinstance(value, str) or not EMAIL_RE.match(value.strip()):
        raise ConfigError(f"{where}: {value!r} is not an email address")
    return value.strip()


def _addresses(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else re.split(r"\s*[,;]\s*", str(value))
    return tuple(_email(v, where) for v in items if str(v).strip())


def parse_routing(data: dict, source: str, default_to: tuple[str, ...]) -> Routing:
    """Validate a routing document; every problem names the file and the entry."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a routing file is a mapping (see config/routing.example.yml)")
    areas: dict[str, dict] = {}
    for area_id, area in (data.get("service_areas") or {}).items():
        where = f"{source}: service_areas.{area_id}"
        head = (area or {}).get("head_of_service")
        if head is not None:
            head = {
                "name": head.get("name"),
                "email": _email(head.get("email"), f"{where}.head_of_service.email"),
            }
        areas[str(area_id)] = {"name": (area or {}).get("name"), "head_of_service": head}
    teams: dict[str, dict] = {}
    for team_id, team in (data.get("teams") or {}).items():
        where = f"{source}: teams.{team_id}"
        if not isinstance(team, dict) or not isinstance(team.get("manager"), dict):
            raise ConfigError(f"{where}: needs manager: {{name: ..., email: ...}}")
        area = team.get("service_area")
        if area is not None and str(area) not in areas:
            raise ConfigError(f"{where}: service_area {area!r} is not under service_areas")
        teams[str(team_id)] = {
            "name": team.get("name"),
            "service_area": None if area is None else str(area),
            "manager": {
                "name": team["manager"].get("name"),
                "email": _email(team["manager"].get("email"), f"{where}.manager.email"),
            },
        }
    file_default = _addresses(data.get("default_to"), f"{source}: default_to")
    la_code = data.get("la_code")
    return Routing(
        None if la_code is None else str(la_code), default_to or file_default, teams, areas, source
    )


def load_routing(
    path: Path | None, la_code: str, default_to: str | None, fallback_to: str
) -> Routing:
    """The routing of one council.

    `default_to` (CSC_ALERT_DEFAULT_TO) wins over the file's default_to; `fallback_to`
    (the engineers' address) is used when neither is set. No file: every team goes to
    the default address (and is reported as unrouted).
    """
    env_default = _addresses(default_to, "CSC_ALERT_DEFAULT_TO")
    if path is None:
        log.warning(
            "No routing file for council %s: every digest goes to the default address", la_code
        )
        return Routing(la_code, env_default or (fallback_to,))
    if not path.is_file():
        raise ConfigError(f"Routing file {path} (CSC_ROUTING_FILE) does not exist")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    routing = parse_routing(data, str(path), env_default)
    if routing.la_code is not None and routing.la_code != la_code:
        raise ConfigError(
            f"Routing file {path} is for council {routing.la_code}, not {la_code}: "
            "set CSC_ROUTING_FILE per council (it may contain {la_code})"
        )
    if not routing.default_to:
        routing = Routing(
            routing.la_code, (fallback_to,), routing.teams, routing.service_areas, routing.source
        )
    return routing
