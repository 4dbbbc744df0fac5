"""Alerts: team digests over real SMTP (aiosmtpd), alert_log idempotence and retries,
engineers' failure and deadline notices.

A small published warehouse is built by hand with known records as at 2026-11-20 (a
Friday), with the marts' real column lists taken from the dbt models where they declare
them, so the digest SQL is checked against the names dbt builds.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import re
import socket
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import REPO

from csc_pipeline.alerts import alert_log, engineers, routing
from csc_pipeline.alerts.nightly import send_night_alerts
from csc_pipeline.alerts.settings import SAMPLE_ROUTING_FILE, alert_settings

AS_AT = "2026-11-20"  # a Friday
LA = "999"
D = dt.date.fromisoformat
ENGINEERS = "data-engineers@northbridge.example"
DEFAULT_TO = "csc-unrouted@northbridge.example"

# Case-system person ids and the dates of birth the warehouse holds for them (raw only):
# none of these dates may appear in any message.
PEOPLE = {f"P{n:05d}": f"201{n % 10}-0{1 + n % 9}-1{n % 10}" for n in range(1, 30)}


def key(person_id: str) -> str:
    return "k_" + person_id.lower()


# --- the fixture warehouse -----------------------------------------------------------

MART_COLUMNS = {
    "dim_team": "team_id varchar, team_name varchar, service_area_id varchar, service_area_name varchar",
    "fct_assessments": (
        "assessment_id varchar, person_key varchar, start_date date, due_date date, "
        "is_open boolean, is_overdue boolean, is_due_soon boolean, working_days_open integer, "
        "team_id varchar, worker_id varchar"
    ),
    "fct_icpc": (
        "icpc_id varchar, person_key varchar, s47_start_date date, icpc_date date, target_date date, "
        "is_transfer_in boolean, dq_issue varchar, team_id varchar, worker_id varchar, "
        "is_overdue_not_held boolean, s47_enquiry_id varchar"
    ),
    "fct_cp_visits_due": (
        "cp_plan_id varchar, person_key varchar, plan_start_date date, "
        "last_seen_visit_date date, working_days_since_seen integer, team_id varchar, "
        "worker_id varchar, is_visit_overdue boolean"
    ),
    "fct_caseloads": (
        "snapshot_date date, worker_id varchar, team_id varchar, fte decimal(9, 4), "
        "children_allocated integer, caseload_per_fte decimal(18, 6)"
    ),
}
# Workers' names (restricted.restricted_worker_names): shown beside their ids.
WORKER_NAMES = {
    "W1": "Ada Xylo",
    "W2": "Bram Zyzzyx",
    "W3": "Cass Vexley",
    "W5": "Dora Jaxby",
    "W6": "Ezra Kwyle",
    "W9": "Fern Qwix",
}
SUPPLIED = (
    "ssd_person", "ssd_department", "ssd_professionals", "ssd_involvements",
    "ssd_cin_episodes", "ssd_cin_assessments", "ssd_s47_enquiry",
    "ssd_initial_cp_conference", "ssd_cp_plans", "ssd_cp_visits", "ssd_cla_episodes",
)  # fmt: skip


def build_warehouse(path: Path, export_date: str = AS_AT) -> Path:
    con = duckdb.connect(str(path))
    for schema in ("raw", "marts", "meta", "dq", "restricted"):
        con.execute(f"create schema {schema}")
    con.execute(
        "create table meta.nights (la_code varchar, export_date date, status varchar, "
        "published_at timestamp)"
    )
    # published at 05:10 UTC the morning after the export date
    con.execute(
        "insert into meta.nights values (?, ?, 'published', ?)",
        [LA, export_date, dt.datetime.combine(D(export_date) + timedelta(days=1), dt.time(5, 10))],
    )
    con.execute(
        "create table meta.load_log (la_code varchar, export_date date, table_name varchar, "
        "file_name varchar, sha256 varchar)"
    )
    con.executemany(
        "insert into meta.load_log values (?, ?, ?, ?, ?)",
        [(LA, export_date, t, f"{t}.csv", f"sha-{t}") for t in SUPPLIED],
    )
    con.execute(
        "create table restricted.restricted_person_ids (person_key varchar, person_id varchar)"
    )
    con.executemany(
        "insert into restricted.restricted_person_ids values (?, ?)", [(key(p), p) for p in PEOPLE]
    )
    con.execute(
        "create table restricted.restricted_worker_names (worker_id varchar, worker_name varchar)"
    )
    con.executemany(
        "insert into restricted.restricted_worker_names values (?, ?)", list(WORKER_NAMES.items())
    )
    con.execute("create table raw.ssd_person (pers_person_id varchar, pers_dob varchar)")
    con.executemany("insert into raw.ssd_person values (?, ?)", list(PEOPLE.items()))
    for table, columns in MART_COLUMNS.items():
        con.execute(f"create table marts.{table} ({columns})")
    con.executemany(
        "insert into marts.dim_team values (?, ?, ?, ?)",
        [
            ("T1", "Assessment Team 1", "AS", "Assessment"),
            ("T2", "Safeguarding Team 1", "SG", "Safeguarding"),
            ("T3", "Brand New Team", "SG", "Safeguarding"),
            ("T4", "Quiet Team", "AS", "Assessment"),
        ],
    )
    con.executemany(
        "insert into marts.fct_assessments values (?, ?, ?, ?, true, ?, ?, ?, ?, ?)",
        [
            ("A1", key("P00001"), D("2026-08-03"), D("2026-10-05"), True, False, 78, "T1", "W1"),
            ("A2", key("P00002"), D("2026-09-01"), D("2026-11-03"), True, False, 58, "T1", "W1"),
            ("A3", key("P00003"), D("2026-09-21"), D("2026-11-23"), False, True, 44, "T1", "W2"),
            ("A4", key("P00004"), D("2026-11-02"), D("2027-01-06"), False, False, 14, "T1", "W2"),
            ("A5", key("P00005"), D("2026-08-03"), D("2026-10-05"), True, False, 78, "T3", "W9"),
            ("A6", key("P00006"), D("2026-11-10"), D("2027-01-14"), False, False, 8, "T4", "W8"),
        ],
    )
    con.executemany(
        "insert into marts.fct_icpc values (?, ?, ?, ?, ?, ?, ?, ?, ?, null, null)",
        [
            # S47 started 2026-10-20: 23 working days before the as-at date: overdue.
            ("C1", key("P00011"), D("2026-10-20"), None, D("2026-11-10"), False, None, "T2", "W5"),
            # started 2026-11-13: 5 working days: not yet due.
            ("C2", key("P00012"), D("2026-11-13"), None, D("2026-12-04"), False, None, "T2", "W5"),
            (
                "C3",
                key("P00013"),
                D("2026-09-01"),
                D("2026-09-15"),
                D("2026-09-22"),
                False,
                None,
                "T2",
                "W5",
            ),
            (
                "C4",
                key("P00014"),
                D("2026-09-01"),
                None,
                None,
                True,
                None,
                "T2",
                "W5",
            ),  # transfer-in
            (
                "C5",
                key("P00015"),
                D("2026-09-01"),
                None,
                None,
                False,
                "icpc_date invalid",
                "T2",
                "W5",
            ),
        ],
    )
    con.executemany(
        "insert into marts.fct_cp_visits_due values (?, ?, ?, ?, ?, ?, ?, null)",
        [
            ("CP1", key("P00021"), D("2026-05-01"), D("2026-10-30"), 15, "T2", "W6"),  # overdue
            ("CP2", key("P00022"), D("2026-05-01"), D("2026-11-18"), 2, "T2", "W6"),
            ("CP3", key("P00023"), D("2026-10-01"), None, 36, "T2", "W6"),  # never seen: overdue
        ],
    )
    con.executemany(
        "insert into marts.fct_caseloads values (?, ?, ?, ?, ?, null)",
        [
            (D(AS_AT), "W1", "T1", 1.0, 30),  # 30 per FTE: listed
            (D(AS_AT), "W2", "T1", 1.0, 20),
            (D(AS_AT), "W3", "T1", 0.5, 14),  # 28 per FTE: listed
            (D("2026-10-31"), "W2", "T1", 1.0, 40),  # another snapshot date: ignored
        ],
    )
    # The marts' flags (computed by dbt in the real warehouse; set by hand here): C1 is
    # past the ICPC timescale, C4 too but a transfer-in; CP1 and CP3 are overdue visits.
    con.execute(
        "update marts.fct_icpc set is_overdue_not_held = icpc_id in ('C1', 'C4'), "
        "s47_enquiry_id = 'S' || icpc_id"
    )
    con.execute("update marts.fct_cp_visits_due set is_visit_overdue = cp_plan_id <> 'CP2'")
    con.execute("update marts.fct_caseloads set caseload_per_fte = children_allocated / fte")
    con.execute("""
        create table dq.dq_issues (issue_id varchar, rule_id varchar, severity varchar,
            table_name varchar, record_id varchar, person_id varchar, team_id varchar,
            worker_id varchar, description varchar, first_seen date, last_seen date,
            resolved_on date, la_code varchar)""")
    con.executemany(
        "insert into dq.dq_issues values (?, ?, 'warning', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                "I1",
                "date_order",
                "ssd_cin_assessments",
                "A7",
                "P00007",
                "T1",
                "W1",
                "end 2026-01-01 before start",
                D(AS_AT),
                D(AS_AT),
                None,
                LA,
            ),
            (
                "I2",
                "code_invalid",
                "ssd_cin_episodes",
                "R8",
                "P00008",
                "T1",
                "W2",
                "bad code",
                D("2026-11-02"),
                D(AS_AT),
                None,
                LA,
            ),
            (
                "I3",
                "code_invalid",
                "ssd_cin_episodes",
                "R9",
                "P00009",
                "T1",
                "W2",
                "bad code",
                D("2026-10-02"),
                D("2026-11-01"),
                D("2026-11-02"),
                LA,
            ),  # resolved
            (
                "I4",
                "8670Q",
                "ssd_cin_assessments",
                "A1",
                "P00001",
                "T1",
                "W1",
                "Assessment A1 has been open more than 45 working days",
                D("2026-10-06"),
                D(AS_AT),
                None,
                LA,
            ),  # the same fact as the overdue assessment A1: shown once, with A1
        ],
    )
    con.close()
    return path


def write_routing(path: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "la_code": LA,
                "service_areas": {
                    "AS": {
                        "name": "Assessment",
                        "head_of_service": {
                            "name": "Head AS",
                            "email": "hos.as@northbridge.example",
                            "frequency": "weekly",
                            "day": "friday",
                        },
                    },
                    "SG": {
                        "name": "Safeguarding",
                        "head_of_service": {
                            "name": "Head SG",
                            "email": "hos.sg@northbridge.example",
                        },
                    },
                },
                "teams": {
                    "T1": {
                        "name": "Assessment Team 1",
                        "service_area": "AS",
                        "manager": {"name": "Manager One", "email": "tm1@northbridge.example"},
                    },
                    "T2": {
                        "name": "Safeguarding Team 1",
                        "manager": {"name": "Manager Two", "email": "tm2@northbridge.example"},
                    },
                    "T4": {
                        "name": "Quiet Team",
                        "service_area": "AS",
                        "manager": {"name": "Manager Four", "email": "tm4@northbridge.example"},
                    },
                },
            }
        ),
        encoding="utf-8",
    )
    return path


# --- SMTP ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: keeps every message it accepts."""

    def __init__(self):
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(
            {"from": envelope.mail_from, "rcpt": sorted(envelope.rcpt_tos), "msg": msg}
        )
        return "250 Message accepted"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["rcpt"]]


