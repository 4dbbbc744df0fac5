"""alert_log: every digest the pipeline owes, and whether it was delivered.

Lives in its own small SQLite file (CSC_ALERT_LOG, default var/alerts/alert_log.sqlite),
NOT in a council's warehouse: the warehouse file is replaced wholesale at every publish
(workspace.py), so a log kept there would be rolled back by the next night's swap, and
a failed night must leave the warehouse untouched anyway. SQLite takes concurrent
writers from the councils' parallel alert tasks (DuckDB allows one writer process per
file), needs nothing beyond the standard library, and any BI tool can read it.

alert_id is a stable hash of (la_code, export_date, team_id, kind): re-running a night
finds the row already 'sent' (or 'outbox') and sends nothing; a 'pending' or 'failed'
row is retried by the council's next run until delivered (or max attempts). Delivery is
at least once: a crash between the mail server accepting a message and the row being
marked would resend it (the stable Message-ID lets mail systems spot the duplicate).

It also keeps what each night's digests held (digest_night, digest_record: one row per
team and record, every team, whatever its recipients' frequency), so a weekly or
monthly summary can say what was new, fixed and still open in its period without the
warehouse keeping history of work lists.

Statuses: pending (queued, not yet tried) | failed (last try failed; retried later) |
sent (accepted by the SMTP server) | outbox (no SMTP connection: written as .eml).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from csc_pipeline.alerts.delivery import Message

KIND_TEAM_DIGEST = "team_digest"
STATUSES = ("pending", "failed", "sent", "outbox")
DELIVERED = ("sent", "outbox")

DDL = """
create table if not exists alert_log (
    alert_id     text primary key,
    la_code      text not null,
    export_date  text not null,          -- YYYY-MM-DD: the night (as-at date)
    team_id      text not null,
    kind         text not null,
    team_name    text,
    recipients   text,                   -- to and cc, comma separated
    subject      text,
    status       text not null check (status in ('pending', 'failed', 'sent', 'outbox')),
    attempts     integer not null default 0,
    record_count integer,
    counts_json  text,
    routed       integer not null default 1,  -- 0: team not in the routing file (default address)
    created_at   text not null,          -- UTC ISO timestamps
    sent_at      text,
    last_error   text
);
create index if not exists alert_log_due on alert_log (la_code, status);
create table if not exists alert_payload (   -- what to (re)send; kept with the log
    alert_id        text primary key references alert_log (alert_id),
    to_json         text not null,
    cc_json         text not null,
    html            text not null,
    attachment_name text,
    attachment      text
);
create table if not exists digest_night (    -- nights whose records are kept below
    la_code     text not null,
    export_date text not null,
    saved_at    text not null,
    primary key (la_code, export_date)
);
create table if not exists digest_record (
    la_code     text not null,
    export_date text not null,
    team_id     text not null,
    record_key  text not null,               -- section:record type:record id
    section     text not null,
    record_json text not null,               -- the record as shown (ids, never names of children)
    primary key (la_code, export_date, team_id, record_key)
);
"""

# Kept about 13 months: enough for a monthly summary, small enough to forget.
KEEP_NIGHTS_DAYS = 400


def alert_id(la_code: str, export_date: str, team_id: str, kind: str = KIND_TEAM_DIGEST) -> str:
    key = "\x1f".join((la_code, export_date, team_id, kind))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class AlertLog:
    """The log file; use as a context manager (one short-lived connection)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __enter__(self) -> AlertLog:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.con.row_factory = sqlite3.Row
        self.con.execute("pragma journal_mode=wal")
        self.con.execute("pragma busy_timeout=60000")
        self.con.executescript(DDL)
        return self

    def __exit__(self, *exc) -> None:
        self.con.close()

    def record(
        self,
        *,
        la_code: str,
        export_date: str,
        team_id: str,
        team_name: str | None,
        message: Message,
        counts: dict,
        routed: bool,
        kind: str = KIND_TEAM_DIGEST,
    ) -> str:
        """Queue a message (idempotent); returns the row's status.

        A new alert is 'pending'. An alert already delivered is left alone (never sent
        twice); one not yet delivered gets tonight's content and recipients.
        """
        recipients = ", ".join(message.to + message.cc)
        record_count = message.record_count
        payload = (
            json.dumps(list(message.to)),
            json.dumps(list(message.cc)),
            message.html,
            message.attachment_name,
            message.attachment,
        )
        with self.con:
            self.con.execute("begin immediate")
            row = self.con.execute(
                "select status from alert_log where alert_id = ?", [message.alert_id]
            ).fetchone()
            if row is not None and row["status"] in DELIVERED:
                return row["status"]
            if row is None:
                self.con.execute(
                    "insert into alert_log (alert_id, la_code, export_date, team_id, kind, team_name, "
                    "recipients, subject, status, attempts, record_count, counts_json, routed, created_at) "
                    "values (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
                    [
                        message.alert_id,
                        la_code,
                        export_date,
                        team_id,
                        kind,
                        team_name,
                        recipients,
                        message.subject,
                        record_count,
                        json.dumps(counts),
                        int(routed),
                        _now(),
                    ],
                )
                self.con.execute(
                    "insert into alert_payload values (?, ?, ?, ?, ?, ?)",
                    [message.alert_id, *payload],
                )
                return "pending"
            self.con.execute(
                "update alert_log set team_name = ?, recipients = ?, subject = ?, record_count = ?, "
                "counts_json = ?, routed = ? where alert_id = ?",
                [
                    team_name,
                    recipients,
                    message.subject,
                    record_count,
                    json.dumps(counts),
                    int(routed),
                    message.alert_id,
                ],
            )
            self.con.execute(
                "update alert_payload set to_json = ?, cc_json = ?, html = ?, attachment_name = ?, "
                "attachment = ? where alert_id = ?",
                [*payload, message.alert_id],
            )
            return row["status"]

    def save_night(self, la_code: str, export_date: str, teams: dict[str, list[dict]]) -> None:
        """Replace what the night's digests hold (a re-run of the night overwrites it)."""
        with self.con:
            self.con.execute("begin immediate")
            self.con.execute(
                "delete from digest_record where la_code = ? and export_date = ?",
                [la_code, export_date],
            )
            self.con.executemany(
                "insert or replace into digest_record values (?, ?, ?, ?, ?, ?)",
                [
                    (
                        la_code,
                        export_date,
                        team_id,
                        r["key"],
                        r["section"],
                        json.dumps(r, default=str),
                    )
                    for team_id, records in teams.items()
                    for r in records
                ],
            )
            self.con.execute(
                "insert or replace into digest_night values (?, ?, ?)",
                [la_code, export_date, _now()],
            )
            self.con.execute(
                "delete from digest_record where la_code = ? and export_date < date(?, ?)",
                [la_code, export_date, f"-{KEEP_NIGHTS_DAYS} days"],
            )
            self.con.execute(
                "delete from digest_night where la_code = ? and export_date < date(?, ?)",
                [la_code, export_date, f"-{KEEP_NIGHTS_DAYS} days"],
            )

    def nights(self, la_code: str) -> list[str]:
        """Nights whose records are kept, oldest first."""
        return [
            r[0]
            for r in self.con.execute(
                "select export_date from digest_night where la_code = ? order by export_date",
                [la_code],
            )
        ]

    def night_records(self, la_code: str, export_date: str) -> dict[str, dict[str, dict]]:
        """team_id -> record_key -> record, for one kept night."""
        out: dict[str, dict[str, dict]] = {}
        for team_id, key, record_json in self.con.execute(
            "select team_id, record_key, record_json from digest_record "
            "where la_code = ? and export_date = ?",
            [la_code, export_date],
        ):
            out.setdefault(team_id, {})[key] = json.loads(record_json)
        return out

    def due(self, la_code: str, max_attempts: int) -> list[tuple[sqlite3.Row, Message]]:
        """Undelivered alerts of a council (oldest night first), with what to send."""
        rows = self.con.execute(
            "select l.*, p.to_json, p.cc_json, p.html, p.attachment_name, p.attachment "
            "from alert_log l join alert_payload p using (alert_id) "
            "where l.la_code = ? and l.status in ('pending', 'failed') and l.attempts < ? "
            "order by l.export_date, l.team_id",
            [la_code, max_attempts],
        ).fetchall()
        return [
            (
                r,
                Message(
                    r["alert_id"],
                    tuple(json.loads(r["to_json"])),
                    tuple(json.loads(r["cc_json"])),
                    r["subject"],
                    r["html"],
                    r["attachment_name"],
                    r["attachment"],
                ),
            )
            for r in rows
        ]

    def mark(self, alert_id_: str, status: str, error: str | None = None) -> None:
        """Record one delivery attempt."""
        if status not in STATUSES:
            raise ValueError(f"unknown alert status {status!r}")
        self.con.execute(
            "update alert_log set status = ?, attempts = attempts + 1, last_error = ?, "
            "sent_at = case when ? in ('sent', 'outbox') then ? else sent_at end where alert_id = ?",
            [status, error, status, _now(), alert_id_],
        )

    def rows(self, la_code: str | None = None, export_date: str | None = None) -> list[dict]:
        sql, args = "select * from alert_log where 1 = 1", []
        if la_code:
            sql, args = sql + " and la_code = ?", [*args, la_code]
        if export_date:
            sql, args = sql + " and export_date = ?", [*args, export_date]
        return [dict(r) for r in self.con.execute(sql + " order by export_date, team_id", args)]
