"""A local SMTP server that files every message it receives as ``.eml`` (demo only).

``userops demo`` has no real mail relay; rather than skip delivery, it runs the real
SMTP path against this server on 127.0.0.1 so the demo shows what each rep would
receive, under ``<output_dir>/outbox/``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import quote


class _SaveToFolder:
    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.folder.mkdir(parents=True, exist_ok=True)
        msg = message_from_bytes(envelope.content, policy=policy.default)
        index = len(list(self.folder.glob("*.eml"))) + 1
        to = "_".join(r.split("@")[0] for r in envelope.rcpt_tos)[:60]
        (self.folder / f"{index:04d}-{to}.eml").write_bytes(msg.as_bytes())
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_outbox(folder: Path, mail_from: str = "userops@localhost") -> Iterator[str]:
    """Run the outbox server; yields an Airflow SMTP connection URI pointing at it."""
    from aiosmtpd.controller import Controller

    port = _free_port()
    controller = Controller(_SaveToFolder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield (
            f"smtp://127.0.0.1:{port}?disable_ssl=true&disable_tls=true"
            f"&from_email={quote(mail_from)}"
        )
    finally:
        controller.stop()
