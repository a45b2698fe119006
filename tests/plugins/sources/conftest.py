"""Small generated sources shared by the generator tests.

Generating 300 users x 30 days (a 120-day span) takes well under a second, so
each session builds these worlds once and the tests only read them.
"""

from __future__ import annotations

import pytest
from sources_testkit import Sources, make_sources


@pytest.fixture(scope="session")
def dirty_sources(tmp_path_factory) -> Sources:
    """Default dirty rate (0.02)."""
    return make_sources(tmp_path_factory.mktemp("dirty"))


@pytest.fixture(scope="session")
def clean_sources(tmp_path_factory) -> Sources:
    return make_sources(tmp_path_factory.mktemp("clean"), dirty_rate=0.0)
