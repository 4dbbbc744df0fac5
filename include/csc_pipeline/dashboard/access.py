"""Who is looking, and what they may see: roles from the routing file and the access file.

The dashboard sits behind the council's sign-on: a reverse proxy (e.g. oauth2-proxy)
authenticates the user and passes their email in a request header the deployment names
(`identity_header` in the access file, or CSC_DASHBOARD_IDENTITY_HEADER; default
X-Forwarded-Email). The app never authenticates anyone itself; it must only be
reachable through the proxy (it binds to 127.0.0.1 by default).

Roles, with one home per fact:
- team_manager: a team's manager email in the routing file (config/routing*.yml), or a
  `users:` entry in the access file (deputies); sees their own team's worklists and
  records, and aggregates.
- head_of_service: a service area's head of service in the routing file; sees the
  worklists and records of every team in the service area, and aggregates.
- analyst / engineer: `users:` entries of the access file; aggregates, data-quality
  counts and pipeline health; no child-level records.
- anonymous: no identity, or an email nobody mapped: aggregates only.

Child-level records (case-system person ids) are shown only to the first two roles,
only for their teams: see `Viewer.may_see_team`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from csc_pipeline.config import PROJECT_ROOT, ConfigError

SAMPLE_ACCESS_FILE = PROJECT_ROOT / "config" / "access.example.yml"
DEFAULT_HEADER = "X-Forwarded-Email"
ROLES = ("team_manager", "head_of_service", "analyst", "engineer", "anonymous")


@dataclass(frozen=True)
class Viewer:
    email: str | None
    role: str = "anonymous"
    teams: frozenset[str] = field(default_factory=frozenset)  # child-level access
    service_area: str | None = None
    name: str | None = None

    @property
    def sees_children(self) -> bool:
        return self.role in ("team_manager", "head_of_service") and bool(self.teams)

    @property
    def sees_pipeline(self) -> bool:
        return self.role in ("analyst", "engineer")

    def may_see_team(self, team_id: str | None) -> bool:
        """May this viewer see the child-level records of the team?"""
        return self.sees_children and team_id in self.teams

    @property
    def label(self) -> str:
        if self.role == "anonymous":
            return (
                "not signed in: aggregates only"
                if not self.email
                else f"{self.email}: aggregates only"
            )
        what = {
            "team_manager": "team manager",
            "head_of_service": "head of service",
            "analyst": "analyst",
            "engineer": "data engineer",
        }[self.role]
        scope = ""
        if self.role == "team_manager":
            scope = f" ({', '.join(sorted(self.teams))})"
        elif self.role == "head_of_service":
            scope = f" ({self.service_area}: {len(self.teams)} teams)"
        return f"{self.name or self.email}, {what}{scope}"


@dataclass(frozen=True)
class AccessBook:
    """Email -> Viewer, built from the routing file and the access file."""

    header: str
    viewers: dict[str, Viewer]
    source: str

    def viewer(self, email: str | None) -> Viewer:
        if not email or not email.strip():
            return Viewer(None)
        key = email.strip().lower()
        return self.viewers.get(key, Viewer(key))


def load_access(
    access_file: Path | None, routing_file: Path | None, team_areas: dict[str, str | None]
) -> AccessBook:
    """Build the roles. `team_areas`: team id -> service area id from the warehouse
    (dim_team), used when the routing file does not give a team's service area."""
    data: dict = {}
    if access_file is not None:
        if not access_file.is_file():
            raise ConfigError(f"Access file {access_file} (CSC_ACCESS_FILE) does not exist")
        data = yaml.safe_load(access_file.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ConfigError(
                f"{access_file}: an access file is a mapping (see config/access.example.yml)"
            )
    header = (
        os.environ.get("CSC_DASHBOARD_IDENTITY_HEADER")
        or data.get("identity_header")
        or DEFAULT_HEADER
    )
    viewers: dict[str, Viewer] = {}
    if routing_file is not None and routing_file.is_file():
        routing = yaml.safe_load(routing_file.read_text(encoding="utf-8")) or {}
        teams = routing.get("teams") or {}
        areas: dict[str, set[str]] = {}
        for team_id, area in team_areas.items():
            if area:
                areas.setdefault(str(area), set()).add(str(team_id))
        for team_id, team in teams.items():
            area = (team or {}).get("service_area") or team_areas.get(str(team_id))
            if area:
                # the routing file's service area wins over the export's
                for members in areas.values():
                    members.discard(str(team_id))
                areas.setdefault(str(area), set()).add(str(team_id))
        for area_id, area in (routing.get("service_areas") or {}).items():
            head = (area or {}).get("head_of_service") or {}
            if head.get("email"):
                viewers[head["email"].strip().lower()] = Viewer(
                    head["email"].strip().lower(),
                    "head_of_service",
                    frozenset(areas.get(str(area_id), set())),
                    str(area_id),
                    head.get("name"),
                )
        for team_id, team in teams.items():
            manager = (team or {}).get("manager") or {}
            email = (manager.get("email") or "").strip().lower()
            if email and email not in viewers:
                viewers[email] = Viewer(
                    email, "team_manager", frozenset({str(team_id)}), None, manager.get("name")
                )
    for email, entry in (data.get("users") or {}).items():
        where = f"{access_file}: users.{email}"
        entry = {"role": entry} if isinstance(entry, str) else (entry or {})
        role = entry.get("role")
        if role not in ROLES or role == "anonymous":
            raise ConfigError(f"{where}: role {role!r} is not one of {', '.join(ROLES[:-1])}")
        key = str(email).strip().lower()
        if role == "team_manager":
            teams = entry.get("teams") or ([entry["team"]] if entry.get("team") else [])
            if not teams:
                raise ConfigError(f"{where}: a team_manager needs team: <team id>")
            viewers[key] = Viewer(key, role, frozenset(map(str, teams)), None, entry.get("name"))
        elif role == "head_of_service":
            area = entry.get("service_area")
            if not area:
                raise ConfigError(f"{where}: a head_of_service needs service_area: <id>")
            members = frozenset(t for t, a in team_areas.items() if a == str(area))
            viewers[key] = Viewer(key, role, members, str(area), entry.get("name"))
        else:
            viewers[key] = Viewer(key, role, frozenset(), None, entry.get("name"))
    return AccessBook(header, viewers, str(access_file or "(none)"))


def identity_from_headers(headers, header: str) -> str | None:
    """The signed-in user's email from the proxy's header (case-insensitive name)."""
    if not headers:
        return None
    wanted = header.lower()
    for name, value in dict(headers).items():
        if name.lower() == wanted and value and value.strip():
            return value.strip()
    return None
