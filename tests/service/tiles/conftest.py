"""Fixtures of the tile tests: the OGC tests' synthetic city, once per module."""

from __future__ import annotations

import pytest

from tests.service.ogc.city import City, build


@pytest.fixture(scope="module")
def city(app, engine) -> City:
    """A city built once per module (other suites may truncate between modules)."""
    return build(engine)
