"""The nightly export contract (docs/spec/export-contract.md, v1) as data.

One place describes every table, column, key, code set, description/legacy map,
case-holder role code and reference, and what the SSD v1.4.5 delivers beyond the
contract (docs/spec/ssd-as-deployed.md), so that the generator, the landing step, dbt
staging, the quality gate and the tests cannot disagree about what a valid export
looks like. Everything derived from it (dbt sources YAML, the reference seeds, the GX
suites) is generated: ``python -m csc_pipeline.contract_artifacts --write``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTRACT_VERSION = "1"
MANIFEST_NAME = "manifest.json"

# Columns that must never enter the warehouse (personal names of children).
EXCLUDED_COLUMNS: frozenset[str] = frozenset({"pers_forename", "pers_surname"})

# Lineage columns the landing step adds to every raw table.
LINEAGE_COLUMNS: tuple[str, ...] = (
    "_export_date",
    "_la_code",
    "_source_file",
    "_source_sha256",
    "_source_row",
    "_loaded_at",
)

# --- code sets -----------------------------------------------------------------------
SEX_CODES = ("M", "F", "U")
SEX_LEGACY = {"1": "M", "2": "F", "0": "U", "9": "U"}
ETHNICITY_CODES = (
    "WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND",
    "APKN", "ABAN", "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
)  # fmt: skip
WORKER_CHANGE_REASONS = (
    "MANAGE", "FCONTA", "LEFTRL", "ORGRST", "TSPROC", "ABSENC", "CHCHAN", "PCCHAN",
    "SWDIED", "OTHERS",
)  # fmt: skip
CIN_NEED_CODES = tuple(f"N{i}" for i in range(10))
REFERRAL_SOURCES = (
    "1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4", "5A",
    "5B", "5C", "5D", "6", "7", "8", "9", "10",
)  # fmt: skip
CLOSE_REASONS = tuple(f"RC{i}" for i in range(1, 10))
CP_CATEGORIES = ("NEG", "PHY", "SAB", "EMO", "MUL")
CLA_START_REASONS = ("S", "L", "P", "T", "U", "B")
CLA_NEED_CODES = tuple(f"N{i}" for i in range(1, 9))
CLA_CEASED_REASONS = (
    "E11", "E12", "E2", "E3", "E41", "E45", "E46", "E47", "E48", "E4A", "E4B", "E5",
    "E6", "E7", "E8", "E9", "E13", "E14", "E15", "E16", "E17", "X1",
)  # fmt: skip
AUDIT_TYPES = ("ROUTINE", "THEMATIC", "MULTI_AGENCY", "DIP_SAMPLE")
AUDITOR_ROLES = (
    "TEAM_MANAGER", "GROUP_MANAGER", "ADVANCED_PRACTITIONER", "QA_MANAGER",
    "HEAD_OF_SERVICE", "ASSISTANT_DIRECTOR", "INDEPENDENT",
)  # fmt: skip
AUDIT_GRADES = ("OUTSTANDING", "GOOD", "REQUIRES_IMPROVEMENT", "INADEQUATE")
AUDIT_GRADE_LEGACY = {
    "1": "OUTSTANDING",
    "2": "GOOD",
    "3": "REQUIRES_IMPROVEMENT",
    "4": "INADEQUATE",
    "ADEQUATE": "REQUIRES_IMPROVEMENT",
}
CASE_HOLDER_ROLE = "ALLOCATED CASE WORKER"

# Every spelling of the case holder's role the SSD is known to deliver (ssd-as-deployed.md:
# SystemC v1.4.5 `CW`, earlier SystemC `ALLOCATED CASE WORKER`, Mosaic `ALLWKR` or its
# description, which Mosaic's own SSD script matches as 'C&F Allocated Worker' /
# 'Allocated Worker'). Matched on the normalised key (see ``code_key``). Eclipse writes a
# local relationship class code: a council adds its own through its profile
# (raw.council_role_codes); with no case-holder role at all in a night, the caseload
# figures are "not available", never 0.
CASE_HOLDER_ROLE_CODES = (
    "CW",
    "ALLOCATED CASE WORKER",
    "ALLOCATED CASEWORKER",
    "ALLOCATED WORKER",
    "ALLOCATED SOCIAL WORKER",
    "C&F ALLOCATED WORKER",
    "ALLWKR",
)

# --- descriptions and legacy codes mapped to codes (shipped defaults) ------------------
# Keys are matched on ``code_key`` (upper case, every run of non-alphanumerics one space,
# "&" read as AND), so "Physical abuse", "PHYSICAL-ABUSE" and "physical  abuse" are one
# key. A value is first looked up whole, then by its leading code token ("3A - GP",
# "RC8 - Case closed...", "E11 - Adopted...", "S - Single period..."). Councils add their
# own wording through raw.council_code_map; theirs win.
CP_CATEGORY_DESCRIPTIONS = {
    "NEGLECT": "NEG",
    "PHYSICAL ABUSE": "PHY",
    "PHYSICAL": "PHY",
    "PHYSICAL HARM": "PHY",
    "SEXUAL ABUSE": "SAB",
    "SEXUAL": "SAB",
    "SEXUAL HARM": "SAB",
    "EMOTIONAL ABUSE": "EMO",
    "EMOTIONAL": "EMO",
    "EMOTIONAL HARM": "EMO",
    "MULTIPLE": "MUL",
    "MULTIPLE ABUSE": "MUL",
    "MULTIPLE CATEGORIES": "MUL",
    "MIXED": "MUL",
    "MUL MULTIPLE": "MUL",
}
SEX_DESCRIPTIONS = {
    "MALE": "M",
    "FEMALE": "F",
    "UNKNOWN": "U",
    "NOT KNOWN": "U",
    "NOT STATED": "U",
    "NOT SPECIFIED": "U",
    "UNBORN": "U",
    # Indeterminate (I): the contract's set has no own code; U (unknown) is the nearest
    # CIN census value. Decision recorded in docs/spec/ssd-as-deployed.md's notes.
    "I": "U",
    "INDETERMINATE": "U",
}
WORKER_CHANGE_REASON_DESCRIPTIONS = {
    # Mosaic delivers its WORKER_END_DATE_REASON descriptions. Shipped defaults for the
    # usual wordings of the SSD's ten reasons; a council's own wording goes in its profile.
    "MANAGEMENT DECISION": "MANAGE",
    "MANAGEMENT": "MANAGE",
    "CASE MANAGEMENT": "MANAGE",
    "FAMILY CONTACT": "FCONTA",
    "FAMILY REQUEST": "FCONTA",
    "REQUESTED BY FAMILY": "FCONTA",
    "CHILD OR FAMILY REQUEST": "FCONTA",
    "WORKER LEFT ROLE": "LEFTRL",
    "WORKER LEFT": "LEFTRL",
    "LEFT ROLE": "LEFTRL",
    "LEFT THE AUTHORITY": "LEFTRL",
    "WORKER LEFT AUTHORITY": "LEFTRL",
    "ORGANISATIONAL RESTRUCTURE": "ORGRST",
    "RESTRUCTURE": "ORGRST",
    "TEAM RESTRUCTURE": "ORGRST",
    "TRANSFER": "TSPROC",
    "TRANSFER BETWEEN TEAMS": "TSPROC",
    "TRANSFER TO ANOTHER TEAM": "TSPROC",
    "TRANSFER PROCESS": "TSPROC",
    "CASE TRANSFERRED": "TSPROC",
    "ABSENCE": "ABSENC",
    "WORKER ABSENCE": "ABSENC",
    "SICKNESS": "ABSENC",
    "LONG TERM ABSENCE": "ABSENC",
    "MATERNITY LEAVE": "ABSENC",
    "CHILD CIRCUMSTANCES CHANGED": "CHCHAN",
    "CHANGE IN CHILD S CIRCUMSTANCES": "CHCHAN",
    "CHANGE OF CHILD CIRCUMSTANCES": "CHCHAN",
    "CHILD CHANGE": "CHCHAN",
    "PLACEMENT CHANGE": "PCCHAN",
    "CHANGE OF PLACEMENT": "PCCHAN",
    "PLAN CHANGE": "PCCHAN",
    "CARE PLAN CHANGE": "PCCHAN",
    "SOCIAL WORKER DIED": "SWDIED",
    "WORKER DIED": "SWDIED",
    "DEATH OF WORKER": "SWDIED",
    "OTHER": "OTHERS",
    "OTHERS": "OTHERS",
    "OTHER REASON": "OTHERS",
}
CIN_NEED_DESCRIPTIONS = {
    "NOT STATED": "N0",
    "ABUSE OR NEGLECT": "N1",
    "CHILD S DISABILITY OR ILLNESS": "N2",
    "CHILDS DISABILITY OR ILLNESS": "N2",
    "CHILD S DISABILITY": "N2",
    "PARENTAL DISABILITY OR ILLNESS": "N3",
    "PARENT S DISABILITY OR ILLNESS": "N3",
    "FAMILY IN ACUTE STRESS": "N4",
    "FAMILY DYSFUNCTION": "N5",
    "SOCIALLY UNACCEPTABLE BEHAVIOUR": "N6",
    "LOW INCOME": "N7",
    "ABSENT PARENTING": "N8",
    "CASES OTHER THAN CHILDREN IN NEED": "N9",
}
REFERRAL_SOURCE_DESCRIPTIONS = {
    "INDIVIDUAL": "1A",
    "INDIVIDUAL FAMILY MEMBER RELATIVE CARER": "1B",
    "FAMILY MEMBER RELATIVE CARER": "1B",
    "INDIVIDUAL ACQUAINTANCE": "1C",
    "ACQUAINTANCE": "1C",
    "INDIVIDUAL SELF": "1D",
    "SELF": "1D",
    "SCHOOLS": "2A",
    "SCHOOL": "2A",
    "EDUCATION SERVICES": "2B",
    "HEALTH SERVICES GP": "3A",
    "GP": "3A",
    "HEALTH SERVICES HEALTH VISITOR": "3B",
    "HEALTH VISITOR": "3B",
    "HEALTH SERVICES SCHOOL NURSE": "3C",
    "SCHOOL NURSE": "3C",
    "HEALTH SERVICES OTHER PRIMARY HEALTH SERVICES": "3D",
    "OTHER PRIMARY HEALTH SERVICES": "3D",
    "HEALTH SERVICES A AND E EMERGENCY DEPARTMENT": "3E",
    "A AND E": "3E",
    "EMERGENCY DEPARTMENT": "3E",
    "HEALTH SERVICES OTHER": "3F",
    "HOUSING": "4",
    "LA SERVICES SOCIAL CARE": "5A",
    "SOCIAL CARE": "5A",
    "LA SERVICES OTHER INTERNAL": "5B",
    "OTHER INTERNAL": "5B",
    "LA SERVICES EXTERNAL": "5C",
    "OTHER LEGAL AGENCY": "7",
    "LA SERVICES EARLY HELP": "5D",
    "EARLY HELP": "5D",
    "POLICE": "6",
    "OTHER": "8",
    "ANONYMOUS": "9",
    "UNKNOWN": "10",
}
CLOSE_REASON_DESCRIPTIONS = {
    "ADOPTED": "RC1",
    "DIED": "RC2",
    "CHILD ARRANGEMENTS ORDER": "RC3",
    "SPECIAL GUARDIANSHIP ORDER": "RC4",
    "TRANSFERRED TO SERVICES OF ANOTHER LOCAL AUTHORITY": "RC5",
    "TRANSFERRED TO ADULT SOCIAL CARE SERVICES": "RC6",
    "SERVICES CEASED FOR ANY OTHER REASON INCLUDING CHILD NO LONGER IN NEED": "RC7",
    "CASE CLOSED AFTER ASSESSMENT NO FURTHER ACTION": "RC8",
    "CASE CLOSED AFTER ASSESSMENT REFERRED TO EARLY HELP": "RC9",
}

# Flag spellings accepted (upper-cased before lookup).
FLAG_TRUE = frozenset({"Y", "1", "TRUE", "YES", "T"})
FLAG_FALSE = frozenset({"N", "0", "FALSE", "NO", "F"})
FLAG_NA = frozenset({"NA", "N/A"})

# Date formats accepted (strptime patterns, tried in order). A `T` between date and
# time (ISO 8601, PostgreSQL/SQL Server exports) is read as a space.
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%d/%m/%Y")
# The SSD's "no date" placeholder (SystemC writes it for an open assessment's
# authorisation date): read as NULL, never as a date and never as unparseable.
NULL_DATES = ("1900-01-01",)
# Texts that are a null at file level, like an empty field (SQL Server tools write NULL).
NULL_TEXTS = ("", "NULL")

# Code sets by name (the seeds ref_code_sets / ref_code_map use these names).
CODE_SETS: dict[str, tuple[str, ...]] = {
    "sex": SEX_CODES,
    "ethnicity": ETHNICITY_CODES,
    "worker_change_reason": WORKER_CHANGE_REASONS,
    "cin_primary_need": CIN_NEED_CODES,
    "referral_source": REFERRAL_SOURCES,
    "close_reason": CLOSE_REASONS,
    "cp_category": CP_CATEGORIES,
    "cla_start_reason": CLA_START_REASONS,
    "cla_primary_need": CLA_NEED_CODES,
    "cla_ceased_reason": CLA_CEASED_REASONS,
    "audit_type": AUDIT_TYPES,
    "auditor_role": AUDITOR_ROLES,
    "audit_grade": AUDIT_GRADES,
}
# Descriptions and legacy codes per code set (keys are code_key()s).
CODE_MAPS: dict[str, dict[str, str]] = {
    "sex": SEX_LEGACY | SEX_DESCRIPTIONS,
    "worker_change_reason": WORKER_CHANGE_REASON_DESCRIPTIONS,
    "cin_primary_need": CIN_NEED_DESCRIPTIONS,
    "referral_source": REFERRAL_SOURCE_DESCRIPTIONS,
    "close_reason": CLOSE_REASON_DESCRIPTIONS,
    "cp_category": CP_CATEGORY_DESCRIPTIONS,
    "cla_primary_need": {k: v for k, v in CIN_NEED_DESCRIPTIONS.items() if v in CLA_NEED_CODES},
    "audit_grade": AUDIT_GRADE_LEGACY,
}


def code_key_sql(expression: str) -> str:
    """``code_key`` as a SQL expression (DuckDB and PostgreSQL): the quality gate's SQL
    uses it, and dbt's macro ``code_key`` (macros/cleaning.sql) is the same text with
    ``{{ expression }}`` (tests/test_contract_artifacts.py holds the three together)."""
    return (
        f"nullif(trim(regexp_replace(upper(replace({expression}, '&', ' AND ')), "
        "'[^A-Z0-9]+', ' ', 'g')), '')"
    )


def code_key(text: str | None) -> str | None:
    """The matching key of a code or description: upper case, "&" as AND, every run of
    non-alphanumerics one space, trimmed (dbt: macro ``code_key``, same rule)."""
    if text is None:
        return None
    out, gap = [], False
    for ch in text.upper().replace("&", " AND "):
        if ch.isascii() and ch.isalnum():
            if gap and out:
                out.append(" ")
            out.append(ch)
            gap = False
        else:
            gap = True
    return "".join(out) or None


def normalise_code(code_set: str, text: str | None, extra: dict[str, str] | None = None):
    """Python reference of staging's ``normalise_code`` (used by tests and the
    generator): the code of `text` in `code_set`, or None when it maps to no code."""
    key = code_key(text)
    if key is None:
        return None
    codes = CODE_SETS[code_set]
    lookup = {code_key(c): c for c in codes}
    lookup |= {code_key(k): v for k, v in CODE_MAPS.get(code_set, {}).items()}
    lookup |= {code_key(k): v for k, v in (extra or {}).items()}
    if key in lookup:
        return lookup[key]
    token = key.split(" ", 1)[0]
    if " " in key and token in codes:
        return token
    return None


@dataclass(frozen=True)
class Column:
    """One column of an export table.

    staging: its name in the dbt staging model (flag column ``<staging>_is_invalid``).
    may_be_absent: a SSD system does not deliver it (ssd-as-deployed.md), so its absence
        from a file is expected, not a finding.
    derivable: staging derives it when absent (person ids from the referral / the plan).
    resolve: "worker" / "team": a reference resolved by id, then staff id, then name
        (workers) or id, then name (teams).
    """

    name: str
    type: str = "text"  # text | date | code | flag | flag_na | decimal
    mandatory: bool = False
    codes: tuple[str, ...] | None = None
    references: str | None = None  # "table.column" for a foreign key
    staging: str | None = None
    may_be_absent: bool = False
    derivable: bool = False

    @property
    def code_set(self) -> str | None:
        """The name of this column's code set (a key of CODE_SETS)."""
        if self.codes is None:
            return None
        return next(n for n, c in CODE_SETS.items() if c == self.codes)

    @property
    def resolve(self) -> str | None:
        if self.references == PROFESSIONAL:
            return "worker"
        if self.references == DEPARTMENT:
            return "team"
        return None


