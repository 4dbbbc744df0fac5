"""Who receives which team's digest: the council's routing file.

Routing is the council's own configuration, kept with the deployment and not in the
export (spec/export-contract.md): team id -> team manager (name, email); service area
-> head of service (copied in). A team that is not in the file goes to the default
address and is reported as unrouted, so a new team is noticed rather than silently
dropped. See config/routing.example.yml for the format.

Frequency per recipient (`frequency:` nightly | weekly | monthly, with `day:` a weekday
name for weekly, a day of the month 1-28 for monthly): a team manager gets the team's
nightly digest or a weekly/monthly summary of what was new, fixed and still open; a
head of service gets the service area's roll-up (one message, teams side by side) at
their own frequency, instead of a copy of every team's digest (each record once).
Defaults: team managers nightly; heads of service weekly on Monday.
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


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FREQUENCIES = ("nightly", "weekly", "monthly")


@dataclass(frozen=True)
class Frequency:
    """How often a recipient hears: every night, or once a week/month (a summary)."""

    every: str = "nightly"
    day: int | None = None  # weekly: 0 = Monday .. 6 = Sunday; monthly: 1-28

    @property
    def label(self) -> str:
        if self.every == "weekly":
            return f"weekly on {WEEKDAYS[self.day or 0].title()}"
        if self.every == "monthly":
            return f"monthly on day {self.day or 1}"
        return "nightly"


NIGHTLY = Frequency()
WEEKLY_MONDAY = Frequency("weekly", 0)


def parse_frequency(entry: dict, where: str, default: Frequency) -> Frequency:
    """`frequency: weekly` + `day: friday` (or `frequency: weekly friday`)."""
    value = entry.get("frequency")
    if value is None:
        return default
    words = str(value).strip().lower().replace(":", " ").split()
    every = words[0] if words else ""
    if every not in FREQUENCIES:
        raise ConfigError(f"{where}.frequency: {value!r} is not one of {', '.join(FREQUENCIES)}")
    day = entry.get("day", words[1] if len(words) > 1 else None)
    if every == "nightly":
        return NIGHTLY
    if every == "weekly":
        name = str(day or "monday").strip().lower()
        matches = (
            [i for i, w in enumerate(WEEKDAYS) if w.startswith(name[:3])] if len(name) >= 3 else []
        )
        if len(matches) != 1:
            raise ConfigError(f"{where}.day: {day!r} is not a day of the week (monday ... sunday)")
        return Frequency("weekly", matches[0])
    try:
        number = int(day if day is not None else 1)
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 28:
        raise ConfigError(f"{where}.day: {day!r} must be a day of the month from 1 to 28")
    return Frequency("monthly", number)


@dataclass(frozen=True)
class Route:
    """The recipients of one team's digest."""

    team_id: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    manager_name: str | None = None
    routed: bool = True  # False: the team is not in the routing file (default address)
    frequency: Frequency = NIGHTLY


@dataclass(frozen=True)
class AreaRoute:
    """The head of service of one service area (their roll-up)."""

    area_id: str
    name: str | None
    head_name: str | None
    to: tuple[str, ...]
    frequency: Frequency = WEEKLY_MONDAY


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
        manager = team["manager"]
        return Route(
            team_id, (manager["email"],), (), manager.get("name"), True, manager["frequency"]
        )

    def area_of(self, team_id: str, service_area: str | None = None) -> str | None:
        """A team's service area: the routing file's, else the export's."""
        team = self.teams.get(team_id or "") or {}
        return team.get("service_area") or service_area

    def heads(self) -> list[AreaRoute]:
        """Every service area with a head of service, for the roll-ups."""
        out = []
        for area_id, area in sorted(self.service_areas.items()):
            head = area.get("head_of_service")
            if head:
                out.append(
                    AreaRoute(
                        area_id,
                        area.get("name"),
                        head.get("name"),
                        (head["email"],),
                        head["frequency"],
                    )
                )
        return out


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
                "frequency": parse_frequency(head, f"{where}.head_of_service", WEEKLY_MONDAY),
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
                "frequency": parse_frequency(team["manager"], f"{where}.manager", NIGHTLY),
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
