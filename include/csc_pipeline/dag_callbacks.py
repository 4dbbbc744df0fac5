"""Callbacks the DAG files share. Imported when a DAG file is parsed: nothing heavy here
(the notifier is imported only when a task has failed)."""

from __future__ import annotations


def notify_engineers(context) -> None:
    """on_failure_callback: SmtpNotifier to the engineers, or the outbox (alerts/engineers.py)."""
    from csc_pipeline.alerts.engineers import EngineersNotifier

    EngineersNotifier()(context)
