"""send_night_alerts: the DAG's `alerts` step, run after a council's night is published.

1. Read the PUBLISHED warehouse read-only and collect the night's records per team.
2. Route each team with something to report (CSC_ALERT_SEND_EMPTY: every team) to its
   manager, copying the head of service; unrouted teams go to the default address.
3. Queue each digest in alert_log (a re-run of the night queues nothing new).
4. Deliver everything the council still owes (tonight's digests and any left over
   from an earlier outage) by SMTP, or to the outbox when no SMTP connection exists.

A mail outage never fails the step: undelivered digests stay 'failed' in alert_log and
are retried by the council's next run.
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
from pathlib import Path

from csc_pipeline.alerts import alert_log, delivery, digest, queries, render, routing, schedule
from csc_pipeline.alerts.settings import AlertSettings, alert_settings
from csc_pipeline.config import Settings

log = logging.getLogger(__name__)


def council_name(ref: dict) -> str:
    """'Northbridge (999)': the council's name from the night's manifest, if readable."""
    from csc_pipeline.nights import Night

    la_code = ref["la_code"]
    try:
        name = Night(la_code, ref["export_date"], Path(ref["path"])).manifest().get("la_name")
    except (KeyError, OSError, ValueError):
        name = None
    return f"{name} ({la_code})" if name else f"council {la_code}"


class _Kept:
    """The nights kept in alert_log, loaded on demand (for period summaries)."""

    def __init__(self, book: alert_log.AlertLog, la_code: str, nights: list[str]):
        self.book, self.la_code, self.nights = book, la_code, nights
        self._cache: dict[str, dict] = {}

    def for_period(self, period: schedule.Period) -> dict[str, dict]:
        start, end = period.start.isoformat(), period.end.isoformat()
        before = [n for n in self.nights if n <= start][-1:]
        wanted = before + [n for n in self.nights if start < n < end]
        for n in wanted:
            if n not in self._cache:
                self._cache[n] = self.book.night_records(self.la_code, n)
        return {n: self._cache[n] for n in wanted}


def _summary(kept: _Kept, period, team_id: str, team: digest.TeamDigest):
    if period.every == "nightly":
        return None
    return schedule.summarise(
        period, team_id, team.records, kept.for_period(period), list(queries.SECTIONS)
    )


def queue_digests(
    night: digest.NightRecords,
    route_book: routing.Routing,
    council: str,
    s: AlertSettings,
    book: alert_log.AlertLog,
) -> dict[str, dict]:
    """Keep tonight's records, then render and queue every message due tonight: team
    digests (nightly) or summaries (weekly/monthly) per the manager's frequency, and the
    heads of service's service-area roll-ups. Returns per-team counts and routing
    (service areas under the key "area:<id>")."""
    la_code, export_date = night.la_code, night.export_date
    kept = _Kept(book, la_code, [n for n in book.nights(la_code) if n != export_date])
    book.save_night(la_code, export_date, {t: d.records for t, d in night.teams.items()})
    teams: dict[str, dict] = {}
    for team_id in sorted(night.teams):
        team = night.teams[team_id]
        route = route_book.route(None if team_id == digest.NO_TEAM else team_id, team.service_area)
        if team.team_name is None and route.routed:
            team.team_name = route_book.teams[team_id].get("name")
        period = schedule.due_period(route.frequency, export_date, kept.nights)
        if period is None:
            continue
        summary = _summary(kept, period, team_id, team)
        empty = summary.is_empty if summary else team.is_empty
        if empty and not s.send_empty:
            continue
        kind = alert_log.KIND_TEAM_DIGEST if period.every == "nightly" else f"team_{period.every}"
        shown = summary.open if summary else team.records
        message = delivery.Message(
            alert_id=alert_log.alert_id(la_code, period.key, team_id, kind),
            to=route.to,
            cc=route.cc,
            subject=render.subject(council, team.label, export_date, len(shown), period),
            html=render.render_team(council, team, night, s, route.manager_name, summary),
            attachment_name=digest.csv_file_name(
                la_code, team_id, export_date, "" if period.every == "nightly" else period.every
            ),
            attachment=render.render_csv(shown, summary.fixed if summary else None),
            record_count=len(shown) + (len(summary.fixed) if summary else 0),
        )
        counts = team.counts()
        status = book.record(
            la_code=la_code,
            export_date=export_date,
            team_id=team_id,
            team_name=team.team_name,
            message=message,
            counts=counts,
            routed=route.routed,
            kind=kind,
        )
        teams[team_id] = {
            "alert_id": message.alert_id,
            "team_name": team.team_name,
            "to": list(route.to),
            "cc": list(route.cc),
            "routed": route.routed,
            "frequency": route.frequency.label,
            "kind": kind,
            "counts": counts,
            "status": status,
        }
        if not route.routed:
            log.warning(
                "Team %s of council %s is not in the routing file %s: its digest goes to %s",
                team_id,
                la_code,
                route_book.source,
                ", ".join(route.to),
            )
    for head in route_book.heads():
        period = schedule.due_period(head.frequency, export_date, kept.nights)
        if period is None:
            continue
        members = [
            (team_id, t)
            for team_id, t in sorted(night.teams.items())
            if team_id != digest.NO_TEAM
            and route_book.area_of(team_id, t.service_area) == head.area_id
        ]
        if not members:
            continue
        rows = [
            (t, route_book.route(team_id).manager_name, _summary(kept, period, team_id, t))
            for team_id, t in members
        ]
        records = [r for t, _m, _s in rows for r in t.records]
        if not records and not s.send_empty:
            continue
        kind = f"area_{period.every}"
        area_key = f"area:{head.area_id}"
        area_name = head.name or next(
            (t.service_area_name for _i, t in members if t.service_area_name), None
        )
        message = delivery.Message(
            alert_id=alert_log.alert_id(la_code, period.key, area_key, kind),
            to=head.to,
            cc=(),
            subject=render.subject(
                council,
                f"{area_name or head.area_id} service area",
                export_date,
                len(records),
                period,
            ),
            html=render.render_area(
                council, head.area_id, area_name, head.head_name, rows, night, s, period
            ),
            attachment_name=digest.csv_file_name(la_code, area_key, export_date, kind),
            attachment=render.render_csv(records, team_column=True),
            record_count=len(records),
        )
        counts = {team_id: t.counts() for team_id, t in members}
        status = book.record(
            la_code=la_code,
            export_date=export_date,
            team_id=area_key,
            team_name=area_name,
            message=message,
            counts={"teams": counts},
            routed=True,
            kind=kind,
        )
        teams[area_key] = {
            "alert_id": message.alert_id,
            "team_name": area_name,
            "to": list(head.to),
            "cc": [],
            "routed": True,
            "frequency": head.frequency.label,
            "kind": kind,
            "counts": {"records": len(records)},
            "status": status,
        }
    return teams


def deliver(la_code: str, s: AlertSettings, book: alert_log.AlertLog) -> dict[str, str]:
    """Deliver every undelivered alert of the council; returns alert_id -> new status."""
    due = book.due(la_code, s.max_attempts)
    if not due:
        return {}
    conn = delivery.smtp_connection(s.smtp_conn_id)
    from_email = delivery.from_address(s.from_email, conn)
    results: dict[str, str] = {}
    if conn is None:
        for row, message in due:
            path = outbox_path(s, row["la_code"], row["export_date"], row["team_id"], row["kind"])
            delivery.write_outbox(path, message, from_email)
            book.mark(message.alert_id, "outbox")
            results[message.alert_id] = "outbox"
        return results
    with delivery.SmtpSender(s.smtp_conn_id, from_email) as sender:
        for _row, message in due:
            try:
                sender.send(message)
            except Exception as exc:  # an outage must not fail the pipeline: retry next run
                error = f"{type(exc).__name__}: {exc}"[:500]
                book.mark(message.alert_id, "failed", error)
                results[message.alert_id] = "failed"
                log.warning(
                    "Could not send alert %s (%s): %s", message.alert_id, message.subject, error
                )
                if _server_unreachable(exc):
                    for _r, rest in due[len(results) :]:  # server unreachable: do not hammer it
                        book.mark(rest.alert_id, "failed", error)
                        results[rest.alert_id] = "failed"
                    break
                continue
            book.mark(message.alert_id, "sent")
            results[message.alert_id] = "sent"
    return results


def outbox_path(s: AlertSettings, la_code: str, export_date: str, team_id: str, kind: str) -> Path:
    """<outbox>/<la>/<night>/<team>.eml (nightly digest) or <team>_<kind>.eml."""
    suffix = "" if kind == alert_log.KIND_TEAM_DIGEST else f"_{kind}"
    return s.outbox_dir / la_code / export_date / f"{digest.safe_name(team_id)}{suffix}.eml"


def _server_unreachable(exc: BaseException) -> bool:
    """A connection-level failure (every further message would fail the same way), as
    opposed to one message being refused (e.g. a bad recipient address)."""
    return isinstance(
        exc,
        ConnectionError
        | TimeoutError
        | socket.gaierror
        | smtplib.SMTPServerDisconnected
        | smtplib.SMTPConnectError,
    )


def send_night_alerts(ref: dict, cfg: Settings | None = None) -> dict:
    """Send the night's team digests. Never raises because mail could not be delivered."""
    s = alert_settings(cfg)
    la_code, export_date = ref["la_code"], ref["export_date"]
    warehouse = Path(ref["warehouse"])
    route_book = routing.load_routing(
        s.routing_path(la_code), la_code, s.default_to, s.engineers_email
    )
    night = digest.collect(warehouse, la_code, export_date, s)
    with alert_log.AlertLog(s.alert_log_path) as book:
        teams: dict[str, dict] = {}
        if night.is_current:
            teams = queue_digests(night, route_book, council_name(ref), s, book)
        else:
            log.warning(
                "Council %s: the published warehouse holds night %s, not %s; no digests "
                "for %s (undelivered earlier alerts are still retried)",
                la_code,
                night.published_date,
                export_date,
                export_date,
            )
        results = deliver(la_code, s, book)
        tonight = {r["team_id"]: r for r in book.rows(la_code, export_date)}
    for team_id, info in teams.items():
        info["status"] = tonight.get(team_id, {}).get("status", info["status"])
    statuses = list(results.values())
    tonight_ids = {i["alert_id"] for i in teams.values()}
    areas = {t: i for t, i in teams.items() if t.startswith("area:")}
    teams = {t: i for t, i in teams.items() if t not in areas}
    summary = {
        "la_code": la_code,
        "export_date": export_date,
        "digests": len(teams) + len(areas),
        "teams": teams,
        "areas": areas,
        "unrouted_teams": sorted(t for t, i in teams.items() if not i["routed"]),
        "quiet_teams": sum(1 for t in night.teams.values() if t.is_empty),
        "unavailable_sections": night.unavailable,
        "delivered": {k: statuses.count(k) for k in ("sent", "outbox", "failed")},
        "retried_from_earlier_nights": sum(1 for a in results if a not in tonight_ids),
    }
    for line in summary_lines(summary):
        log.info(line)
    return summary


