"""E-mail delivery: one message per rep with their XLSX list, and alerts for holds.

Plain ``smtplib`` over one connection per batch.  Idempotency is the publish
log's job: :func:`send_lists` skips a rep whose list with the same hash was
already sent, and calls ``on_sent`` right after each message is accepted so the
caller can record it before the next one -- a crash half-way leaves a log from
which a retry sends exactly the rest.

No Airflow here: the DAG task resolves its SMTP connection into :class:`SmtpSettings`.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

from userops.publish.rules import ACTION_LABELS_ZH

if TYPE_CHECKING:  # the DAG imports this module; pandas only when a list is built
    import pandas as pd

XLSX_MIME = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail (``use_tls``: SMTPS from the start; ``starttls``: upgrade)."""

    host: str
    port: int = 25
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False
    starttls: bool = False
    mail_from: str = "userops@localhost"
    timeout: float = 30.0


@dataclass(frozen=True)
class RepList:
    """One rep's list as delivered: the XLSX bytes plus what the body summarises."""

    business_date: date
    rep_id: str
    rep_name: str
    rep_email: str
    rows: int
    content_hash: str
    xlsx: bytes
    action_counts: Mapping[str, int] = field(default_factory=dict)
    diff_counts: Mapping[str, int] | None = None
    previous_date: str | None = None
    #: The first rows of the list, one line each (see :func:`top_item_lines`).
    top_items: tuple[str, ...] = ()

    @property
    def attachment_name(self) -> str:
        return f"outreach_{self.business_date.isoformat()}_{self.rep_id}.xlsx"


@contextlib.contextmanager
def smtp_connection(smtp: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """An authenticated SMTP session (closed on exit)."""
    if smtp.use_tls:
        conn: smtplib.SMTP = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context()
        )
    else:
        conn = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    try:
        if smtp.starttls and not smtp.use_tls:
            conn.starttls(context=ssl.create_default_context())
        if smtp.user:
            conn.login(smtp.user, smtp.password or "")
        yield conn
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            conn.quit()


#: How many rows the e-mail body lists.
TOP_ITEMS = 5


def top_item_lines(rows: pd.DataFrame, n: int = TOP_ITEMS) -> tuple[str, ...]:
    """``"1. 公司（联系人）｜建议动作｜原因"`` for the first ``n`` rows (priority order)."""
    out = []
    for r in rows.sort_values("priority").head(n).to_dict("records"):
        who = r["company_name"] or r["lead_id"]
        if r.get("contact_name"):
            who = f"{who}（{r['contact_name']}）"
        out.append(f"{r['priority']}. {who}｜{r['suggested_action_zh']}｜{r['reason_zh']}")
    return tuple(out)


def list_subject(lst: RepList) -> str:
    return f"【每日跟进名单】{lst.business_date.isoformat()} {lst.rep_name}（{lst.rows} 条）"


def list_body(lst: RepList) -> str:
    """A short Chinese summary: counts by action and the change since the last list."""
    lines = [f"{lst.rep_name}，您好：", ""]
    lines.append(
        f"附件是 {lst.business_date.isoformat()} 的跟进名单，共 {lst.rows} 条，已按优先级排序："
    )
    for action, label in ACTION_LABELS_ZH.items():
        n = lst.action_counts.get(action, 0)
        if n:
            lines.append(f"  - {label}：{n} 条")
    if lst.top_items:
        lines += ["", "优先处理："]
        lines += [f"  {line}" for line in lst.top_items]
    if lst.diff_counts is not None and lst.previous_date:
        c = lst.diff_counts
        lines.append(
            f"与上一期（{lst.previous_date}）相比：新增 {c.get('added', 0)} 条，"
            f"延续 {c.get('kept', 0)} 条，移出 {c.get('removed', 0)} 条。"
        )
    lines += [
        "",
        "名单含客户联系方式，仅供本人跟进使用，请勿转发。",
        "—— userops 自动发送，请勿直接回复",
    ]
    return "\n".join(lines) + "\n"


def list_message(mail_from: str, lst: RepList) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = lst.rep_email
    msg["Subject"] = list_subject(lst)
    msg["Date"] = formatdate(localtime=False)
    # Deterministic: the one window SMTP leaves open (the relay accepted, the process
    # died before logging it) resends the same Message-ID, which mail systems collapse.
    msg["Message-ID"] = (
        f"<list.{lst.business_date.isoformat()}.{lst.rep_id}.{lst.content_hash[:24]}@userops.local>"
    )
    msg["X-Userops-List"] = f"{lst.business_date.isoformat()}/{lst.rep_id}/{lst.content_hash}"
    msg.set_content(list_body(lst))
    msg.add_attachment(
        lst.xlsx, maintype=XLSX_MIME[0], subtype=XLSX_MIME[1], filename=lst.attachment_name
    )
    return msg


def send_lists(
    smtp: SmtpSettings,
    lists: Sequence[RepList],
    already_sent: Mapping[str, str | None] | None = None,
    on_sent: Callable[[RepList], None] | None = None,
) -> list[str]:
    """Mail each rep their own list; returns the rep_ids mailed.

    ``already_sent`` maps rep_id -> the content hash the rep already has (from the
    publish log); such reps are skipped when the hash matches.
    """
    already_sent = already_sent or {}
    todo = [
        lst for lst in lists if lst.rep_email and already_sent.get(lst.rep_id) != lst.content_hash
    ]
    if not todo:
        return []
    sent: list[str] = []
    with smtp_connection(smtp) as conn:
        for lst in todo:
            conn.send_message(list_message(smtp.mail_from, lst), to_addrs=[lst.rep_email])
            sent.append(lst.rep_id)
            if on_sent is not None:
                on_sent(lst)
    return sent


def send_alert(smtp: SmtpSettings, recipients: Sequence[str], subject: str, body: str) -> bool:
    """Send one plain-text alert; False when there is nobody to tell."""
    to = [r for r in recipients if r]
    if not to:
        return False
    msg = EmailMessage()
    msg["From"] = smtp.mail_from
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="userops.local")
    msg.set_content(body)
    with smtp_connection(smtp) as conn:
        conn.send_message(msg, to_addrs=to)
    return True
