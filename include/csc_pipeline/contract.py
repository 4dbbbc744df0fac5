"""The nightly export contract (../shared/spec/export-contract.md, v1) as data.

One place describes every table, column, key, code set and reference so that the
generator, the landing step, the quality gate and the tests cannot disagree about
what a valid export looks like.
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

# Flag spellings accepted (upper-cased before lookup).
FLAG_TRUE = frozenset({"Y", "1", "TRUE", "YES", "T"})
FLAG_FALSE = frozenset({"N", "0", "FALSE", "NO", "F"})
FLAG_NA = frozenset({"NA", "N/A"})

# Date formats accepted (strptime patterns, tried in order).
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%d/%m/%Y")


@dataclass(frozen=True)
class Column:
    """One column of an export table."""

    name: str
    type: str = "text"  # text | date | code | flag | flag_na | decimal
    mandatory: bool = False
    codes: tuple[str, ...] | None = None
    references: str | None = None  # "table.column" for a foreign key


@dataclass(frozen=True)
class Table:
    """One export table (one CSV per night)."""

    name: str
    primary_key: str
    columns: tuple[Column, ...]
    description: str = ""
    # (start column, end column) pairs where the end must not precede the start
    date_ranges: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def warehouse_columns(self) -> tuple[str, ...]:
        """Columns landed in the warehouse (names excluded)."""
        return tuple(c.name for c in self.columns if c.name not in EXCLUDED_COLUMNS)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name: str, type_: str = "text", mandatory: bool = False, codes=None, references=None):
    return Column(name, type_, mandatory, tuple(codes) if codes else None, references)


PERSON = "ssd_person.pers_person_id"
PROFESSIONAL = "ssd_professionals.prof_professional_id"
DEPARTMENT = "ssd_department.dept_team_id"
REFERRAL = "ssd_cin_episodes.cine_referral_id"

TABLES: tuple[Table, ...] = (
    Table(
        "ssd_person",
        "pers_person_id",
        (
            _c("pers_person_id", mandatory=True),
            _c("pers_forename"),
            _c("pers_surname"),
            _c("pers_sex", "code", codes=SEX_CODES),
            _c("pers_ethnicity", "code", codes=ETHNICITY_CODES),
            _c("pers_dob", "date"),
            _c("pers_expected_dob", "date"),
            _c("pers_death_date", "date"),
            _c("pers_common_child_id"),
        ),
        "One row per child",
    ),
    Table(
        "ssd_department",
        "dept_team_id",
        (
            _c("dept_team_id", mandatory=True),
            _c("dept_team_name", mandatory=True),
            _c("dept_team_parent_id"),
            _c("dept_team_parent_name"),
        ),
        "One row per team",
    ),
    Table(
        "ssd_professionals",
        "prof_professional_id",
        (
            _c("prof_professional_id", mandatory=True),
            _c("prof_staff_id"),
            _c("prof_professional_name"),
            _c("prof_social_worker_registration_no"),
            _c("prof_professional_job_title"),
            _c("prof_professional_department", references=DEPARTMENT),
            _c("prof_full_time_equivalency", "decimal"),
            _c("prof_agency_worker_flag", "flag"),
        ),
        "One row per worker",
    ),
    Table(
        "ssd_involvements",
        "invo_involvements_id",
        (
            _c("invo_involvements_id", mandatory=True),
            _c("invo_professional_id", mandatory=True, references=PROFESSIONAL),
            _c("invo_professional_role_id", mandatory=True),
            _c("invo_professional_team", references=DEPARTMENT),
            _c("invo_involvement_start_date", "date", mandatory=True),
            _c("invo_involvement_end_date", "date"),
            _c("invo_worker_change_reason", "code", codes=WORKER_CHANGE_REASONS),
            _c("invo_person_id", mandatory=True, references=PERSON),
            _c("invo_referral_id", references=REFERRAL),
        ),
        "Allocation history: who held which child's case, when",
        (("invo_involvement_start_date", "invo_involvement_end_date"),),
    ),
    Table(
        "ssd_cin_episodes",
        "cine_referral_id",
        (
            _c("cine_referral_id", mandatory=True),
            _c("cine_person_id", mandatory=True, references=PERSON),
            _c("cine_referral_date", "date", mandatory=True),
            _c("cine_cin_primary_need_code", "code", codes=CIN_NEED_CODES),
            _c("cine_referral_source_code", "code", codes=REFERRAL_SOURCES),
            _c("cine_referral_nfa", "flag"),
            _c("cine_close_reason", "code", codes=CLOSE_REASONS),
            _c("cine_close_date", "date"),
            _c("cine_referral_team", references=DEPARTMENT),
            _c("cine_referral_worker_id", references=PROFESSIONAL),
        ),
        "One row per referral (children in need episode)",
        (("cine_referral_date", "cine_close_date"),),
    ),
    Table(
        "ssd_cin_assessments",
        "cina_assessment_id",
        (
            _c("cina_assessment_id", mandatory=True),
            _c("cina_person_id", mandatory=True, references=PERSON),
            _c("cina_referral_id", references=REFERRAL),
            _c("cina_assessment_start_date", "date", mandatory=True),
            _c("cina_assessment_child_seen", "flag"),
            _c("cina_assessment_auth_date", "date"),
            _c("cina_assessment_outcome_nfa", "flag"),
            _c("cina_assessment_team", references=DEPARTMENT),
            _c("cina_assessment_worker_id", references=PROFESSIONAL),
        ),
        "Child and family (single) assessments",
        (("cina_assessment_start_date", "cina_assessment_auth_date"),),
    ),
    Table(
        "ssd_s47_enquiry",
        "s47e_s47_enquiry_id",
        (
            _c("s47e_s47_enquiry_id", mandatory=True),
            _c("s47e_referral_id", references=REFERRAL),
            _c("s47e_person_id", mandatory=True, references=PERSON),
            _c("s47e_s47_start_date", "date", mandatory=True),
            _c("s47e_s47_end_date", "date"),
            _c("s47e_s47_nfa", "flag"),
            _c("s47e_s47_completed_by_team", references=DEPARTMENT),
            _c("s47e_s47_completed_by_worker_id", references=PROFESSIONAL),
        ),
        "Section 47 enquiries",
        (("s47e_s47_start_date", "s47e_s47_end_date"),),
    ),
    Table(
        "ssd_initial_cp_conference",
        "icpc_icpc_id",
        (
            _c("icpc_icpc_id", mandatory=True),
            _c("icpc_s47_enquiry_id", references="ssd_s47_enquiry.s47e_s47_enquiry_id"),
            _c("icpc_person_id", mandatory=True, references=PERSON),
            _c("icpc_cp_plan_id"),
            _c("icpc_referral_id", references=REFERRAL),
            _c("icpc_icpc_transfer_in", "flag"),
            _c("icpc_icpc_target_date", "date"),
            _c("icpc_icpc_date", "date"),
            _c("icpc_icpc_outcome_cp_flag", "flag"),
            _c("icpc_icpc_team", references=DEPARTMENT),
            _c("icpc_icpc_worker_id", references=PROFESSIONAL),
        ),
        "Initial child protection conferences",
    ),
    Table(
        "ssd_cp_plans",
        "cppl_cp_plan_id",
        (
            _c("cppl_cp_plan_id", mandatory=True),
            _c("cppl_referral_id", references=REFERRAL),
            _c("cppl_icpc_id"),
            _c("cppl_person_id", mandatory=True, references=PERSON),
            _c("cppl_cp_plan_start_date", "date", mandatory=True),
            _c("cppl_cp_plan_end_date", "date"),
            _c("cppl_cp_plan_initial_category", "code", codes=CP_CATEGORIES),
            _c("cppl_cp_plan_latest_category", "code", codes=CP_CATEGORIES),
            _c("cppl_cp_plan_ola", "flag"),
        ),
        "Child protection plans",
        (("cppl_cp_plan_start_date", "cppl_cp_plan_end_date"),),
    ),
    Table(
        "ssd_cp_visits",
        "cppv_cp_visit_id",
        (
            _c("cppv_cp_visit_id", mandatory=True),
            _c("cppv_person_id", mandatory=True, references=PERSON),
            _c("cppv_cp_plan_id", mandatory=True, references="ssd_cp_plans.cppl_cp_plan_id"),
            _c("cppv_cp_visit_date", "date", mandatory=True),
            _c("cppv_cp_visit_seen", "flag"),
            _c("cppv_cp_visit_seen_alone", "flag"),
        ),
        "Statutory visits to children on plans",
    ),
    Table(
        "ssd_cla_episodes",
        "clae_cla_episode_id",
        (
            _c("clae_cla_episode_id", mandatory=True),
            _c("clae_person_id", mandatory=True, references=PERSON),
            _c("clae_cla_episode_start_date", "date", mandatory=True),
            _c("clae_cla_episode_start_reason", "code", codes=CLA_START_REASONS),
            _c("clae_cla_primary_need_code", "code", codes=CLA_NEED_CODES),
            _c("clae_cla_episode_ceased_date", "date"),
            _c("clae_cla_episode_ceased_reason", "code", codes=CLA_CEASED_REASONS),
            _c("clae_referral_id", references=REFERRAL),
        ),
        "Periods of care (children looked after)",
        (("clae_cla_episode_start_date", "clae_cla_episode_ceased_date"),),
    ),
    Table(
        "case_audits",
        "audit_id",
        (
            _c("audit_id", mandatory=True),
            _c("audit_person_id", mandatory=True, references=PERSON),
            _c("audit_referral_id", references=REFERRAL),
            _c("audit_completed_date", "date", mandatory=True),
            _c("audit_type", "code", mandatory=True, codes=AUDIT_TYPES),
            _c("audit_theme"),
            _c("audit_team", mandatory=True, references=DEPARTMENT),
            _c("audit_case_worker_id", references=PROFESSIONAL),
            _c("auditor_id", mandatory=True, references=PROFESSIONAL),
            _c("auditor_role", "code", codes=AUDITOR_ROLES),
            _c("audit_grade", "code", mandatory=True, codes=AUDIT_GRADES),
            _c("moderated_grade", "code", codes=AUDIT_GRADES),
            _c("moderation_date", "date"),
            _c("moderator_id", references=PROFESSIONAL),
            _c("std_timescales_met", "flag_na"),
            _c("std_management_oversight_met", "flag_na"),
            _c("std_voice_of_child_met", "flag_na"),
            _c("std_analysis_met", "flag_na"),
            _c("std_recording_met", "flag_na"),
        ),
        "Case-file audits (local extension)",
        (("audit_completed_date", "moderation_date"),),
    ),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TABLES)


def table_for_file(file_name: str) -> Table | None:
    """The table a CSV file name delivers, or None for an unexpected file."""
    stem = file_name[:-4] if file_name.lower().endswith(".csv") else file_name
    return TABLES_BY_NAME.get(stem.lower())