def counts_text(c: dict) -> str:
    """'dq 3 (1 new), overdue 2, due soon 1, icpc 0, cp visits 4, caseload 1'."""
    if "teams" in c:  # a service area's roll-up
        return f"service-area roll-up of {len(c['teams'])} team(s)"
    if "records" in c:
        return f"service-area roll-up, {c['records']} record(s)"
    return (
        f"dq {c['dq_issue']} ({c['dq_issue_new']} new), overdue {c['assessment_overdue']}, "
        f"due soon {c['assessment_due_soon']}, icpc {c['icpc_overdue']}, "
        f"cp visits {c['cp_visit_overdue']}, caseload {c['caseload']}"
    )


def summary_lines(summary: dict) -> list[str]:
    """Human-readable lines: how many items per team, where each digest went."""
    d = summary["delivered"]
    lines = [
        f"alerts {summary['la_code']} {summary['export_date']}: {summary['digests']} team digest(s) "
        f"(sent {d['sent']}, outbox {d['outbox']}, failed {d['failed']}); "
        f"{summary['quiet_teams']} team(s) with nothing to report"
    ]
    for team_id, info in {**summary["teams"], **summary.get("areas", {})}.items():
        c = info["counts"]
        lines.append(
            f"  {team_id:<8} {str(info['team_name'] or '')[:40]:<41}{counts_text(c)}"
            f" ({info['frequency']}) -> {', '.join(info['to'])} [{info['status']}]"
        )
    if summary["unrouted_teams"]:
        lines.append(
            "  UNROUTED teams (not in the routing file; sent to the default address): "
            + ", ".join(summary["unrouted_teams"])
        )
    if summary["unavailable_sections"]:
        lines.append(
            "  not checked (model missing): " + ", ".join(sorted(summary["unavailable_sections"]))
        )
    if summary["retried_from_earlier_nights"]:
        lines.append(
            f"  {summary['retried_from_earlier_nights']} alert(s) from earlier nights retried"
        )
    return lines


