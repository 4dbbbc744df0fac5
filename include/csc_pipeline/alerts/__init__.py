"""Alerts: nightly per-team digests for managers, and failure / deadline notices for engineers.

After a council's night is published, `send_night_alerts(ref)` reads the published
warehouse (read-only) and emails each team manager a digest of what needs attention as
at the export date: open data-quality issues, overdue and due-soon assessments, initial
conferences not held within 15 working days, overdue child-protection visits and
workers above the caseload threshold. See docs/alerts.md.

Modules (each small; only `engineers` is imported when the DAG file is parsed):
- settings:  every setting, from the environment
- routing:   team -> manager and head of service (the council's routing file)
- queries:   the SQL that finds the records (the one place that names warehouse columns)
- digest:    collect a night's records per team; render HTML body and CSV attachment
- delivery:  send through Airflow's SMTP connection, or write .eml files to the outbox
- alert_log: what was sent, so a re-run does not resend and an outage retries later
- nightly:   the entry point the DAG calls after publish
- engineers: task-failure notifier and publish-deadline alert for the data engineers
"""

from __future__ import annotations


def send_night_alerts(ref: dict, cfg=None) -> dict:
    """Send the night's team digests (see csc_pipeline.alerts.nightly)."""
    from csc_pipeline.alerts.nightly import send_night_alerts as _send

    return _send(ref, cfg)


__all__ = ["send_night_alerts"]
