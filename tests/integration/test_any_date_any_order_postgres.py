"""The any-date / any-order / gap / crash scenarios (``order_scenarios``) on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.order_scenarios import *  # noqa: F403  (the scenarios' tests and fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def backend() -> str:
    return "postgres"
