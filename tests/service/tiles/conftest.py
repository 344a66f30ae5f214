"""Fixtures of the tile tests: the OGC tests' city, built per test module at its own place."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cities import PLACES, ogc, standing
from tests.cities.ogc import OgcCity


@pytest.fixture(scope="module")
def city(app, engine) -> Iterator[OgcCity]:
    """A city built for the module and removed after it (so a rebuild finds its place free)."""
    with standing(engine, ogc.build_city(engine, PLACES["tiles"])) as built:
        yield built