class SmtpServer:
    def __init__(self, port: int):
        self.port, self.mailbox, self.controller = port, Mailbox(), None

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def smtp_conn(port: int) -> str:
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {
                "disable_ssl": True,
                "disable_tls": True,
                "from_email": "csc-pipeline@northbridge.example",
                "timeout": 5,
                "retry_limit": 0,
            },
        }
    )


@pytest.fixture()
def env(tmp_path, monkeypatch):
    """Settings for one test: private var dir, routing file, engineers' address."""
    var = tmp_path / "var"
    monkeypatch.setenv("CSC_VAR_DIR", str(var))
    monkeypatch.setenv("CSC_ROUTING_FILE", str(write_routing(tmp_path / "routing.yml")))
    monkeypatch.setenv("CSC_ALERT_DEFAULT_TO", DEFAULT_TO)
    monkeypatch.setenv("CSC_ENGINEERS_EMAIL", ENGINEERS)
    for name in (
        "AIRFLOW_CONN_SMTP_DEFAULT",
        "CSC_SMTP_CONN_ID",
        "CSC_ALERT_SEND_EMPTY",
        "CSC_CASELOAD_ALERT_THRESHOLD",
        "CSC_ALERT_LOG",
        "CSC_ALERT_FROM",
    ):
        monkeypatch.delenv(name, raising=False)
    warehouse = build_warehouse(tmp_path / "csc.duckdb")
    ref = {
        "la_code": LA,
        "export_date": AS_AT,
        "path": str(tmp_path / "exports" / LA / AS_AT),
        "warehouse": str(warehouse),
    }
    return {"var": var, "ref": ref, "tmp": tmp_path}


