"""Fixtures of the publish tests: a fresh hand-made world and a real local SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from publish_world import World

from tests.smtp import Inbox, local_smtp


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """An aiosmtpd server on 127.0.0.1 and a free port; yields (inbox, port)."""
    with local_smtp() as (inbox, port):
        yield inbox, port
