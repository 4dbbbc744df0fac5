"""Notices for the data engineers (CSC_ENGINEERS_EMAIL): task failures and a missed
publish deadline.

- `EngineersNotifier()` is the DAGs' `on_failure_callback` (default_args): it emails the
  engineers with Airflow's SmtpNotifier (smtp provider) through the SMTP connection, or,
  when none is configured or the mail server is down, writes the notice to
  <outbox>/engineers/ so it is never lost (and `make run` shows it).
- Publish deadline (CSC_PUBLISH_DEADLINE, default 07:00 local time):
  `check_publish_deadline` is a task at the end of each council's branch (trigger rule
  all_done): it tells the engineers when the night was published after the deadline,
  or not at all once the deadline has passed. It works under the scheduler and under
  dag.test() alike. Optionally (CSC_PUBLISH_DEADLINE_ALERT=true, scheduler only),
  `publish_deadline(schedule)` adds an Airflow DeadlineAlert that fires AT the deadline
  while the run is still going (SyncCallback -> `publish_deadline_missed`).

Imported when the DAG file is parsed: only the standard library and airflow.sdk here;
everything else is imported inside the callbacks.
"""

from __future__ import annotations

import html
import logging
import os
from datetime import UTC, datetime, timedelta

from airflow.sdk import BaseNotifier, DeadlineAlert, DeadlineReference, SyncCallback

from csc_pipeline import warehouse as wh
from csc_pipeline.config import env_flag

log = logging.getLogger(__name__)

FAILURE_SUBJECT = (
    "[CSC pipeline] FAILED: {{ ti.dag_id }}.{{ ti.task_id }}"
    "{% if ti.map_index is not none and ti.map_index >= 0 %}[{{ ti.map_index }}]{% endif %}"
    " in run {{ ti.run_id }}"
)
FAILURE_HTML = """<html><body style="font-family: Arial, sans-serif; font-size: 14px">
<p>A task of the CSC nightly pipeline failed after its last try. A night that failed is
not published: the last good marts stay in place.</p>
<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">
<tr><td>DAG</td><td>{{ ti.dag_id }}</td></tr>
<tr><td>Task</td><td>{{ ti.task_id }}{% if ti.map_index is not none and ti.map_index >= 0 %} (council branch {{ ti.map_index }}){% endif %}</td></tr>
<tr><td>Run</td><td>{{ ti.run_id }}</td></tr>
<tr><td>Try</td><td>{{ ti.try_number }}</td></tr>
<tr><td>Host</td><td>{{ ti.hostname }}</td></tr>
<tr><td>Log</td><td><a href="{{ ti.log_url }}">{{ ti.log_url }}</a></td></tr>
</table>
<p>Error:</p><pre>{{ exception | string | e }}</pre>
</body></html>"""


def notify_engineers(subject: str, html_content: str, context=None) -> str:
    """Email the engineers (SmtpNotifier) or write the notice to the outbox; returns
    'sent' or the outbox path. Never raises: a notice must not break its caller."""
    from csc_pipeline.alerts import delivery
    from csc_pipeline.alerts.settings import alert_settings

    s = alert_settings()
    error = None
    try:
        conn = delivery.smtp_connection(s.smtp_conn_id)
        from_email = delivery.from_address(s.from_email, conn)
        if conn is not None:
            from airflow.providers.smtp.notifications.smtp import SmtpNotifier

            SmtpNotifier(
                to=s.engineers_email,
                from_email=from_email,
                subject=subject,
                html_content=html_content,
                smtp_conn_id=s.smtp_conn_id,
            ).notify(context or {})
            return "sent"
    except Exception as exc:  # mail server down: keep the notice in the outbox instead
        error = f"{type(exc).__name__}: {exc}"
        log.warning("Could not email the engineers (%s); writing the notice to the outbox", error)
        from_email = delivery.from_address(s.from_email, None)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    slug = delivery_safe(subject)[:80]
    note = f"<p><i>Not emailed: {html.escape(error)}</i></p>" if error else ""
    message = delivery.Message("", (s.engineers_email,), (), subject, note + html_content)
    path = delivery.write_outbox(
        s.outbox_dir / "engineers" / f"{stamp}_{slug}.eml", message, from_email
    )
    log.warning("Engineers' notice written to %s: %s", path, subject)
    return str(path)


