"""Fixtures of the OGC tests: a synthetic city per test module."""

from __future__ import annotations

import pytest

from .city import City, build


@pytest.fixture(scope="module")
def city(app, engine) -> City:
    """A city built once per module (other suites may truncate between modules)."""
    return build(engine)