@pytest.fixture()
def smtp(env, monkeypatch):
    server = SmtpServer(free_port())
    server.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn(server.port))
    yield server
    server.stop()


def attachment_rows(msg) -> list[dict]:
    import csv
    import io

    parts = [p for p in msg.iter_attachments() if p.get_filename().endswith(".csv")]
    assert len(parts) == 1
    return list(csv.DictReader(io.StringIO(text_of(parts[0]))))


def text_of(part) -> str:
    content = part.get_content()
    return content.decode("utf-8") if isinstance(content, bytes) else content


def html_body(msg) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


# --- tests -----------------------------------------------------------------------------


def test_one_digest_per_team_to_its_manager_with_the_right_counts(env, smtp):
    result = send_night_alerts(env["ref"])

    assert set(result["teams"]) == {"T1", "T2", "T3"}  # T4 has nothing to report
    # the AS head of service (weekly on Friday: tonight) gets the area's roll-up; the SG
    # head (weekly on Monday, the default) does not, and neither is copied in
    assert set(result["areas"]) == {"area:AS"}
    assert result["delivered"] == {"sent": 4, "outbox": 0, "failed": 0}
    assert result["unrouted_teams"] == ["T3"]
    box = smtp.mailbox
    assert len(box.messages) == 4

    (t1,) = box.to("tm1@northbridge.example")
    assert t1["rcpt"] == ["tm1@northbridge.example"] and t1["msg"]["Cc"] is None
    assert t1["from"] == "csc-pipeline@northbridge.example"
    assert result["teams"]["T1"]["counts"] == {
        "dq_issue": 3,  # I1, I2 and I4 (I4 is the overdue assessment A1: shown with A1)
        "assessment_overdue": 2,
        "assessment_due_soon": 1,
        "icpc_overdue": 0,
        "cp_visit_overdue": 0,
        "caseload": 2,
        "dq_issue_new": 1,
        "dq_issue_merged": 1,
    }
    rows = attachment_rows(t1["msg"])
    # each record once: A1 is not listed again as a data-quality issue
    assert sorted((r["section"], r["record_id"], r["person_id"]) for r in rows) == sorted(
        [
            ("dq_issue", "A7", "P00007"),
            ("dq_issue", "R8", "P00008"),
            ("assessment_overdue", "A1", "P00001"),
            ("assessment_overdue", "A2", "P00002"),
            ("assessment_due_soon", "A3", "P00003"),
            ("caseload", "W1", ""),
            ("caseload", "W3", ""),
        ]
    )
    by_id = {r["record_id"]: r for r in rows}
    assert by_id["A1"]["also_data_quality_issue"].startswith("8670Q: Assessment A1")
    assert by_id["A2"]["also_data_quality_issue"] == ""
    # every record carries its worker's name beside the id
    assert {r["record_id"]: r["worker_name"] for r in rows} == {
        "A7": "Ada Xylo",
        "R8": "Bram Zyzzyx",
        "A1": "Ada Xylo",
        "A2": "Ada Xylo",
        "A3": "Bram Zyzzyx",
        "W1": "Ada Xylo",
        "W3": "Cass Vexley",
    }
    assert [r["new"] for r in rows if r["section"] == "dq_issue"].count("Y") == 1
    body = html_body(t1["msg"])
    # counts first, then the records; each record id once in the body
    assert body.index("Assessments overdue") < body.index("P00001")
    assert body.count(">A1<") == 1 and "Also a data-quality issue" in body
    assert "Ada Xylo (W1)" in body
    assert "Dear Manager One" in body
    assert "dashboard" not in body.lower()  # no CSC_DASHBOARD_URL: no link

    # T2: ICPC and CP visits from the marts' flags (C4 is a transfer-in, C5 has a DQ issue)
    (t2,) = box.to("tm2@northbridge.example")
    assert t2["rcpt"] == ["tm2@northbridge.example"]
    rows = attachment_rows(t2["msg"])
    assert {(r["section"], r["record_id"], r["person_id"], r["worker_name"]) for r in rows} == {
        ("icpc_overdue", "C1", "P00011", "Dora Jaxby"),
        ("cp_visit_overdue", "CP1", "P00021", "Ezra Kwyle"),
        ("cp_visit_overdue", "CP3", "P00023", "Ezra Kwyle"),
    }

    # T3 is not in the routing file: default address, reported as unrouted
    (t3,) = box.to(DEFAULT_TO)
    assert t3["rcpt"] == [DEFAULT_TO]
    assert [r["record_id"] for r in attachment_rows(t3["msg"])] == ["A5"]

    # the head of the Assessment service area: one roll-up, T1 and the quiet T4
    (hos,) = box.to("hos.as@northbridge.example")
    assert hos["rcpt"] == ["hos.as@northbridge.example"]
    assert hos["msg"]["Subject"].startswith("CSC weekly summary: Assessment service area")
    area_rows = attachment_rows(hos["msg"])
    assert sorted(r["record_id"] for r in area_rows) == ["A1", "A2", "A3", "A7", "R8", "W1", "W3"]
    assert {r["team_id"] for r in area_rows} == {"T1"}
    body = html_body(hos["msg"])
    assert "Assessment Team 1 (T1)" in body and "Quiet Team (T4)" in body
    assert not box.to("hos.sg@northbridge.example")

    with alert_log.AlertLog(alert_settings().alert_log_path) as book:
        logged = {r["team_id"]: r for r in book.rows(LA, AS_AT)}
    assert {t: r["status"] for t, r in logged.items()} == {
        "T1": "sent",
        "T2": "sent",
        "T3": "sent",
        "area:AS": "sent",
    }
    assert logged["T3"]["routed"] == 0
    assert logged["T1"]["alert_id"] == alert_log.alert_id(LA, AS_AT, "T1")
    assert logged["T1"]["record_count"] == 7


