"""Write a simulated night the way a real SSD v1.4.5 delivers it (docs/spec/ssd-as-deployed.md).

``apply_flavour(extracts, flavour, seed, la_code)`` rewrites one night's canonical
Extracts (every contract table, as the generator writes them) in place into one
system's representation; the records are the same, only how they are written changes:

- ``canonical``: unchanged (the contract exactly, plus the generator's usual mess).
- ``systemc`` (LiquidLogic LCS, SQL Server): every date a DATETIME
  (``2024-12-10 00:00:00.000``), empty fields written as the text ``NULL`` (SQL Server
  tools), the open assessment's authorisation date as ``1900-01-01``; the UPN in
  ``pers_upn`` and the SSD-only columns present (``*_json`` with free text); the case
  holder's role ``CW``; referral sources as a local lookup id (or ``3A - GP`` text) with
  ``cine_referral_source_desc`` beside it; the referral worker as the worker's NAME, S47
  and ICPC workers as STAFF ids; the department as its NAME; CP categories as
  descriptions; close and CLA reasons as ``CODE - description``; some visits without
  their plan id; no case_audits (not an SSD table).
- ``eclipse`` (OLM Eclipse, PostgreSQL): ISO ``T`` timestamps; no department and no FTE
  column; role a relationship class code (``ALLOCATED WORKER``); CP categories as
  descriptions in another wording; CLA reasons as codes; some visits without their plan
  id; no case_audits.
- ``mosaic`` (SQL Server): DATETIME text and ``NULL``; ``prof_professional_id`` NULL with
  the worker id in ``prof_staff_id`` and no name column; the department NAME; no FTE;
  no ``invo_person_id`` / ``cppv_person_id`` columns; role ``ALLWKR`` or its description;
  worker-change reasons and sex as descriptions; referral and S47 ids as integers;
  ``cppl_cp_plan_ola`` NULL. Mosaic cannot say which plans another council holds, so
  the flavour models a Mosaic council whose SSD holds only its own plans (the OLA plans
  and their visits are left out: the KPIs exclude them anyway); case_audits delivered
  with the night (a local feed kept beside the SSD).

Every choice per row comes from stable random numbers, so the same seed gives the same
files. Flags are always Y/N (the SSD's CHAR(1)); the agency flag is NULL (a placeholder
in every SSD system).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from csc_pipeline import contract

from .extract import Extract, stable_int

FLAVOURS = ("canonical", "systemc", "eclipse", "mosaic")
SOURCE_SYSTEMS = {
    "canonical": None,
    "systemc": "LiquidLogic LCS (SSD v1.4.5)",
    "eclipse": "OLM Eclipse (SSD v1.4.5)",
    "mosaic": "Mosaic (SSD v1.4.5)",
}
# Tables a flavour does not deliver (case_audits is not an SSD table).
NOT_DELIVERED = {"systemc": ("case_audits",), "eclipse": ("case_audits",)}
# Share of visits written without their plan id (only where the date finds the same plan).
VISIT_PLAN_NULL_RATE = 0.3
JSON_TEXT = '{"OUTCOME_COMMENTS": "free text case note", "NFA": "N"}'

CP_WORDING = {
    "systemc": {
        "NEG": "Neglect",
        "PHY": "Physical abuse",
        "SAB": "Sexual abuse",
        "EMO": "Emotional abuse",
        "MUL": "Multiple",
    },
    "eclipse": {
        "NEG": "NEGLECT",
        "PHY": "Physical Abuse",
        "SAB": "Sexual Abuse",
        "EMO": "Emotional Abuse",
        "MUL": "Multiple Categories",
    },
}
SEX_WORDING = {"M": "Male", "F": "Female", "U": "Unknown"}
ROLE_CODES = {
    "systemc": ("CW",),
    "eclipse": ("ALLOCATED WORKER",),
    "mosaic": ("ALLWKR", "C&F Allocated Worker"),
}


def _first_description(mapping: dict[str, str]) -> dict[str, str]:
    """code -> the first shipped description of it, as a case system would word it."""
    out: dict[str, str] = {}
    for text, code in mapping.items():
        out.setdefault(code, text.capitalize())
    return out


REFERRAL_SOURCE_TEXT = _first_description(contract.REFERRAL_SOURCE_DESCRIPTIONS)
CLOSE_REASON_TEXT = _first_description(contract.CLOSE_REASON_DESCRIPTIONS)
CHANGE_REASON_TEXT = _first_description(contract.WORKER_CHANGE_REASON_DESCRIPTIONS)


def _rng(seed: int, la_code: str, *parts: str) -> np.random.Generator:
    return np.random.default_rng([seed, stable_int(la_code), *(stable_int(p) for p in parts)])


def _iso(text: str) -> str:
    """A canonical date text (any accepted format) as YYYY-MM-DD ('' stays '')."""
    if not text:
        return ""
    if "/" in text:
        d, m, y = text.split("/")
        return f"{int(y):04d}-{int(m):02d}-{int(d):02d}"
    return text[:10]


def _dates(values: np.ndarray, flavour: str) -> np.ndarray:
    iso = [_iso(v) for v in values]
    if flavour == "eclipse":
        return np.array([f"{v}T00:00:00" if v else "" for v in iso], dtype=object)
    return np.array([f"{v} 00:00:00.000" if v else "" for v in iso], dtype=object)


def _yn(values: np.ndarray) -> np.ndarray:
    out = []
    for v in values:
        u = str(v).strip().upper()
        out.append("Y" if u in contract.FLAG_TRUE else "N" if u in contract.FLAG_FALSE else "")
    return np.array(out, dtype=object)


def _col(ex: Extract, name: str) -> np.ndarray:
    return ex.cells[name]


def _set(ex: Extract, name: str, values, after: str | None = None) -> None:
    """Set (or add) a column; a new one goes after `after` (or at the end)."""
    if not isinstance(values, np.ndarray):
        values = np.full(ex.rows, values, dtype=object)
    ex.cells[name] = values.astype(object)
    if name not in ex.columns:
        if after in ex.columns:
            ex.columns.insert(ex.columns.index(after) + 1, name)
        else:
            ex.columns.append(name)


def _drop(ex: Extract, name: str) -> None:
    if name in ex.columns:
        ex.columns.remove(name)
        del ex.cells[name]


def _rename(ex: Extract, old: str, new: str) -> None:
    ex.columns[ex.columns.index(old)] = new
    ex.cells[new] = ex.cells.pop(old)


def _map(values: np.ndarray, fn) -> np.ndarray:
    return np.array([fn(v) for v in values], dtype=object)


def _digits(value: str) -> str:
    """An id as Mosaic's integer ids hold it (REF100002 -> 100002)."""
    return "".join(ch for ch in value if ch.isdigit()) if value else value


