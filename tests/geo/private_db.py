"""A throw-away PostGIS database for tests whose data would disturb the shared one.

Bulk imports, boundaries and the demo city change what every other test sees
(the study area is the city boundary; the demo redefines services), so these
tests migrate a database of their own and drop it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from geo.migrate import scratch_database
from tests.conftest import ADMIN_URL


@contextmanager
def private_database(label: str) -> Iterator[str]:
    """Create ``civicpulse_test_<label>_<random>`` at head, yield its URL, drop it."""
    with scratch_database(ADMIN_URL, f"civicpulse_test_{label}") as url:
        yield url
