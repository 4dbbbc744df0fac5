"""Delivery: Airflow's SMTP connection when one is configured, else .eml files in the outbox.

The SMTP connection is an ordinary Airflow connection (conn id CSC_SMTP_CONN_ID, default
`smtp_default`), e.g. from the env var AIRFLOW_CONN_SMTP_DEFAULT or a secrets backend,
so no mail credentials live in this repository. Without one (the `make run` default)
every message is written to <outbox>/<la_code>/<export_date>/<team>.eml (or
<outbox>/engineers/ for engineers' notices), where any mail client can open it.
"""

from __future__ import annotations

import logging
import smtplib
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One email: HTML body and an optional text attachment (the digest's CSV)."""

    alert_id: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    html: str
    attachment_name: str | None = None
    attachment: str | None = None
    record_count: int = 0  # records the message lists (each once), for alert_log

    @property
    def message_id(self) -> str:
        # Stable per alert: a mail system that sees the same digest twice can tell.
        return f"<{self.alert_id}@csc-pipeline>"


def smtp_connection(conn_id: str):
    """The Airflow SMTP connection, or None when it is not configured."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def from_address(configured: str | None, conn) -> str:
    """CSC_ALERT_FROM, else the connection's from_email extra, else a local default."""
    from csc_pipeline.alerts.settings import DEFAULT_FROM_EMAIL

    if configured:
        return configured
    if conn is not None and conn.extra_dejson.get("from_email"):
        return conn.extra_dejson["from_email"]
    return DEFAULT_FROM_EMAIL


def to_mime(message: Message, from_email: str) -> EmailMessage:
    """The message as a standard MIME email (what the outbox .eml files hold)."""
    mime = EmailMessage()
    mime["Subject"] = message.subject
    mime["From"] = from_email
    mime["To"] = ", ".join(message.to)
    if message.cc:
        mime["Cc"] = ", ".join(message.cc)
    mime["Date"] = formatdate(localtime=True)
    mime["Message-ID"] = (
        message.message_id if message.alert_id else make_msgid(domain="csc-pipeline")
    )
    if message.alert_id:
        mime["X-CSC-Alert-Id"] = message.alert_id
    mime.set_content(message.html, subtype="html")
    if message.attachment_name:
        mime.add_attachment(
            message.attachment or "", subtype="csv", filename=message.attachment_name
        )
    return mime


def write_outbox(path: Path, message: Message, from_email: str) -> Path:
    """Write the message as an .eml file (atomically: a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(bytes(to_mime(message, from_email)))
    tmp.replace(path)
    return path


class SmtpSender:
    """Send messages through Airflow's SmtpHook, reconnecting after a failed message.

    Use as a context manager; `send` raises on failure (the caller records it).
    """

    def __init__(self, conn_id: str, from_email: str):
        self.conn_id = conn_id
        self.from_email = from_email
        self._hook = None
        self._tmp = tempfile.TemporaryDirectory(prefix="csc-alerts-")

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc) -> None:
        self._close()
        self._tmp.cleanup()

    def _close(self) -> None:
        if self._hook is not None:
            hook, self._hook = self._hook, None
            try:
                hook.__exit__(None, None, None)
            except (OSError, smtplib.SMTPException, AttributeError):
                pass

    def _connected(self):
        if self._hook is None:
            from airflow.providers.smtp.hooks.smtp import SmtpHook

            self._hook = SmtpHook(smtp_conn_id=self.conn_id).__enter__()
        return self._hook

    def send(self, message: Message) -> None:
        files = []
        if message.attachment_name:
            attachment = Path(self._tmp.name) / message.attachment_name
            attachment.write_text(message.attachment or "", encoding="utf-8")
            files.append(str(attachment))
        try:
            self._connected().send_email_smtp(
                to=list(message.to),
                cc=list(message.cc) or None,
                subject=message.subject,
                html_content=message.html,
                from_email=self.from_email,
                files=files,
                custom_headers={
                    "Message-ID": message.message_id,
                    "X-CSC-Alert-Id": message.alert_id,
                },
            )
        except BaseException:
            self._close()  # the next message starts on a fresh connection
            raise
