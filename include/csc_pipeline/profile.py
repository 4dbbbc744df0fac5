"""Council profiles: what differs between councils, kept next to the deployment.

One optional YAML file per council, `config/councils/<la_code>.yml` (folder: setting
`CSC_COUNCILS_DIR`). Without a file a council gets the defaults: SSD v1.4.5, delivered
as a file drop into the exports folder, nothing overridden. `config/councils/example.yml`
documents every key.

Why a profile and not environment variables: these are facts about one council's case
system (which system, where its SSD lives, which local role codes mean "case holder"),
reviewed like code and different per council, while settings (config.py) are the
deployment's. Why validated at the start of the run: a typo in a profile must stop the
night before anything is read, with the file and line to fix, never half-way through
(and never silently: unknown keys are errors).

Overrides reach dbt through two raw tables written at landing (see `write_raw_tables`
and docs/architecture.md): `raw.council_role_codes(role_code)` and
`raw.council_code_map(code_set, source_value, code)`; staging unions them with the
shipped seeds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from csc_pipeline import contract
from csc_pipeline.config import ConfigError

EXAMPLE_NAME = "example.yml"
LA_CODE_RE = re.compile(r"^[0-9]{3}$")  # DfE local authority codes (the sample uses 999)

# The case-management systems whose SSD deployment facts the pipeline knows
# (docs/spec/ssd-as-deployed.md); "other" for any other system running the SSD.
SOURCE_SYSTEMS: dict[str, str] = {
    "systemc": "LiquidLogic LCS (SystemC)",
    "eclipse": "OLM Eclipse",
    "mosaic": "Mosaic",
    "other": "other",
}

# Where each system's SSD deployment script creates the ssd_* tables by default:
# SystemC and Mosaic scripts write to schema `ssd_development`; Eclipse's PostgreSQL
# scripts create unqualified tables (the connection's search_path, normally `public`).
DEFAULT_SCHEMAS: dict[str, str | None] = {
    "systemc": "ssd_development",
    "mosaic": "ssd_development",
    "eclipse": None,
    "other": None,
}

# Code sets a council may extend with its own source values (`code_map`; the
# code_set column of raw.council_code_map) are the contract's: contract.CODE_SETS.


def code_set_codes(code_set: str) -> tuple[str, ...]:
    """The valid codes of a code set (read from the contract, its one home)."""
    return contract.CODE_SETS[code_set]


def code_set_columns(code_set: str) -> list[str]:
    """The contract columns a code set serves (table.column), for messages and docs."""
    return [
        f"{t.name}.{c.name}" for t in contract.TABLES for c in t.columns if c.code_set == code_set
    ]


class ProfileError(ConfigError):
    """A council profile is invalid. The message names the file and line."""


class CouncilProfile(BaseModel):
    """One council's profile (every key optional; see config/councils/example.yml)."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    la_code: str
    la_name: str | None = None
    source_system: Literal["systemc", "eclipse", "mosaic", "other"] = "other"
    ssd_version: str = Field("1.4.5", pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
    delivery: Literal["folder", "database"] = "folder"
    connection_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$")
    ssd_schema: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$")
    extra_role_codes: tuple[str, ...] = ()
    code_map: dict[str, dict[str, str]] = Field(default_factory=dict)
    tables_not_supplied: tuple[str, ...] = ()
    # Where the profile came from (None: no file, the defaults).
    source_file: str | None = None

    @field_validator("la_code")
    @classmethod
    def _la_code(cls, value: str) -> str:
        if not LA_CODE_RE.match(value):
            raise ValueError(f"must be a 3-digit local authority code, not {value!r}")
        return value

    @field_validator("extra_role_codes")
    @classmethod
    def _role_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(v.strip() for v in value)
        if any(not v for v in cleaned):
            raise ValueError("role codes must not be empty")
        return cleaned

    @field_validator("code_map")
    @classmethod
    def _code_map(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for code_set, mapping in value.items():
            if code_set not in contract.CODE_SETS:
                raise ValueError(
                    f"unknown code set {code_set!r}; known: {', '.join(contract.CODE_SETS)}"
                )
            codes = code_set_codes(code_set)
            for source, code in mapping.items():
                if not str(source).strip():
                    raise ValueError(f"{code_set}: an empty source value")
                if code not in codes:
                    raise ValueError(
                        f"{code_set}: {source!r} maps to {code!r}, which is not one of "
                        f"{', '.join(codes)}"
                    )
        return value

    @field_validator("tables_not_supplied")
    @classmethod
    def _tables(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if name not in contract.TABLES_BY_NAME:
                raise ValueError(
                    f"unknown table {name!r}; tables: {', '.join(contract.TABLE_NAMES)}"
                )
        return value

    @model_validator(mode="after")
    def _database_needs_a_system(self) -> CouncilProfile:
        if self.delivery == "folder" and (self.connection_id or self.ssd_schema):
            raise ValueError(
                "connection_id and ssd_schema are for delivery: database "
                "(this profile has delivery: folder)"
            )
        return self

    @property
    def source_system_name(self) -> str:
        return SOURCE_SYSTEMS[self.source_system]

    @property
    def conn_id(self) -> str:
        """The Airflow connection of the council's SSD database (default csc_ssd_<la_code>)."""
        return self.connection_id or f"csc_ssd_{self.la_code}"

    @property
    def schema(self) -> str | None:
        """The schema holding the ssd_* tables (None: the connection's default)."""
        return self.ssd_schema or DEFAULT_SCHEMAS[self.source_system]

    @property
    def is_database(self) -> bool:
        return self.delivery == "database"

    def supplies(self, table: str) -> bool:
        return table not in self.tables_not_supplied

    def code_map_rows(self) -> list[tuple[str, str, str]]:
        """(code_set, source_value, code) rows for raw.council_code_map."""
        return [
            (code_set, str(source), code)
            for code_set, mapping in sorted(self.code_map.items())
            for source, code in sorted(mapping.items())
        ]


# --- reading and locating errors -------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that keeps the composed node tree, for error line numbers."""


def _compose(text: str, path: Path) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProfileError(f"{where}: not valid YAML ({problem})") from None


def _node_at(node: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[yaml.Node | None, bool]:
    """The deepest node on the path `loc`; True when it is the key (not the value)."""
    is_key = False
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    node, is_key = value, False
                    break
            else:
                return node, is_key
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node, is_key
            node = node.value[part]
        else:
            return node, is_key
    return node, is_key


def _key_node(node: yaml.Node | None, name: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if key.value == name:
                return key
    return None


def _detail_loc(loc: tuple[Any, ...], message: str) -> tuple[str, ...]:
    """Where inside code_map a validator's message points (for the exact line)."""
    if loc != ("code_map",):
        return ()
    if m := re.match(r"^unknown code set '([^']*)'", message):
        return (m.group(1),)
    if m := re.match(r"^(\w+): '(.*?)' maps to", message):
        return (m.group(1), m.group(2))
    return ()


def _describe(exc: ValidationError, root: yaml.Node | None, path: Path) -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "__root__")
        if err["type"] == "extra_forbidden":
            parent, _ = _node_at(root, loc[:-1])
            node = _key_node(parent, str(loc[-1]))
            known = ", ".join(k for k in CouncilProfile.model_fields if k != "source_file")
            message = f"unknown key {loc[-1]!r} (known keys: {known})"
        else:
            message = err["msg"].removeprefix("Value error, ")
            node, _ = _node_at(root, loc + _detail_loc(loc, message))
            if isinstance(node, yaml.SequenceNode) and (m := re.search(r"'([^']*)'", message)):
                node = next((n for n in node.value if n.value == m.group(1)), node)
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        field = ".".join(str(p) for p in loc) or "(profile)"
        lines.append(f"{path}{line}: {field}: {message}")
    return "invalid council profile\n  " + "\n  ".join(lines)


def load_profile_file(path: Path) -> CouncilProfile:
    """Read and validate one profile file; ProfileError names the file and line."""
    stem = path.name.split(".")[0]
    text = path.read_text(encoding="utf-8")
    root = _compose(text, path)
    data = yaml.load(text, Loader=_LineLoader) if root is not None else None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProfileError(f"{path}:1: a council profile is a mapping of keys (see {EXAMPLE_NAME})")
    data = dict(data)
    if "source_file" in data:
        node = _key_node(root, "source_file")
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        raise ProfileError(f"{path}{line}: source_file: unknown key 'source_file'")
    if "la_code" in data and str(data["la_code"]) != stem:
        node, _ = _node_at(root, ("la_code",))
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        raise ProfileError(
            f"{path}{line}: la_code: {data['la_code']!r} does not match the file name "
            f"({stem}.yml is the profile of council {stem})"
        )
    data["la_code"] = str(data.get("la_code", stem))
    try:
        return CouncilProfile(**data, source_file=str(path))
    except ValidationError as exc:
        raise ProfileError(_describe(exc, root, path)) from None


def profile_files(councils_dir: Path) -> dict[str, Path]:
    """la_code -> profile file. A YAML file whose name is not an LA code is an error
    (a misnamed profile must not be silently ignored); example.yml is documentation."""
    if not councils_dir.is_dir():
        return {}
    out: dict[str, Path] = {}
    for path in sorted(councils_dir.iterdir()):
        if path.suffix not in {".yml", ".yaml"} or path.name == EXAMPLE_NAME:
            continue
        stem = path.stem
        if not LA_CODE_RE.match(stem):
            raise ProfileError(
                f"{path}: a council profile is named <la_code>.yml (3 digits, e.g. 999.yml)"
            )
        if stem in out:
            raise ProfileError(f"{path}: council {stem} has two profiles ({out[stem].name})")
        out[stem] = path
    return out


@dataclass(frozen=True)
class Profiles:
    """Every council's profile from one folder (defaults for councils without a file)."""

    councils_dir: Path
    by_code: dict[str, CouncilProfile]

    def get(self, la_code: str) -> CouncilProfile:
        return self.by_code.get(la_code) or CouncilProfile(la_code=la_code)

    def database_councils(self) -> list[str]:
        return sorted(c for c, p in self.by_code.items() if p.is_database)


def load_profiles(councils_dir: Path | None = None) -> Profiles:
    """Read and validate every profile in the folder (all errors of a file at once)."""
    if councils_dir is None:
        from csc_pipeline.config import settings

        councils_dir = settings().councils_dir
    files = profile_files(councils_dir)
    return Profiles(councils_dir, {code: load_profile_file(p) for code, p in files.items()})


def council_profile(la_code: str, councils_dir: Path | None = None) -> CouncilProfile:
    """One council's profile (validated), or the defaults when it has no file."""
    if councils_dir is None:
        from csc_pipeline.config import settings

        councils_dir = settings().councils_dir
    for suffix in (".yml", ".yaml"):
        path = councils_dir / f"{la_code}{suffix}"
        if path.is_file():
            return load_profile_file(path)
    return CouncilProfile(la_code=la_code)


# --- the overrides as raw tables (read by dbt staging) --------------------------------

RAW_TABLES_DDL = """
create or replace table raw.council_role_codes (role_code varchar not null);
create or replace table raw.council_code_map (
    code_set varchar not null, source_value varchar not null, code varchar not null
);
"""


def write_raw_tables(con, profile: CouncilProfile) -> None:
    """raw.council_role_codes and raw.council_code_map from the profile (always created,
    empty without overrides, so staging can union them unconditionally). Called inside
    the landing transaction: they belong to the night that was landed with them."""
    con.execute("create schema if not exists raw")
    con.execute(RAW_TABLES_DDL)
    if profile.extra_role_codes:
        con.executemany(
            "insert into raw.council_role_codes values (?)",
            [[c] for c in profile.extra_role_codes],
        )
    rows = profile.code_map_rows()
    if rows:
        con.executemany("insert into raw.council_code_map values (?, ?, ?)", rows)