@dataclass(frozen=True)
class SsdColumn:
    """A column the SSD delivers that the contract does not define: known, never a
    warning; landed as text when ``load`` (JSON and direct identifiers never are)."""

    name: str
    load: bool = True
    note: str = ""


@dataclass(frozen=True)
class Table:
    """One export table (one CSV per night)."""

    name: str
    primary_key: str
    columns: tuple[Column, ...]
    description: str = ""
    # (start column, end column) pairs where the end must not precede the start
    date_ranges: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    staging_model: str = ""
    ssd_columns: tuple[SsdColumn, ...] = ()
    optional: bool = False  # an optional feed: a night without it is complete

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def warehouse_columns(self) -> tuple[str, ...]:
        """Contract columns landed in the warehouse (names excluded)."""
        return tuple(c.name for c in self.columns if c.name not in EXCLUDED_COLUMNS)

    @property
    def known_columns(self) -> frozenset[str]:
        """Every column name this table may deliver without a warning."""
        return frozenset(self.column_names) | {c.name for c in self.ssd_columns}

    @property
    def landed_ssd_columns(self) -> tuple[str, ...]:
        """SSD-only columns landed (as text) in raw."""
        return tuple(c.name for c in self.ssd_columns if c.load)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    def header_problems(self, header: list[str]) -> dict[str, list[str]]:
        """How a delivered header differs from the contract (names case-insensitive):
        ``extra`` unknown columns (a warning), ``missing`` contract columns not
        delivered that no SSD system omits, ``absent`` contract columns not delivered
        that a SSD system omits (expected), ``missing_required`` key/mandatory columns
        that are missing and cannot be derived (critical)."""
        delivered = {h.strip().lower() for h in header}
        known = {k.lower() for k in self.known_columns}
        out: dict[str, list[str]] = {
            "extra": [h for h in header if h.strip().lower() not in known],
            "missing": [],
            "absent": [],
            "missing_required": [],
        }
        for c in self.columns:
            if c.name in delivered or c.name in EXCLUDED_COLUMNS:
                continue
            out["absent" if c.may_be_absent or c.derivable else "missing"].append(c.name)
            if (c.mandatory or c.name == self.primary_key) and not c.derivable:
                out["missing_required"].append(c.name)
        return out