def test_dashboard_link_and_not_supplied_sections(env, smtp, monkeypatch):
    """With CSC_DASHBOARD_URL the digest links the team's page; a table the night did
    not supply makes its section 'not supplied', never 0."""
    monkeypatch.setenv("CSC_DASHBOARD_URL", "https://csc-dashboard.northbridge.example/")
    con = duckdb.connect(env["ref"]["warehouse"])
    con.execute("delete from meta.load_log where table_name = 'ssd_cp_visits'")
    con.close()
    result = send_night_alerts(env["ref"])
    assert result["teams"]["T2"]["counts"]["cp_visit_overdue"] == "not supplied"
    assert result["teams"]["T2"]["counts"]["icpc_overdue"] == 1
    (t2,) = smtp.mailbox.to("tm2@northbridge.example")
    body = html_body(t2["msg"])
    assert "https://csc-dashboard.northbridge.example/team?team=T2" in body
    assert "<i>not supplied</i>" in body and "Not supplied in this export" in body
    assert {r["section"] for r in attachment_rows(t2["msg"])} == {"icpc_overdue"}


def test_no_names_or_dates_of_birth_in_any_message(env, smtp):
    send_night_alerts(env["ref"])
    from csc_generator.names import FORENAMES, SURNAMES

    assert smtp.mailbox.messages
    for m in smtp.mailbox.messages:
        text = m["msg"].as_string() + "".join(text_of(p) for p in m["msg"].iter_attachments())
        text += html_body(m["msg"])
        for dob in PEOPLE.values():
            assert dob not in text
        for name in FORENAMES + SURNAMES:
            assert name not in text, name
        assert "pers_dob" not in text and "forename" not in text.lower()


