"""A throw-away PostGIS database for tests whose data would disturb the shared one.

Bulk imports, boundaries and the demo city change what every other test sees
(the study area is the city boundary; the demo redefines services), so these
tests migrate a database of their own and drop it afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from geo.db import make_engine
from geo.migrate import upgrade
from tests.conftest import ADMIN_URL


@contextmanager
def private_database(label: str) -> Iterator[str]:
    """Create ``civicpulse_test_<label>_<random>`` at head, yield its URL, drop it."""
    name = f"civicpulse_test_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