def delivery_safe(text: str) -> str:
    from csc_pipeline.alerts.digest import safe_name

    return safe_name(text)


class EngineersNotifier(BaseNotifier):
    """on_failure_callback: tell the data engineers that a task failed (see module doc)."""

    template_fields = ("subject", "html_content")

    def __init__(self, subject: str = FAILURE_SUBJECT, html_content: str = FAILURE_HTML):
        super().__init__()
        self.subject = subject
        self.html_content = html_content

    def notify(self, context) -> None:
        notify_engineers(self.subject, self.html_content, context)


# --- publish deadline ----------------------------------------------------------------


def _hhmm(text: str, name: str) -> timedelta:
    try:
        hours, minutes = (int(p) for p in text.strip().split(":"))
        if not (0 <= hours < 24 and 0 <= minutes < 60):
            raise ValueError
    except ValueError:
        raise ValueError(f"{name} must be HH:MM, not {text!r}") from None
    return timedelta(hours=hours, minutes=minutes)


def deadline_setting() -> str | None:
    """CSC_PUBLISH_DEADLINE (HH:MM local time, default 07:00); None when 'off'."""
    value = os.environ.get("CSC_PUBLISH_DEADLINE", "07:00").strip()
    if value.lower() in {"", "off", "none"}:
        return None
    _hhmm(value, "CSC_PUBLISH_DEADLINE")
    return value


