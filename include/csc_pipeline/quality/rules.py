"""Rule ids and the severity policy of the data-quality gate.

Severity policy
---------------
CRITICAL means the extract as a whole cannot be trusted. The night is quarantined: the
DAG fails with ``gate.format_critical_message``, dbt does not run and the previous
night's marts stay exactly as they were. Critical are:

- a table's file missing from the night (``file_missing``), or raw holding a different
  night than the one being validated (``wrong_night``);
- a primary-key or mandatory column missing from a file (``column_missing`` on a
  PK/mandatory column; an optional column missing is only a warning);
- the rows loaded disagreeing with the manifest (``manifest_rows``);
- every file byte-identical to the previous landed night's (``stale_extract``: the case
  system re-sent an old extract under a new date; quarantining it loses nothing, the
  previous night's marts already hold that data);
- a table shrinking sharply against the previous landed night (``volume_drop``: more
  than ``VOLUME_DROP_RATE`` fewer rows; a table that had fewer than
  ``VOLUME_MIN_BASELINE`` rows is only required not to become empty);
- row problems so frequent that they signal a broken extract rather than a few bad
  records: for the rules marked ``escalates`` (missing or duplicated keys, blank
  mandatory fields, unparseable dates/flags/decimals, orphans), more than
  ``CRITICAL_ROW_RATE`` of a table's rows AND at least ``CRITICAL_MIN_ROWS`` rows;
- a check that could not run at all (``check_error``): fail closed.

WARNING is everything else: individual records that are wrong but do not make the
night untrustworthy (a bad code, an end before a start, a future date, an orphan, a
DfE census validation failure, an overloaded worker...). Every offending record is
written to ``dq.dq_issues`` with the person, team and worker responsible, so a team
manager can find and fix it; dbt still runs and excludes such records from the
figures they would make meaningless (see spec/kpis.md).

Code-set violations, date-logic problems and census checks never escalate: a new code
or a burst of late recording must not stop the whole council's reporting.
"""

from __future__ import annotations

from dataclasses import dataclass

from csc_pipeline.kpi_definitions import threshold

CRITICAL = "critical"
WARNING = "warning"

# Escalation of row-level rules to critical (see the module docstring).
CRITICAL_ROW_RATE = 0.05
CRITICAL_MIN_ROWS = 10
# Volume against the previous landed night.
VOLUME_DROP_RATE = 0.10
VOLUME_MIN_BASELINE = 50
# Date plausibility.
EARLIEST_DOB = "1990-01-01"
# Census timescales (working days) and caseload limit: the definitions' own thresholds,
# read from dbt_project/seeds/kpi_thresholds.csv (one place for the gate and the marts).
ASSESSMENT_WORKING_DAYS = threshold("assessment_timescale_working_days")
ICPC_WORKING_DAYS = threshold("icpc_timescale_working_days")
MAX_CHILDREN_PER_FTE = threshold("caseload_flag_per_fte")
# How many example rows a finding carries.
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str  # the base severity
    escalates: bool = False  # row-level rule that becomes critical at a broken-extract rate


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        # whole-extract checks
        Rule("file_missing", "table file missing from the night", CRITICAL),
        Rule("wrong_night", "raw holds a different night than the one validated", CRITICAL),
        Rule("column_missing", "column missing from the file", CRITICAL),
        Rule("extra_column", "unexpected column in the file (ignored)", WARNING),
        Rule("manifest_rows", "rows loaded differ from the manifest", CRITICAL),
        Rule("stale_extract", "every file is identical to the previous night's", CRITICAL),
        Rule("volume_drop", "table shrank sharply since the previous night", CRITICAL),
        Rule("check_error", "a data-quality check could not run", CRITICAL),
        # row-level checks (GX suites)
        Rule("pk_missing", "record id is blank", WARNING, escalates=True),
        Rule("pk_duplicate", "record id appears more than once", WARNING, escalates=True),
        Rule("mandatory_missing", "mandatory field is blank", WARNING, escalates=True),
        Rule("date_unparseable", "date is not in an accepted format", WARNING, escalates=True),
        Rule("flag_invalid", "flag is not a recognised Y/N value", WARNING, escalates=True),
        Rule("decimal_unparseable", "number cannot be read", WARNING, escalates=True),
        Rule("code_invalid", "code is not in the code set", WARNING),
        Rule("fte_out_of_range", "FTE is not more than 0 and at most 1", WARNING),
        Rule("end_before_start", "end date is before the start date", WARNING),
        Rule("future_date", "date is after the export date", WARNING),
        Rule("dob_implausible", "date of birth is implausible", WARNING),
        # relational checks (SQL)
        Rule("orphan", "refers to a record that is not in the extract", WARNING, escalates=True),
        # DfE CIN census validation rules (SQL, except 8925 which is a GX column-pair check)
        Rule("1103", "assessment starts before its referral", WARNING),
        Rule("8925", "CP plan ends before it starts", WARNING),
        Rule("8840", "CP plan starts and ends on the same day", WARNING),
        Rule("8940", "CP plans of one child overlap", WARNING),
        Rule("8820", "CIN episodes of one child overlap", WARNING),
        Rule("8565", "activity after the CIN episode was closed", WARNING),
        Rule("8670Q", f"assessment open more than {ASSESSMENT_WORKING_DAYS} working days", WARNING),
        Rule("8675Q", f"S47 enquiry with no ICPC after {ICPC_WORKING_DAYS} working days", WARNING),
        Rule(
            "caseload_over_50",
            f"worker holds more than {MAX_CHILDREN_PER_FTE} children per FTE",
            WARNING,
        ),
    )
}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