def test_rerun_of_a_night_sends_nothing_new(env, smtp):
    first = send_night_alerts(env["ref"])
    assert first["delivered"]["sent"] == 4
    again = send_night_alerts(env["ref"])
    assert again["delivered"] == {"sent": 0, "outbox": 0, "failed": 0}
    assert {t: i["status"] for t, i in again["teams"].items()} == {
        "T1": "sent",
        "T2": "sent",
        "T3": "sent",
    }
    assert again["areas"]["area:AS"]["status"] == "sent"
    assert len(smtp.mailbox.messages) == 4


def test_smtp_outage_does_not_fail_and_alerts_arrive_on_the_next_run(env, monkeypatch, tmp_path):
    server = SmtpServer(free_port())  # nothing listening yet: the mail server is down
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn(server.port))
    down = send_night_alerts(env["ref"])
    assert down["delivered"] == {"sent": 0, "outbox": 0, "failed": 4}
    with alert_log.AlertLog(alert_settings().alert_log_path) as book:
        rows = book.rows(LA)
    assert {r["status"] for r in rows} == {"failed"}
    assert all(r["attempts"] == 1 and "Connection" in r["last_error"] for r in rows)

    # The next night (a Monday): its warehouse is published; the server is back. The SG
    # head of service (weekly on Monday) gets a roll-up; the AS head's week is done.
    next_night = "2026-11-23"
    warehouse = build_warehouse(tmp_path / "next.duckdb", export_date=next_night)
    server.start()
    try:
        up = send_night_alerts(
            {**env["ref"], "export_date": next_night, "warehouse": str(warehouse)}
        )
    finally:
        server.stop()
    assert up["retried_from_earlier_nights"] == 4
    assert set(up["areas"]) == {"area:SG"}
    assert up["delivered"]["sent"] == 8  # last night's four, then tonight's four
    subjects = [m["msg"]["Subject"] for m in server.mailbox.messages]
    assert sum(AS_AT in s for s in subjects) == 4 and sum(next_night in s for s in subjects) == 4
    with alert_log.AlertLog(alert_settings().alert_log_path) as book:
        assert {r["status"] for r in book.rows(LA)} == {"sent"}


def test_without_smtp_connection_digests_go_to_the_outbox(env):
    result = send_night_alerts(env["ref"])
    assert result["delivered"] == {"sent": 0, "outbox": 4, "failed": 0}
    folder = env["var"] / "outbox" / LA / AS_AT
    assert sorted(p.name for p in folder.glob("*.eml")) == [
        "T1.eml",
        "T2.eml",
        "T3.eml",
        "area_AS_area_weekly.eml",
    ]
    msg = email.message_from_bytes((folder / "T1.eml").read_bytes(), policy=email.policy.default)
    assert msg["To"] == "tm1@northbridge.example" and msg["Cc"] is None
    assert len(attachment_rows(msg)) == 7
    # a re-run writes nothing new
    (folder / "T1.eml").unlink()
    assert send_night_alerts(env["ref"])["delivered"]["outbox"] == 0
    assert not (folder / "T1.eml").exists()


def test_send_empty_and_caseload_threshold_settings(env, monkeypatch):
    monkeypatch.setenv("CSC_ALERT_SEND_EMPTY", "true")
    monkeypatch.setenv("CSC_CASELOAD_ALERT_THRESHOLD", "29")
    result = send_night_alerts(env["ref"])
    assert "T4" in result["teams"] and result["teams"]["T4"]["to"] == ["tm4@northbridge.example"]
    assert result["teams"]["T1"]["counts"]["caseload"] == 1  # only W1 (30 per FTE)


def test_digest_skipped_when_the_published_night_is_another(env):
    result = send_night_alerts({**env["ref"], "export_date": "2026-11-19"})
    assert result["digests"] == 0


def test_missing_model_is_reported_not_fatal(env):
    con = duckdb.connect(env["ref"]["warehouse"])
    con.execute("drop table marts.fct_cp_visits_due")
    con.close()
    result = send_night_alerts(env["ref"])
    assert list(result["unavailable_sections"]) == ["child protection visits"]
    assert result["teams"]["T2"]["counts"]["icpc_overdue"] == 1


