"""Failure and hold alerts: log loudly and e-mail the on-call list.

``on_task_failure`` is the ``on_failure_callback`` of every userops task. Mail goes
through the Airflow SMTP connection named by ``USEROPS_SMTP_CONN_ID`` when
``USEROPS_ALERT_EMAILS`` is set; an alert that cannot be e-mailed is still logged
and never masks the original failure.  Delivery itself is
:mod:`userops.publish.deliver` (one SMTP code path for lists and alerts).
"""

from __future__ import annotations

import logging
from typing import Any

from userops.config import as_bool, load_settings
from userops.publish.deliver import SmtpSettings, send_alert

log = logging.getLogger("userops.alerts")


def smtp_from_airflow(conn_id: str, mail_from: str) -> SmtpSettings | None:
    """Resolve an Airflow SMTP connection (``AIRFLOW_CONN_<ID>`` or the metadata DB).

    Extras follow the SMTP provider: ``disable_ssl`` / ``disable_tls`` (both default
    false, i.e. SMTPS), ``from_email``.  Returns None when the connection is not
    defined, which disables delivery (lists are then held as ``delivery_disabled``).
    """
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # AirflowNotFoundException and friends: no connection configured
        log.warning("no Airflow connection %r: e-mail delivery disabled", conn_id)
        return None
    extra = conn.extra_dejson or {}
    use_tls = not as_bool(extra.get("disable_ssl", False))
    return SmtpSettings(
        host=conn.host or "localhost",
        port=int(conn.port or (465 if use_tls else 25)),
        user=conn.login or None,
        password=conn.password or None,
        use_tls=use_tls,
        starttls=not use_tls and not as_bool(extra.get("disable_tls", False)),
        mail_from=extra.get("from_email") or mail_from,
    )


def on_task_failure(context: dict[str, Any]) -> None:
    """Airflow failure callback: log, then e-mail when recipients are configured."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = getattr(ti, "run_id", context.get("run_id", "?"))
    exc = context.get("exception")
    subject = f"[userops] FAILED {dag_id}.{task_id} ({run_id})"
    body = f"Task {task_id} of {dag_id}, run {run_id}, failed:\n\n{exc}\n"
    log.error("%s\n%s", subject, body)
    settings = load_settings()
    if not settings.alert_emails:
        return
    try:
        smtp = smtp_from_airflow(settings.smtp_conn_id, settings.mail_from)
        if smtp is not None:
            send_alert(smtp, list(settings.alert_emails), subject, body)
    except Exception:  # the alert must never hide the task's own failure
        log.exception("could not e-mail the failure alert")
