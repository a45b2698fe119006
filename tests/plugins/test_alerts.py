"""The failure callback logs and e-mails the on-call list through the Airflow connection."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest


@pytest.fixture
def smtp_inbox():
    from aiosmtpd.controller import Controller

    received: list[tuple[list[str], bytes]] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def _context(exc: Exception) -> dict:
    ti = SimpleNamespace(dag_id="userops_nightly", task_id="validate", run_id="manual__x")
    return {"task_instance": ti, "exception": exc}


def test_failure_callback_emails_the_alert_list(monkeypatch, smtp_inbox, caplog):
    from userops.alerts import on_task_failure

    port, received = smtp_inbox
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        f"smtp://127.0.0.1:{port}?disable_ssl=true&disable_tls=true&from_email=ops%40x.cn",
    )
    monkeypatch.setenv("USEROPS_ALERT_EMAILS", "oncall@x.cn, lead@x.cn")
    with caplog.at_level("ERROR", logger="userops.alerts"):
        on_task_failure(_context(RuntimeError("gate failed: marts.users duplicated")))
    assert "FAILED userops_nightly.validate" in caplog.text
    assert len(received) == 1
    rcpts, content = received[0]
    assert sorted(rcpts) == ["lead@x.cn", "oncall@x.cn"]
    assert b"marts.users duplicated" in content and b"From: ops@x.cn" in content


def test_failure_callback_without_recipients_only_logs(monkeypatch, smtp_inbox, caplog):
    from userops.alerts import on_task_failure

    port, received = smtp_inbox
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", f"smtp://127.0.0.1:{port}?disable_ssl=true")
    monkeypatch.delenv("USEROPS_ALERT_EMAILS", raising=False)
    with caplog.at_level("ERROR", logger="userops.alerts"):
        on_task_failure(_context(ValueError("boom")))
    assert "boom" in caplog.text
    assert received == []


def test_unreachable_mail_server_never_masks_the_failure(monkeypatch, caplog):
    from userops.alerts import on_task_failure

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", "smtp://127.0.0.1:1?disable_ssl=true")
    monkeypatch.setenv("USEROPS_ALERT_EMAILS", "oncall@x.cn")
    on_task_failure(_context(ValueError("boom")))  # must not raise
    assert "could not e-mail the failure alert" in caplog.text