def _c(
    name: str,
    type_: str = "text",
    mandatory: bool = False,
    codes=None,
    references=None,
    *,
    staging: str,
    may_be_absent: bool = False,
    derivable: bool = False,
):
    return Column(
        name,
        type_,
        mandatory,
        tuple(codes) if codes else None,
        references,
        staging,
        may_be_absent,
        derivable,
    )


PERSON = "ssd_person.pers_person_id"
PROFESSIONAL = "ssd_professionals.prof_professional_id"
DEPARTMENT = "ssd_department.dept_team_id"
REFERRAL = "ssd_cin_episodes.cine_referral_id"
_JSON = "free-text JSON (comments): never loaded"

TABLES: tuple[Table, ...] = (
    Table(
        "ssd_person",
        "pers_person_id",
        (
            _c("pers_person_id", mandatory=True, staging="person_id"),
            _c("pers_forename", staging=""),
            _c("pers_surname", staging=""),
            _c("pers_sex", "code", codes=SEX_CODES, staging="sex"),
            _c("pers_ethnicity", "code", codes=ETHNICITY_CODES, staging="ethnicity"),
            _c("pers_dob", "date", staging="date_of_birth"),
            _c("pers_expected_dob", "date", staging="expected_date_of_birth"),
            _c("pers_death_date", "date", staging="death_date"),
            # v1.4 renamed it pers_single_unique_id (the NHS number); the UPN is pers_upn.
            _c("pers_common_child_id", staging="upn", may_be_absent=True),
        ),
        "One row per child",
        staging_model="stg_ssd__persons",
        ssd_columns=(
            SsdColumn("pers_legacy_id", True, "previous system's person id"),
            SsdColumn("pers_upn", True, "the UPN (13 characters); staging upn"),
            SsdColumn("pers_gender", True, "gender identity (not used)"),
            SsdColumn(
                "pers_single_unique_id",
                False,
                "v1.4 name of pers_common_child_id: the NHS number, a direct identifier "
                "no figure needs: never loaded",
            ),
            SsdColumn("pers_upn_unknown", True, "UN1-UN10 reason the UPN is unknown"),
            SsdColumn("pers_send_flag", True, "SEND flag (not used)"),
            SsdColumn("pers_is_mother", True, "Y or NULL (not used)"),
            SsdColumn("pers_nationality", True, "not used"),
        ),
    ),
    Table(
        "ssd_department",
        "dept_team_id",
        (
            _c("dept_team_id", mandatory=True, staging="team_id"),
            _c("dept_team_name", mandatory=True, staging="team_name"),
            _c("dept_team_parent_id", staging="service_area_id"),
            _c("dept_team_parent_name", staging="service_area_name"),
        ),
        "One row per team",
        staging_model="stg_ssd__departments",
    ),
    Table(
        "ssd_professionals",
        "prof_professional_id",
        (
            # Mosaic: NULL, the worker id is in prof_staff_id (staging: coalesce).
            _c("prof_professional_id", mandatory=True, staging="worker_id", derivable=True),
            _c("prof_staff_id", staging="staff_id"),
            _c("prof_professional_name", staging="", may_be_absent=True),
            _c("prof_social_worker_registration_no", staging="social_work_england_number"),
            _c("prof_professional_job_title", staging="job_title"),
            # SystemC / Mosaic: the department NAME; Eclipse: NULL (resolved by id, then name)
            _c("prof_professional_department", references=DEPARTMENT, staging="team_id"),
            # NULL in Mosaic, absent from Eclipse's DDL
            _c("prof_full_time_equivalency", "decimal", staging="fte", may_be_absent=True),
            # a placeholder, NULL in every SSD system
            _c("prof_agency_worker_flag", "flag", staging="is_agency"),
        ),
        "One row per worker",
        staging_model="stg_ssd__professionals",
        ssd_columns=(
            SsdColumn(
                "prof_professional_caseload",
                True,
                "open allocations as at the last 30 September (SystemC) or today (Mosaic): "
                "not used, our caseloads come from ssd_involvements",
            ),
        ),
    ),
    Table(
        "ssd_involvements",
        "invo_involvements_id",
        (
            _c("invo_involvements_id", mandatory=True, staging="involvement_id"),
            # NULL when no worker is attached (a team-only allocation)
            _c("invo_professional_id", references=PROFESSIONAL, staging="worker_id"),
            _c("invo_professional_role_id", mandatory=True, staging="role"),
            _c("invo_professional_team", references=DEPARTMENT, staging="team_id"),
            _c("invo_involvement_start_date", "date", mandatory=True, staging="start_date"),
            _c("invo_involvement_end_date", "date", staging="end_date"),
            _c(
                "invo_worker_change_reason",
                "code",
                codes=WORKER_CHANGE_REASONS,
                staging="worker_change_reason",
            ),
            # absent from Mosaic: derived from invo_referral_id
            _c(
                "invo_person_id",
                mandatory=True,
                references=PERSON,
                staging="person_id",
                derivable=True,
            ),
            _c("invo_referral_id", references=REFERRAL, staging="referral_id"),
        ),
        "Allocation history: who held which child's case, when",
        (("invo_involvement_start_date", "invo_involvement_end_date"),),
        staging_model="stg_ssd__involvements",
    ),
    Table(
        "ssd_cin_episodes",
        "cine_referral_id",
        (
            _c("cine_referral_id", mandatory=True, staging="referral_id"),
            _c("cine_person_id", mandatory=True, references=PERSON, staging="person_id"),
            _c("cine_referral_date", "date", mandatory=True, staging="referral_date"),
            _c(
                "cine_cin_primary_need_code",
                "code",
                codes=CIN_NEED_CODES,
                staging="primary_need_code",
            ),
            _c(
                "cine_referral_source_code",
                "code",
                codes=REFERRAL_SOURCES,
                staging="referral_source_code",
            ),
            _c("cine_referral_nfa", "flag", staging="is_referral_nfa"),
            _c("cine_close_reason", "code", codes=CLOSE_REASONS, staging="close_reason"),
            _c("cine_close_date", "date", staging="close_date"),
            _c("cine_referral_team", references=DEPARTMENT, staging="team_id"),
            # SystemC: the worker's NAME
            _c("cine_referral_worker_id", references=PROFESSIONAL, staging="worker_id"),
        ),
        "One row per referral (children in need episode)",
        (("cine_referral_date", "cine_close_date"),),
        staging_model="stg_ssd__cin_episodes",
        ssd_columns=(
            SsdColumn(
                "cine_referral_source_desc",
                True,
                "referral source description: read when cine_referral_source_code is a "
                "local lookup id (SystemC)",
            ),
            SsdColumn("cine_referral_outcome_json", False, _JSON),
        ),
    ),
    Table(
        "ssd_cin_assessments",
        "cina_assessment_id",
        (
            _c("cina_assessment_id", mandatory=True, staging="assessment_id"),
            _c("cina_person_id", mandatory=True, references=PERSON, staging="person_id"),
            _c("cina_referral_id", references=REFERRAL, staging="referral_id"),
            _c("cina_assessment_start_date", "date", mandatory=True, staging="start_date"),
            _c("cina_assessment_child_seen", "flag", staging="is_child_seen"),
            # SystemC: 1900-01-01 when not authorised (NULL_DATES)
            _c("cina_assessment_auth_date", "date", staging="authorised_date"),
            _c("cina_assessment_outcome_nfa", "flag", staging="is_outcome_nfa"),
            _c("cina_assessment_team", references=DEPARTMENT, staging="team_id"),
            _c("cina_assessment_worker_id", references=PROFESSIONAL, staging="worker_id"),
        ),
        "Child and family (single) assessments",
        (("cina_assessment_start_date", "cina_assessment_auth_date"),),
        staging_model="stg_ssd__cin_assessments",
        ssd_columns=(SsdColumn("cina_assessment_outcome_json", False, _JSON),),
    ),
    Table(
        "ssd_s47_enquiry",
        "s47e_s47_enquiry_id",
        (
            _c("s47e_s47_enquiry_id", mandatory=True, staging="s47_enquiry_id"),
            _c("s47e_referral_id", references=REFERRAL, staging="referral_id"),
            _c("s47e_person_id", mandatory=True, references=PERSON, staging="person_id"),
            _c("s47e_s47_start_date", "date", mandatory=True, staging="start_date"),
            _c("s47e_s47_end_date", "date", staging="end_date"),
            _c("s47e_s47_nfa", "flag", staging="is_nfa"),
            _c("s47e_s47_completed_by_team", references=DEPARTMENT, staging="team_id"),
            # SystemC: the worker's STAFF id
            _c(
                "s47e_s47_completed_by_worker_id",
                references=PROFESSIONAL,
                staging="worker_id",
            ),
        ),
        "Section 47 enquiries",
        (("s47e_s47_start_date", "s47e_s47_end_date"),),
        staging_model="stg_ssd__s47_enquiries",
        ssd_columns=(SsdColumn("s47e_s47_outcome_json", False, _JSON),),
    ),
    Table(
        "ssd_initial_cp_conference",
        "icpc_icpc_id",
        (
            _c("icpc_icpc_id", mandatory=True, staging="icpc_id"),
            _c(
                "icpc_s47_enquiry_id",
                references="ssd_s47_enquiry.s47e_s47_enquiry_id",
                staging="s47_enquiry_id",
            ),
            _c("icpc_person_id", mandatory=True, references=PERSON, staging="person_id"),
            _c("icpc_cp_plan_id", staging="cp_plan_id"),
            _c("icpc_referral_id", references=REFERRAL, staging="referral_id"),
            _c("icpc_icpc_transfer_in", "flag", staging="is_transfer_in"),
            _c("icpc_icpc_target_date", "date", staging="target_date"),
            _c("icpc_icpc_date", "date", staging="icpc_date"),
            _c("icpc_icpc_outcome_cp_flag", "flag", staging="is_outcome_cp_plan"),
            _c("icpc_icpc_team", references=DEPARTMENT, staging="team_id"),
            # SystemC: the worker's STAFF id
            _c("icpc_icpc_worker_id", references=PROFESSIONAL, staging="worker_id"),
        ),
        "Initial child protection conferences",
        staging_model="stg_ssd__initial_cp_conferences",
        ssd_columns=(
            SsdColumn("icpc_icpc_meeting_id", True, "the meeting's id (not used)"),
            SsdColumn("icpc_icpc_outcome_json", False, _JSON),
        ),
    ),
    Table(
        "ssd_cp_plans",
        "cppl_cp_plan_id",
        (
            _c("cppl_cp_plan_id", mandatory=True, staging="cp_plan_id"),
            _c("cppl_referral_id", references=REFERRAL, staging="referral_id"),
            _c("cppl_icpc_id", staging="icpc_id"),
            _c("cppl_person_id", mandatory=True, references=PERSON, staging="person_id"),
            _c("cppl_cp_plan_start_date", "date", mandatory=True, staging="start_date"),
            _c("cppl_cp_plan_end_date", "date", staging="end_date"),
            # SystemC / Eclipse: descriptions ("Neglect", "Physical abuse", ...)
            _c(
                "cppl_cp_plan_initial_category",
                "code",
                codes=CP_CATEGORIES,
                staging="initial_category",
            ),
            _c(
                "cppl_cp_plan_latest_category",
                "code",
                codes=CP_CATEGORIES,
                staging="latest_category",
            ),
            # Mosaic: NULL
            _c("cppl_cp_plan_ola", "flag", staging="is_other_la_plan", may_be_absent=True),
        ),
        "Child protection plans",
        (("cppl_cp_plan_start_date", "cppl_cp_plan_end_date"),),
        staging_model="stg_ssd__cp_plans",
    ),
    Table(
        "ssd_cp_visits",
        "cppv_cp_visit_id",
        (
            _c("cppv_cp_visit_id", mandatory=True, staging="cp_visit_id"),
            # absent from Mosaic: derived from the plan
            _c(
                "cppv_person_id",
                mandatory=True,
                references=PERSON,
                staging="person_id",
                derivable=True,
            ),
            # often NULL by design: the visit attaches to the child's plan open that day
            _c("cppv_cp_plan_id", references="ssd_cp_plans.cppl_cp_plan_id", staging="cp_plan_id"),
            _c("cppv_cp_visit_date", "date", mandatory=True, staging="visit_date"),
            _c("cppv_cp_visit_seen", "flag", staging="is_child_seen"),
            _c("cppv_cp_visit_seen_alone", "flag", staging="is_child_seen_alone"),
        ),
        "Statutory visits to children on plans",
        staging_model="stg_ssd__cp_visits",
        ssd_columns=(SsdColumn("cppv_cp_visit_bedroom", True, "child's bedroom seen (not used)"),),
    ),
    Table(
        "ssd_cla_episodes",
        "clae_cla_episode_id",
        (
            _c("clae_cla_episode_id", mandatory=True, staging="cla_episode_id"),
            _c("clae_person_id", mandatory=True, references=PERSON, staging="person_id"),
            _c("clae_cla_episode_start_date", "date", mandatory=True, staging="start_date"),
            # SystemC: a description ("S - Single period ..."); Eclipse: the code
            _c(
                "clae_cla_episode_start_reason",
                "code",
                codes=CLA_START_REASONS,
                staging="start_reason",
            ),
            _c(
                "clae_cla_primary_need_code",
                "code",
                codes=CLA_NEED_CODES,
                staging="primary_need_code",
            ),
            _c("clae_cla_episode_ceased_date", "date", staging="ceased_date"),
            # SystemC: a description ("E11 - Adopted ..."); Eclipse: the code
            _c(
                "clae_cla_episode_ceased_reason",
                "code",
                codes=CLA_CEASED_REASONS,
                staging="ceased_reason",
            ),
            _c("clae_referral_id", references=REFERRAL, staging="referral_id"),
        ),
        "Periods of care (children looked after)",
        (("clae_cla_episode_start_date", "clae_cla_episode_ceased_date"),),
        staging_model="stg_ssd__cla_episodes",
        ssd_columns=(
            SsdColumn("clae_cla_placement_id", True, "not used"),
            SsdColumn("clae_cla_id", True, "not used"),
            SsdColumn("clae_cla_last_iro_contact_date", True, "not used"),
            SsdColumn("clae_entered_care_date", True, "not used"),
        ),
    ),
    Table(
        "case_audits",
        "audit_id",
        (
            _c("audit_id", mandatory=True, staging="audit_id"),
            _c("audit_person_id", mandatory=True, references=PERSON, staging="person_id"),
            _c("audit_referral_id", references=REFERRAL, staging="referral_id"),
            _c("audit_completed_date", "date", mandatory=True, staging="completed_date"),
            _c("audit_type", "code", mandatory=True, codes=AUDIT_TYPES, staging="audit_type"),
            _c("audit_theme", staging="audit_theme"),
            _c("audit_team", mandatory=True, references=DEPARTMENT, staging="team_id"),
            _c("audit_case_worker_id", references=PROFESSIONAL, staging="case_worker_id"),
            _c("auditor_id", mandatory=True, references=PROFESSIONAL, staging="auditor_id"),
            _c("auditor_role", "code", codes=AUDITOR_ROLES, staging="auditor_role"),
            _c(
                "audit_grade",
                "code",
                mandatory=True,
                codes=AUDIT_GRADES,
                staging="audit_grade",
            ),
            _c("moderated_grade", "code", codes=AUDIT_GRADES, staging="moderated_grade"),
            _c("moderation_date", "date", staging="moderation_date"),
            _c("moderator_id", references=PROFESSIONAL, staging="moderator_id"),
            _c("std_timescales_met", "flag_na", staging="std_timescales_met"),
            _c("std_management_oversight_met", "flag_na", staging="std_management_oversight_met"),
            _c("std_voice_of_child_met", "flag_na", staging="std_voice_of_child_met"),
            _c("std_analysis_met", "flag_na", staging="std_analysis_met"),
            _c("std_recording_met", "flag_na", staging="std_recording_met"),
        ),
        "Case-file audits (local extension; an optional feed, not part of the SSD)",
        (("audit_completed_date", "moderation_date"),),
        staging_model="stg_ssd__case_audits",
        optional=True,
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TABLES)


def staging_columns() -> list[dict[str, str]]:
    """Per typed contract column: its staging model, staging column and parse-failure
    flag (docs/architecture.md, "Flag convention"): what a GX suite on staging reads and
    how a finding names the delivered column."""
    out = []
    for t in TABLES:
        for c in t.columns:
            if not c.staging:
                continue
            typed = c.type in ("date", "code", "flag", "flag_na", "decimal")
            out.append(
                {
                    "table": t.name,
                    "column": c.name,
                    "type": c.type,
                    "staging_model": t.staging_model,
                    "staging_column": c.staging,
                    "unparsed_flag": f"{c.staging}_is_invalid" if typed else "",
                }
            )
    return out


def table_for_file(file_name: str) -> Table | None:
    """The table a CSV file name delivers, or None for an unexpected file."""
    stem = file_name[:-4] if file_name.lower().endswith(".csv") else file_name
    return TABLES_BY_NAME.get(stem.lower())