def _keep_rows(ex: Extract, keep: np.ndarray) -> None:
    ex.take(np.flatnonzero(keep))


def _visit_plans_to_blank(
    ex: dict[str, Extract], seed: int, la_code: str, flavour: str
) -> np.ndarray:
    """Visits whose plan id can be left out: the child's plan open on the visit date,
    latest start first (staging's rule), is the visit's own plan."""
    plans, visits = ex["ssd_cp_plans"], ex["ssd_cp_visits"]
    by_person: dict[str, list[tuple[str, str, str]]] = {}
    for pid, person, start, end in zip(
        _col(plans, "cppl_cp_plan_id"),
        _col(plans, "cppl_person_id"),
        _col(plans, "cppl_cp_plan_start_date"),
        _col(plans, "cppl_cp_plan_end_date"),
        strict=True,
    ):
        by_person.setdefault(person, []).append((_iso(start), _iso(end), pid))
    draw = _rng(seed, la_code, flavour, "visit-plan").random(visits.rows)
    out = np.zeros(visits.rows, dtype=bool)
    for i, (person, plan, day) in enumerate(
        zip(
            _col(visits, "cppv_person_id"),
            _col(visits, "cppv_cp_plan_id"),
            _col(visits, "cppv_cp_visit_date"),
            strict=True,
        )
    ):
        day = _iso(day)
        open_plans = sorted(
            (s, p)
            for s, e, p in by_person.get(person, [])
            if s and s <= day and (not e or e >= day)
        )
        if open_plans and open_plans[-1][1] == plan and draw[i] < VISIT_PLAN_NULL_RATE:
            out[i] = True
    return out


