"""Failure alerts: log loudly and e-mail the on-call list.

Used as the ``on_failure_callback`` of every userops task.  E-mail goes through
the Airflow SMTP connection named by ``USEROPS_SMTP_CONN_ID`` when
``USEROPS_ALERT_EMAILS`` is set; an alert that cannot be e-mailed is still
logged, and never masks the original failure.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from userops.config import load_settings

log = logging.getLogger("userops.alerts")


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes; resolved from an Airflow connection by the DAG layer."""

    host: str = "localhost"
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    use_ssl: bool = False
    mail_from: str = "userops@localhost"
    timeout: float = 30.0

    def open(self) -> smtplib.SMTP:
        cls = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
        server = cls(self.host, self.port, timeout=self.timeout)
        if self.starttls and not self.use_ssl:
            server.starttls()
        if self.user:
            server.login(self.user, self.password or "")
        return server


def smtp_from_airflow(conn_id: str, mail_from: str) -> SmtpSettings:
    """Resolve an Airflow SMTP connection (``AIRFLOW_CONN_<ID>`` or the metadata DB)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson or {}
    return SmtpSettings(
        host=conn.host or "localhost",
        port=int(conn.port or 25),
        user=conn.login or None,
        password=conn.password or None,
        starttls=not bool(extra.get("disable_tls", True)),
        use_ssl=not bool(extra.get("disable_ssl", True)),
        mail_from=extra.get("from_email", mail_from),
    )


def send_alert(smtp: SmtpSettings, recipients: list[str], subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = smtp.mail_from
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg.set_content(body)
    with smtp.open() as server:
        server.send_message(msg)


def on_task_failure(context: dict[str, Any]) -> None:
    """Airflow failure callback: log, then e-mail when recipients are configured."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", context.get("run_id", "?"))
    exc = context.get("exception")
    subject = f"[userops] FAILED {dag_id}.{task_id} ({run_id})"
    body = f"Task {task_id} of {dag_id}, run {run_id}, failed:\n\n{exc!r}\n"
    log.error("%s\n%s", subject, body)
    settings = load_settings()
    if not settings.alert_emails:
        return
    try:
        smtp = smtp_from_airflow(settings.smtp_conn_id, settings.mail_from)
        send_alert(smtp, list(settings.alert_emails), subject, body)
    except Exception:  # the alert must never hide the task's own failure
        log.exception("could not e-mail the failure alert")
