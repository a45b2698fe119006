"""The failure callback logs and e-mails the on-call list through the Airflow connection."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.smtp import airflow_smtp_uri, local_smtp


@pytest.fixture
def smtp_inbox():
    with local_smtp() as (inbox, port):
        yield port, inbox


def _context(exc: Exception) -> dict:
    ti = SimpleNamespace(dag_id="userops_nightly", task_id="validate", run_id="manual__x")
    return {"task_instance": ti, "exception": exc}


def test_failure_callback_emails_the_alert_list(monkeypatch, smtp_inbox, caplog):
    from userops.alerts import on_task_failure

    port, inbox = smtp_inbox
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", airflow_smtp_uri(port, from_email="ops%40x.cn"))
    monkeypatch.setenv("USEROPS_ALERT_EMAILS", "oncall@x.cn, lead@x.cn")
    with caplog.at_level("ERROR", logger="userops.alerts"):
        on_task_failure(_context(RuntimeError("gate failed: marts.users duplicated")))
    assert "FAILED userops_nightly.validate" in caplog.text
    assert len(inbox.messages) == 1
    rcpts, msg = inbox.messages[0]
    assert sorted(rcpts) == ["lead@x.cn", "oncall@x.cn"]
    assert "marts.users duplicated" in msg.get_content() and msg["From"] == "ops@x.cn"


def test_failure_callback_without_recipients_only_logs(monkeypatch, smtp_inbox, caplog):
    from userops.alerts import on_task_failure

    port, inbox = smtp_inbox
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", airflow_smtp_uri(port))
    monkeypatch.delenv("USEROPS_ALERT_EMAILS", raising=False)
    with caplog.at_level("ERROR", logger="userops.alerts"):
        on_task_failure(_context(ValueError("boom")))
    assert "boom" in caplog.text
    assert inbox.messages == []


def test_unreachable_mail_server_never_masks_the_failure(monkeypatch, caplog):
    from userops.alerts import on_task_failure

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", "smtp://127.0.0.1:1?disable_ssl=true")
    monkeypatch.setenv("USEROPS_ALERT_EMAILS", "oncall@x.cn")
    on_task_failure(_context(ValueError("boom")))  # must not raise
    assert "could not e-mail the failure alert" in caplog.text
