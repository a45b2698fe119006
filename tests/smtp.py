"""A real local SMTP server for tests (aiosmtpd on 127.0.0.1): the one stand-in for a
mail relay, shared by the publish, alert and end-to-end tests."""

from __future__ import annotations

import contextlib
import smtplib
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage


class Inbox:
    """Messages received by the local aiosmtpd server."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_smtp() -> Iterator[tuple[Inbox, int]]:
    """Run a server on a free port until the block ends; yields (inbox, port)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as probe:
            probe.noop()
        yield inbox, port
    finally:
        controller.stop()


def airflow_smtp_uri(port: int, **extra: str) -> str:
    """An ``AIRFLOW_CONN_*`` URI for the local server (plain SMTP, no TLS)."""
    query = "&".join(f"{k}={v}" for k, v in {"disable_ssl": "true", "disable_tls": "true",
                                             **extra}.items())  # fmt: skip
    return f"smtp://127.0.0.1:{port}?{query}"
