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

from csc_pipeline.alerts import alert_log, delivery, digest, routing
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


def queue_digests(
    night: digest.NightRecords,
    route_book: routing.Routing,
    council: str,
    s: AlertSettings,
    book: alert_log.AlertLog,
) -> dict[str, dict]:
    """Render and queue tonight's digests; returns per-team counts and routing."""
    teams: dict[str, dict] = {}
    for team_id in sorted(night.teams):
        team = night.teams[team_id]
        if team.is_empty and not s.send_empty:
            continue
        route = route_book.route(None if team_id == digest.NO_TEAM else team_id, team.service_area)
        if team.team_name is None and route.routed:
            team.team_name = route_book.teams[team_id].get("name")
        message = delivery.Message(
            alert_id=alert_log.alert_id(night.la_code, night.export_date, team_id),
            to=route.to,
            cc=route.cc,
            subject=digest.subject(council, team, night.export_date),
            html=digest.render_html(
                council, team, night.export_date, s, night.unavailable, route.manager_name
            ),
            attachment_name=digest.csv_file_name(night.la_code, team_id, night.export_date),
            attachment=digest.render_csv(team),
        )
        counts = team.counts()
        status = book.record(
            la_code=night.la_code,
            export_date=night.export_date,
            team_id=team_id,
            team_name=team.team_name,
            message=message,
            counts=counts,
            routed=route.routed,
        )
        teams[team_id] = {
            "team_name": team.team_name,
            "to": list(route.to),
            "cc": list(route.cc),
            "routed": route.routed,
            "counts": counts,
            "status": status,
        }
        if not route.routed:
            log.warning(
                "Team %s of council %s is not in the routing file %s: its digest goes to %s",
                team_id,
                night.la_code,
                route_book.source,
                ", ".join(route.to),
            )
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
            path = (
                s.outbox_dir
                / row["la_code"]
                / row["export_date"]
                / f"{digest.safe_name(row['team_id'])}.eml"
            )
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
    summary = {
        "la_code": la_code,
        "export_date": export_date,
        "digests": len(teams),
        "teams": teams,
        "unrouted_teams": sorted(t for t, i in teams.items() if not i["routed"]),
        "quiet_teams": sum(1 for t in night.teams.values() if t.is_empty),
        "unavailable_sections": night.unavailable,
        "delivered": {k: statuses.count(k) for k in ("sent", "outbox", "failed")},
        "retried_from_earlier_nights": sum(
            1
            for a in results
            if a not in {alert_log.alert_id(la_code, export_date, t) for t in teams}
        ),
    }
    for line in summary_lines(summary):
        log.info(line)
    return summary


def counts_text(c: dict) -> str:
    """'dq 3 (1 new), overdue 2, due soon 1, icpc 0, cp visits 4, caseload 1'."""
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
    for team_id, info in summary["teams"].items():
        c = info["counts"]
        lines.append(
            f"  {team_id:<8} {str(info['team_name'] or '')[:40]:<41}{counts_text(c)}"
            f" -> {', '.join(info['to'])} [{info['status']}]"
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
                    s.outbox_dir / la_code / latest / f"{digest.safe_name(r['team_id'])}.eml"
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
