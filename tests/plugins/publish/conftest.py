"""Fixtures of the publish tests: a fresh hand-made world and a real local SMTP server."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest
from publish_world import Inbox, World, free_port


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """An aiosmtpd server on 127.0.0.1 and a free port; yields (inbox, port)."""
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