def test_routing_file_validation(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("la_code: '999'\nteams:\n  T1:\n    manager: {name: X, email: not-an-address}\n")
    with pytest.raises(Exception, match="not an email address"):
        routing.load_routing(bad, LA, None, ENGINEERS)
    other = write_routing(tmp_path / "r.yml")
    with pytest.raises(Exception, match="is for council 999, not 998"):
        routing.load_routing(other, "998", None, ENGINEERS)
    # no routing file for a real council: everything to the default address
    assert routing.load_routing(None, "998", None, ENGINEERS).route("T1").to == (ENGINEERS,)


def test_sample_routing_file_routes_every_generated_team(small_sample):
    """config/routing.example.yml covers every team of a generated Northbridge night,
    each to a manager, and every service area has a head of service for its roll-up."""
    import csv

    book = routing.load_routing(SAMPLE_ROUTING_FILE, LA, None, ENGINEERS)
    assert (
        alert_settings().routing_path(LA) == SAMPLE_ROUTING_FILE
        or "CSC_ROUTING_FILE" in __import__("os").environ
    )
    night = sorted((small_sample / LA).iterdir())[-1]
    with (night / "ssd_department.csv").open(encoding="utf-8-sig") as fh:
        departments = list(csv.DictReader(fh))
    assert departments
    for dept in departments:
        route = book.route(dept["dept_team_id"], dept["dept_team_parent_id"])
        assert route.routed, dept
        assert route.to[0].endswith("@northbridge.example")
        area = book.area_of(dept["dept_team_id"], dept["dept_team_parent_id"])
        assert any(h.area_id == area and h.to[0].startswith("head.") for h in book.heads()), dept


# --- engineers ----------------------------------------------------------------------


def test_failing_task_emails_the_engineers(env, smtp, airflow_db, monkeypatch):
    """The real DAG, run by Airflow: a night with a bad manifest is quarantined at
    `land` (a final failure) and the DAG's default on_failure_callback emails the
    engineers through the SMTP connection."""
    from airflow.dag_processing.dagbag import DagBag

    night = env["tmp"] / "exports" / LA / AS_AT
    night.mkdir(parents=True)
    (night / "manifest.json").write_text(
        json.dumps({"contract_version": "0", "la_code": LA, "export_date": AS_AT, "files": {}})
    )
    monkeypatch.setenv("CSC_EXPORTS_ROOT", str(env["tmp"] / "exports"))
    monkeypatch.setenv("CSC_WAREHOUSE", str(env["tmp"] / "wh" / "csc.duckdb"))

    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("csc_nightly")
    run = dag.test(run_conf={"export_date": None, "wait": False})
    assert str(run.state) == "failed"
    (notice,) = smtp.mailbox.to(ENGINEERS)
    assert notice["msg"]["Subject"].startswith(
        "[CSC pipeline] FAILED: csc_nightly.council_night.land[0]"
    )
    body = html_body(notice["msg"])
    assert "quarantined at landing" in body and "contract_version" in body
    assert not smtp.mailbox.to("tm1@northbridge.example")  # no digest for an unpublished night


def test_engineers_notice_goes_to_the_outbox_without_smtp(env):
    where = engineers.notify_engineers("[CSC pipeline] test notice", "<p>hello</p>")
    path = Path(where)
    assert path.parent == env["var"] / "outbox" / "engineers" and path.suffix == ".eml"
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"] == ENGINEERS and msg["Subject"] == "[CSC pipeline] test notice"


def test_engineers_notice_survives_an_smtp_outage(env, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_conn(free_port()))
    where = engineers.notify_engineers("[CSC pipeline] outage notice", "<p>hello</p>")
    body = Path(where).read_text()
    assert "Not emailed" in body


def test_publish_deadline_check(env, smtp, monkeypatch):
    """check_publish_deadline: the night of 2026-11-20 was published at 05:10 UTC on
    21 Nov by the 02:30 (London) scheduled run."""
    utc = dt.UTC
    run_after = dt.datetime(2026, 11, 21, 2, 30, tzinfo=utc)  # GMT in November
    started = run_after + timedelta(seconds=5)
    warehouse = env["ref"]["warehouse"]

    def check(deadline: str, now=None, run=run_after, since=started):
        monkeypatch.setenv("CSC_PUBLISH_DEADLINE", deadline)
        return engineers.check_publish_deadline(LA, run, since, now=now, warehouse=warehouse)

    on_time = check("07:00")
    assert on_time["status"] == "on_time" and on_time["published_night"] == AS_AT
    assert on_time["deadline"] == "2026-11-21T07:00:00+00:00" and on_time["notice"] is None
    assert not smtp.mailbox.messages

    late = check("05:00")
    assert late["status"] == "late" and late["notice"] == "sent"
    (notice,) = smtp.mailbox.to(ENGINEERS)
    assert notice["msg"]["Subject"] == (
        f"[CSC pipeline] Council {LA}: night {AS_AT} published after the 05:00 deadline"
    )

    # A later run published nothing (no export arrived): alert only once the deadline passed.
    next_run = run_after + timedelta(days=1)
    kw = {"run": next_run, "since": next_run}
    assert check("07:00", now=next_run + timedelta(hours=1), **kw)["status"] == "not_yet_due"
    missed = check("07:00", now=next_run + timedelta(hours=8), **kw)
    assert missed["status"] == "not_published" and len(smtp.mailbox.to(ENGINEERS)) == 2
    assert "marts not published by 07:00" in smtp.mailbox.to(ENGINEERS)[-1]["msg"]["Subject"]

    # British Summer Time: the 02:30 London run is 01:30 UTC; 07:00 BST is 06:00 UTC.
    summer = engineers.deadline_for(
        dt.datetime(2026, 7, 1, 1, 30, tzinfo=utc), "07:00", "Europe/London"
    )
    assert summer.astimezone(utc) == dt.datetime(2026, 7, 1, 6, 0, tzinfo=utc)
    # a manual run in the afternoon has until the next morning
    assert engineers.deadline_for(
        dt.datetime(2026, 7, 1, 14, 0, tzinfo=utc), "07:00", "Europe/London"
    ).date() == D("2026-07-02")
    monkeypatch.setenv("CSC_PUBLISH_DEADLINE", "off")
    assert check("off")["status"] == "disabled"


def test_optional_airflow_deadline_alert(env, smtp, monkeypatch):
    """CSC_PUBLISH_DEADLINE_ALERT=true adds an Airflow DeadlineAlert (scheduler only)."""
    assert engineers.deadline_interval("30 2 * * *", "07:00") == timedelta(hours=4, minutes=30)
    assert engineers.deadline_interval("30 2 * * *", "01:00") == timedelta(hours=22, minutes=30)
    monkeypatch.delenv("CSC_PUBLISH_DEADLINE_ALERT", raising=False)
    assert engineers.publish_deadline("30 2 * * *") == []  # off by default (breaks dag.test)
    monkeypatch.setenv("CSC_PUBLISH_DEADLINE_ALERT", "true")
    monkeypatch.setenv("CSC_PUBLISH_DEADLINE", "06:45")
    (alert,) = engineers.publish_deadline("30 2 * * *")
    assert alert.interval == timedelta(hours=4, minutes=15)
    assert alert.reference.reference_name == "DagRunQueuedAtDeadline"
    assert alert.callback.path == "csc_pipeline.alerts.engineers.publish_deadline_missed"
    assert alert.callback.kwargs == {"deadline": "06:45"}

    # What the scheduler passes to the callback when the deadline is missed.
    context = {
        "dag_run": {
            "dag_id": "csc_nightly",
            "dag_run_id": "scheduled__2026-11-21T02:30:00+00:00",
            "state": "running",
            "queued_at": "2026-11-21T02:30:05Z",
        },
        "deadline": {"id": "x", "deadline_time": "2026-11-21T06:45:05Z"},
    }
    assert engineers.publish_deadline_missed(context=context, **alert.callback.kwargs) == "sent"
    (notice,) = smtp.mailbox.to(ENGINEERS)
    assert "Marts not published by 06:45" in notice["msg"]["Subject"]
    assert "scheduled__2026-11-21T02:30:00+00:00" in html_body(notice["msg"])


def test_dag_wires_alerts_failure_callback_and_deadline_check(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("csc_nightly")
    alerts = dag.get_task("council_night.alerts")
    assert alerts.upstream_task_ids == {"council_night.publish"}
    assert alerts.retries >= 1 and alerts.pool != "csc_warehouse"
    assert [cb.__name__ for cb in alerts.on_failure_callback] == ["notify_engineers"]
    check = dag.get_task("council_night.check_publish_deadline")
    assert check.upstream_task_ids == {"council_night.publish", "list_councils"}
    assert str(check.trigger_rule) in ("all_done", "TriggerRule.ALL_DONE")
    assert not dag.deadline  # the Airflow deadline alert is opt-in (see engineers.publish_deadline)


def test_opt_in_deadline_alert_is_on_the_dag(airflow_db, monkeypatch):
    import runpy

    monkeypatch.setenv("CSC_PUBLISH_DEADLINE_ALERT", "true")
    dag = runpy.run_path(str(REPO / "dags" / "csc_nightly.py"))["csc_nightly"]()
    (alert,) = dag.deadline
    assert alert.interval == timedelta(hours=4, minutes=30)


# --- frequency: weekly and monthly summaries ------------------------------------------


def test_due_periods_weekly_and_monthly():
    from csc_pipeline.alerts.routing import Frequency
    from csc_pipeline.alerts.schedule import due_period

    friday, monday, first = Frequency("weekly", 4), Frequency("weekly", 0), Frequency("monthly", 1)
    p = due_period(friday, "2026-11-20", ["2026-11-19"])
    assert (p.key, p.start, p.end, p.label) == (
        "2026-11-20",
        D("2026-11-13"),
        D("2026-11-20"),
        "2026-11-14 to 2026-11-20",
    )
    assert due_period(friday, "2026-11-23", ["2026-11-20"]) is None  # sent on Friday
    # no export on the Friday: the summary goes out on the next night, same period
    assert due_period(friday, "2026-11-23", ["2026-11-19"]).key == "2026-11-20"
    # a pipeline started mid-week waits for its first scheduled day
    assert due_period(monday, "2026-11-20", []) is None
    assert due_period(monday, "2026-11-23", []).key == "2026-11-23"
    m = due_period(first, "2026-12-01", ["2026-11-30"])
    assert (m.key, m.start, m.every) == ("2026-12-01", D("2026-11-01"), "monthly")
    assert due_period(first, "2026-12-02", ["2026-12-01"]) is None
    assert due_period(first, "2026-11-20", ["2026-11-19"]) is None
    assert due_period(Frequency(), "2026-11-20", []).every == "nightly"


def test_routing_frequency_validation(tmp_path):
    from csc_pipeline.alerts.routing import Frequency

    bad = tmp_path / "bad.yml"
    bad.write_text(
        "la_code: '999'\nteams:\n  T1:\n    manager: {name: X, email: x@n.example, "
        "frequency: fortnightly}\n"
    )
    with pytest.raises(Exception, match="fortnightly.*not one of nightly, weekly, monthly"):
        routing.load_routing(bad, LA, None, ENGINEERS)
    bad.write_text(
        "la_code: '999'\nteams:\n  T1:\n    manager: {name: X, email: x@n.example, "
        "frequency: monthly, day: 31}\n"
    )
    with pytest.raises(Exception, match="day of the month from 1 to 28"):
        routing.load_routing(bad, LA, None, ENGINEERS)
    good = tmp_path / "good.yml"
    good.write_text(
        "la_code: '999'\nteams:\n  T1:\n    manager: {name: X, email: x@n.example, "
        "frequency: weekly thursday}\n"
    )
    assert routing.load_routing(good, LA, None, ENGINEERS).route("T1").frequency == Frequency(
        "weekly", 3
    )


def test_weekly_summary_says_what_was_new_fixed_and_still_open(env, smtp, monkeypatch, tmp_path):
    """T1's manager is weekly on Friday. Thursday's night: no T1 message (not the day),
    but the night's records are kept. Friday's night: A2 was authorised (fixed), A8
    became overdue (new): the summary lists each record once."""
    data = yaml.safe_load(Path(env["tmp"] / "routing.yml").read_text())
    data["teams"]["T1"]["manager"].update({"frequency": "weekly", "day": "friday"})
    (env["tmp"] / "routing.yml").write_text(yaml.safe_dump(data))

    thursday = build_warehouse(tmp_path / "thu.duckdb", export_date="2026-11-19")
    first = send_night_alerts(
        {**env["ref"], "export_date": "2026-11-19", "warehouse": str(thursday)}
    )
    assert "T1" not in first["teams"] and "T2" in first["teams"]

    friday = build_warehouse(tmp_path / "fri.duckdb")
    con = duckdb.connect(str(friday))
    con.execute("delete from marts.fct_assessments where assessment_id = 'A2'")
    con.execute(
        "insert into marts.fct_assessments values ('A8', ?, '2026-09-10', '2026-11-12', true, "
        "true, false, 50, 'T1', 'W2')",
        [key("P00008")],
    )
    con.close()
    result = send_night_alerts({**env["ref"], "warehouse": str(friday)})
    info = result["teams"]["T1"]
    assert info["kind"] == "team_weekly" and info["frequency"] == "weekly on Friday"
    (msg,) = smtp.mailbox.to("tm1@northbridge.example")
    assert msg["msg"]["Subject"].startswith(
        "CSC weekly summary: Assessment Team 1 (T1), council 999, 2026-11-14 to 2026-11-20"
    )
    rows = attachment_rows(msg["msg"])
    keys = [(r["status"], r["section"], r["record_id"]) for r in rows]
    assert len(keys) == len(set(keys))  # each record once
    assert ("fixed", "assessment_overdue", "A2") in keys
    assert ("open", "assessment_overdue", "A8") in keys
    new = {r["record_id"] for r in rows if r["new"] == "Y"}
    # A8 became overdue, A7's issue was first seen on Friday, and the fixture's caseload
    # snapshot is Friday's; everything else was already open on Thursday
    assert new == {"A8", "A7", "W1", "W3"}
    assert {r["record_id"]: r["worker_name"] for r in rows}["A8"] == "Bram Zyzzyx"
    body = html_body(msg["msg"])
    assert "Fixed or closed this week: 1" in body and "new this week" in body
    # the overdue row of the counts table: open 2 (A1, A8), new 1, fixed 1
    assert re.search(
        r"Assessments overdue[^<]*</td><td[^>]*><b>2</b></td><td[^>]*><b>1</b></td>"
        r"<td[^>]*><b>1</b></td>",
        body,
    )

    # a re-run of Friday, and Monday's night, send T1 nothing more
    again = send_night_alerts({**env["ref"], "warehouse": str(friday)})
    assert again["teams"]["T1"]["status"] == "sent" and again["delivered"]["sent"] == 0
    monday = build_warehouse(tmp_path / "mon.duckdb", export_date="2026-11-23")
    later = send_night_alerts({**env["ref"], "export_date": "2026-11-23", "warehouse": str(monday)})
    assert "T1" not in later["teams"]
    assert len(smtp.mailbox.to("tm1@northbridge.example")) == 1