def council_alert_lines(la_code: str, cfg: Settings | None = None) -> list[str]:
    """For the run summary (`make run`): the council's latest night's digests from
    alert_log (items per team, where each went), unrouted teams, anything still
    undelivered, and engineers' notices waiting in the outbox."""
    s = alert_settings(cfg)
    lines: list[str] = []
    if s.alert_log_path.exists():
        with alert_log.AlertLog(s.alert_log_path) as book:
            rows = book.rows(la_code)
        if rows:
            latest = max(r["export_date"] for r in rows)
            tonight = [r for r in rows if r["export_date"] == latest]
            by_status = {
                st: sum(1 for r in tonight if r["status"] == st) for st in alert_log.STATUSES
            }
            lines.append(
                f"  alerts for {latest}: {len(tonight)} team digest(s) ("
                + ", ".join(f"{k} {v}" for k, v in by_status.items() if v)
                + ")"
            )
            for r in tonight:
                where = (
                    outbox_path(s, la_code, latest, r["team_id"], r["kind"])
                    if r["status"] == "outbox"
                    else r["recipients"]
                )
                lines.append(
                    f"    {r['team_id']:<8} {str(r['team_name'] or '')[:40]:<41}"
                    f"{counts_text(json.loads(r['counts_json']))} [{r['status']}] -> {where}"
                )
            unrouted = sorted(r["team_id"] for r in tonight if not r["routed"])
            if unrouted:
                lines.append(
                    "    UNROUTED (not in the routing file, sent to the default address): "
                    + ", ".join(unrouted)
                )
            owed = [r for r in rows if r["status"] in ("pending", "failed")]
            if owed:
                lines.append(
                    f"    UNDELIVERED: {len(owed)} digest(s) will be retried on the next run "
                    f"(last error: {owed[-1]['last_error']})"
                )
    notices = (
        sorted((s.outbox_dir / "engineers").glob("*.eml"))
        if (s.outbox_dir / "engineers").is_dir()
        else []
    )
    if notices:
        lines.append(f"  engineers' notices in the outbox: {len(notices)} (latest {notices[-1]})")
    return lines