def deadline_for(run_after: datetime, deadline: str, tz: str) -> datetime:
    """The publish deadline of a run: the first `deadline` (local time in `tz`) at or
    after the run's scheduled time. The 02:30 run of 21 Nov must publish by 07:00 on
    21 Nov; a manual run started at 14:00 has until 07:00 the next morning."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    local = run_after.astimezone(zone)
    hhmm = _hhmm(deadline, "CSC_PUBLISH_DEADLINE")
    due = datetime.combine(local.date(), datetime.min.time(), zone) + hhmm
    if due < local:
        due = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone) + hhmm
    return due


def check_publish_deadline(
    la_code: str,
    run_after: datetime,
    run_started: datetime,
    now: datetime | None = None,
    warehouse=None,
    cfg=None,
) -> dict:
    """The DAG's `check_publish_deadline` task (trigger rule all_done, after publish).

    Looks in the council's published warehouse for a night published by this run
    (published_at >= run_started) and tells the engineers when it was published after
    the deadline, or when the deadline has passed and nothing was published (no export
    arrived in time, or the night failed). Works the same under the scheduler and under
    dag.test() (`make run`). Read-only; returns what it found.
    """
    from pathlib import Path

    import duckdb

    from csc_pipeline.config import settings

    cfg = cfg or settings()
    deadline = deadline_setting()
    result = {
        "la_code": la_code,
        "deadline": None,
        "published_night": None,
        "published_at": None,
        "status": "disabled",
        "notice": None,
    }
    if deadline is None:
        return result
    due = deadline_for(run_after, deadline, cfg.timezone)
    now = now or datetime.now(UTC)
    result["deadline"] = due.isoformat()
    if warehouse is None:
        from csc_pipeline.councils import warehouse_for

        warehouse = warehouse_for(la_code, cfg)
    row = None
    if Path(warehouse).exists():
        with wh.connect(warehouse, read_only=True) as con:
            try:
                row = con.execute(
                    "select strftime(export_date, '%Y-%m-%d'), published_at from meta.nights "
                    "where la_code = ? and status = 'published' and published_at >= ? "
                    "order by published_at desc limit 1",
                    [la_code, run_started.astimezone(UTC).replace(tzinfo=None)],
                ).fetchone()
            except duckdb.CatalogException:
                row = None
    if row is not None:
        night, published_at = row[0], row[1].replace(tzinfo=UTC)
        result.update(
            published_night=night,
            published_at=published_at.isoformat(),
            status="on_time" if published_at <= due else "late",
        )
    else:
        result["status"] = "not_published" if now > due else "not_yet_due"
    if result["status"] not in ("late", "not_published"):
        return result
    e = html.escape
    local = due.strftime("%H:%M %Z on %d %b %Y")
    if result["status"] == "late":
        what = (
            f"night {night} was published at {published_at.astimezone(due.tzinfo):%H:%M %Z}, after"
        )
        subject = f"[CSC pipeline] Council {la_code}: night {night} published after the {deadline} deadline"
    else:
        what = "no night was published by this run (no complete export arrived, or the night failed) by"
        subject = f"[CSC pipeline] Council {la_code}: marts not published by {deadline}"
    body = (
        '<html><body style="font-family: Arial, sans-serif; font-size: 14px">'
        f"<p>Council {e(la_code)}: {e(what)} the publish deadline ({e(local)}). Until a night "
        "is published, dashboards and digests show the previous night's figures.</p>"
        f"<p>Run scheduled for {e(run_after.isoformat())}.</p></body></html>"
    )
    result["notice"] = notify_engineers(subject, body)
    return result


def publish_deadline(schedule: str) -> list[DeadlineAlert]:
    """Optional Airflow deadline alert (CSC_PUBLISH_DEADLINE_ALERT=true; scheduler only).

    Fires at the deadline itself, even while the run is still waiting or running (the
    check_publish_deadline task can only report when the branch finishes). Off by
    default: in Airflow 3.3.2 a DAG-level deadline makes dag.test() (`make run`, the
    tests) crash when the run succeeds. The run must finish within (deadline - start)
    of being queued: by CSC_PUBLISH_DEADLINE local time for the scheduled run.
    """
    enabled = env_flag("CSC_PUBLISH_DEADLINE_ALERT")
    deadline = deadline_setting()
    if not enabled or deadline is None:
        return []
    return [
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_QUEUED_AT,
            interval=deadline_interval(schedule, deadline),
            callback=SyncCallback(publish_deadline_missed, kwargs={"deadline": deadline}),
            name=f"marts published by {deadline}",
        )
    ]


def deadline_interval(schedule: str, deadline: str) -> timedelta:
    """Time from the daily cron start ('30 2 * * *') to the deadline ('07:00') in the same
    time zone: 4h30m. A deadline before the start time means the next day."""
    minute, hour = schedule.split()[:2]
    start = _hhmm(f"{hour}:{minute}", "the DAG schedule's hour and minute")
    return (_hhmm(deadline, "CSC_PUBLISH_DEADLINE") - start) % timedelta(days=1)


def publish_deadline_missed(context: dict | None = None, deadline: str = "07:00", **_) -> str:
    """Deadline-alert callback (runs on the executor): the run is not done by the deadline."""
    context = context or {}
    run = context.get("dag_run") or {}
    due = (context.get("deadline") or {}).get("deadline_time")
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>"
        for k, v in (
            ("DAG", run.get("dag_id")),
            ("Run", run.get("dag_run_id") or run.get("run_id")),
            ("State", run.get("state")),
            ("Queued at", run.get("queued_at")),
            ("Deadline", due or deadline),
        )
    )
    body = (
        '<html><body style="font-family: Arial, sans-serif; font-size: 14px">'
        f"<p>The nightly run has not finished by the {e(deadline)} publish deadline: one or more "
        "councils' marts are not published yet (the export may be late, a step may be slow or have "
        "failed). Managers are still seeing the previous night's figures.</p>"
        '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse: collapse">'
        f"{rows}</table></body></html>"
    )
    run_id = run.get("dag_run_id") or run.get("run_id") or "?"
    return notify_engineers(
        f"[CSC pipeline] Marts not published by {deadline} (run {run_id})", body, context
    )