def apply_flavour(
    extracts: dict[str, Extract], flavour: str, *, seed: int, la_code: str
) -> dict[str, Extract]:
    """One night's canonical extracts rewritten as `flavour` delivers them (in place;
    returned for convenience). Tables the flavour does not deliver are removed."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown flavour {flavour!r}; choose one of {', '.join(FLAVOURS)}")
    if flavour == "canonical":
        return extracts
    ex = extracts
    for name in NOT_DELIVERED.get(flavour, ()):
        ex.pop(name, None)
    pros = ex["ssd_professionals"]
    team_name = dict(
        zip(
            _col(ex["ssd_department"], "dept_team_id"),
            _col(ex["ssd_department"], "dept_team_name"),
            strict=True,
        )
    )
    worker_name = dict(
        zip(_col(pros, "prof_professional_id"), _col(pros, "prof_professional_name"), strict=True)
    )
    staff_id = dict(
        zip(_col(pros, "prof_professional_id"), _col(pros, "prof_staff_id"), strict=True)
    )
    sql_server = flavour in ("systemc", "mosaic")

    # --- visits: plan ids left out where the date finds the plan (before any id change)
    if flavour in ("systemc", "eclipse"):
        blank = _visit_plans_to_blank(ex, seed, la_code, flavour)
        visits = ex["ssd_cp_visits"]
        _set(visits, "cppv_cp_plan_id", np.where(blank, "", _col(visits, "cppv_cp_plan_id")))
    if flavour == "mosaic":  # only the council's own plans (see the module docstring)
        plans = ex["ssd_cp_plans"]
        ola = _yn(_col(plans, "cppl_cp_plan_ola")) == "Y"
        gone = set(_col(plans, "cppl_cp_plan_id")[ola])
        _keep_rows(plans, ~ola)
        visits = ex["ssd_cp_visits"]
        _keep_rows(visits, ~np.isin(_col(visits, "cppv_cp_plan_id"), list(gone)))
        _set(plans, "cppl_cp_plan_ola", "")

    # --- value representation common to the flavour
    for table in contract.TABLES:
        if table.name not in ex:
            continue
        e = ex[table.name]
        for c in table.columns:
            if c.name not in e.cells:
                continue
            if c.type == "date":
                _set(e, c.name, _dates(_col(e, c.name), flavour))
            elif c.type == "flag":
                _set(e, c.name, _yn(_col(e, c.name)))

    # --- ssd_person
    p = ex["ssd_person"]
    _rename(p, "pers_common_child_id", "pers_upn")
    _set(p, "pers_single_unique_id", "", after="pers_upn")
    for name in (
        "pers_legacy_id",
        "pers_gender",
        "pers_upn_unknown",
        "pers_send_flag",
        "pers_is_mother",
        "pers_nationality",
    ):
        _set(p, name, "")
    sex = _map(_col(p, "pers_sex"), lambda v: contract.normalise_code("sex", v) or v)
    _set(p, "pers_sex", _map(sex, lambda v: SEX_WORDING.get(v, v)) if flavour == "mosaic" else sex)

    # --- ssd_professionals
    _set(pros, "prof_agency_worker_flag", "")  # a placeholder in every SSD system
    _set(pros, "prof_professional_caseload", "")
    if flavour == "eclipse":
        _set(pros, "prof_professional_department", "")
        _drop(pros, "prof_full_time_equivalency")
    else:
        _set(
            pros,
            "prof_professional_department",
            _map(_col(pros, "prof_professional_department"), lambda v: team_name.get(v, v)),
        )
    if flavour == "mosaic":
        _set(pros, "prof_staff_id", _col(pros, "prof_professional_id"))
        _set(pros, "prof_professional_id", "")
        _drop(pros, "prof_professional_name")
        _set(pros, "prof_full_time_equivalency", "")

    # --- ssd_involvements
    inv = ex["ssd_involvements"]
    roles = ROLE_CODES[flavour]
    pick = _rng(seed, la_code, flavour, "role").integers(0, len(roles), inv.rows)
    holder = _col(inv, "invo_professional_role_id") == contract.CASE_HOLDER_ROLE
    _set(
        inv,
        "invo_professional_role_id",
        np.where(
            holder, np.array(roles, dtype=object)[pick], _col(inv, "invo_professional_role_id")
        ),
    )
    if flavour == "mosaic":
        _drop(inv, "invo_person_id")
        _set(
            inv,
            "invo_worker_change_reason",
            _map(_col(inv, "invo_worker_change_reason"), lambda v: CHANGE_REASON_TEXT.get(v, v)),
        )

    # --- ssd_cin_episodes
    epi = ex["ssd_cin_episodes"]
    source = _col(epi, "cine_referral_source_code")
    _set(
        epi,
        "cine_referral_source_desc",
        _map(source, lambda v: REFERRAL_SOURCE_TEXT.get(v, "")),
        after="cine_referral_source_code",
    )
    _set(epi, "cine_referral_outcome_json", JSON_TEXT, after="cine_referral_source_desc")
    if flavour == "systemc":
        text = _rng(seed, la_code, flavour, "source").random(epi.rows) < 0.2
        lookup = _map(source, lambda v: f"{1000 + stable_int(v) % 9000}" if v else "")
        worded = _map(source, lambda v: f"{v} - {REFERRAL_SOURCE_TEXT.get(v, '')}" if v else "")
        _set(epi, "cine_referral_source_code", np.where(text, worded, lookup))
        _set(
            epi,
            "cine_referral_worker_id",
            _map(_col(epi, "cine_referral_worker_id"), lambda v: worker_name.get(v, v)),
        )
        _set(
            epi,
            "cine_close_reason",
            _map(
                _col(epi, "cine_close_reason"),
                lambda v: f"{v} - {CLOSE_REASON_TEXT.get(v, '')}" if v else "",
            ),
        )

    # --- assessments, S47, ICPC
    asm = ex["ssd_cin_assessments"]
    _set(asm, "cina_assessment_outcome_json", JSON_TEXT, after="cina_assessment_auth_date")
    s47 = ex["ssd_s47_enquiry"]
    _set(s47, "s47e_s47_outcome_json", JSON_TEXT, after="s47e_s47_nfa")
    icpc = ex["ssd_initial_cp_conference"]
    _set(
        icpc,
        "icpc_icpc_meeting_id",
        _map(_col(icpc, "icpc_icpc_id"), lambda v: f"M{v}"),
        after="icpc_icpc_id",
    )
    _set(icpc, "icpc_icpc_outcome_json", JSON_TEXT, after="icpc_icpc_outcome_cp_flag")
    if flavour == "systemc":
        auth = _col(asm, "cina_assessment_auth_date")
        _set(
            asm, "cina_assessment_auth_date", np.where(auth == "", "1900-01-01 00:00:00.000", auth)
        )
        to_staff = lambda v: staff_id.get(v, v)  # noqa: E731
        _set(
            s47,
            "s47e_s47_completed_by_worker_id",
            _map(_col(s47, "s47e_s47_completed_by_worker_id"), to_staff),
        )
        _set(icpc, "icpc_icpc_worker_id", _map(_col(icpc, "icpc_icpc_worker_id"), to_staff))

    # --- plans, visits, CLA
    plans = ex["ssd_cp_plans"]
    if flavour in CP_WORDING:
        for col in ("cppl_cp_plan_initial_category", "cppl_cp_plan_latest_category"):
            _set(
                plans,
                col,
                _map(_col(plans, col), lambda v: CP_WORDING[flavour].get(v.upper(), v) if v else v),
            )
    _set(ex["ssd_cp_visits"], "cppv_cp_visit_bedroom", "")
    if flavour == "mosaic":
        _drop(ex["ssd_cp_visits"], "cppv_person_id")
    cla = ex["ssd_cla_episodes"]
    for name in (
        "clae_cla_placement_id",
        "clae_cla_id",
        "clae_cla_last_iro_contact_date",
        "clae_entered_care_date",
    ):
        _set(cla, name, "")
    if flavour == "systemc":
        _set(
            cla,
            "clae_cla_episode_start_reason",
            _map(
                _col(cla, "clae_cla_episode_start_reason"),
                lambda v: f"{v} - Reason for new episode {v}" if v else v,
            ),
        )
        _set(
            cla,
            "clae_cla_episode_ceased_reason",
            _map(
                _col(cla, "clae_cla_episode_ceased_reason"),
                lambda v: f"{v} - Reason episode ceased {v}" if v else v,
            ),
        )

    # --- Mosaic's integer ids (referrals, S47 enquiries), consistently in every table
    if flavour == "mosaic":
        for table in contract.TABLES:
            if table.name not in ex:
                continue
            e = ex[table.name]
            for c in table.columns:
                if c.name in e.cells and (
                    c.name in ("cine_referral_id", "s47e_s47_enquiry_id")
                    or c.references in (contract.REFERRAL, "ssd_s47_enquiry.s47e_s47_enquiry_id")
                ):
                    _set(e, c.name, _map(_col(e, c.name), _digits))

    # --- SQL Server tools write empty fields as NULL
    if sql_server:
        for e in ex.values():
            for name in e.columns:
                v = e.cells[name]
                e.cells[name] = np.where(v == "", "NULL", v).astype(object)
    return ex


def export_date_text(day: dt.date, flavour: str) -> str:
    """How the flavour writes a date (for tests)."""
    return _dates(np.array([day.isoformat()], dtype=object), flavour)[0]
