"""Test fixtures: a fresh PostGIS database and Redis db number per test session.

Nothing here touches another database on the server: the session creates
``civicpulse_test_<random>`` (and drops it at the end) and claims an empty Redis
db number, flushed when done. The server comes from ``TEST_DATABASE_URL`` (any
database on it, used only to create ours) and ``TEST_REDIS_URL``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import Engine

from geo.access import keys
from geo.db import make_engine
from geo.migrate import scratch_database
from geo.services import load_services
from geo.settings import Settings, sqlalchemy_url
from service import create_app
from tests.browser import chromium, served

ADMIN_URL = sqlalchemy_url(
    os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
)
REDIS_BASE = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
SECRET = "test-secret-key-0123456789"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """Create a uniquely named database with PostGIS, migrated to head; drop it after."""
    with scratch_database(ADMIN_URL, "civicpulse_test") as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """Claim an empty Redis db number (1–15) for this session; flush it after."""
    base = REDIS_BASE.rstrip("/")
    claim = f"civicpulse:test-claim:{uuid.uuid4().hex}"
    for number in range(15, 0, -1):
        conn = Redis.from_url(f"{base}/{number}")
        if conn.dbsize() == 0 and conn.set("civicpulse:test-claim", claim, nx=True):
            url = f"{base}/{number}"
            try:
                yield url
            finally:
                conn.flushdb()
            return
    pytest.fail("no empty Redis db number to claim for the tests")


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings for the test app."""
    root = tmp_path_factory.mktemp("civicpulse")
    return Settings.from_env(
        {
            "CIVICPULSE_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CIVICPULSE_SECRET_KEY": SECRET,
            "CIVICPULSE_MEDIA_DIR": str(root / "media"),
            "CIVICPULSE_EXPORT_DIR": str(root / "exports"),
            # The suite posts hundreds of reports from one address in seconds;
            # tests/service/test_rate_limits.py turns the limits on for its own apps.
            "CIVICPULSE_RATE_LIMITS": "false",
        }
    )


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """An engine on the test database."""
    eng = make_engine(settings.database_url)
    yield eng
    eng.dispose()


SERVICES: list[dict[str, Any]] = [
    {
        "service_code": "flooding",
        "service_name": "Street flooding",
        "group": "Water",
        "keywords": "flood,water,storm",
        "severity": 2.0,
        "duplicate_radius_m": 100,
        "privacy": "public",
        "attributes": [
            {"code": "depth_cm", "datatype": "number", "required": True,
             "description": "How deep is the water (cm)?"},
            {"code": "blocking", "datatype": "singlevaluelist", "required": False,
             "description": "Is the road passable?",
             "values": [{"key": "passable", "name": "Passable"},
                        {"key": "blocked", "name": "Blocked"}]},
        ],
        "translations": [
            {"language": "es", "service_name": "Calle inundada", "group": "Agua",
             "attributes": [
                 {"code": "depth_cm", "description": "¿Qué profundidad tiene el agua (cm)?"},
                 {"code": "blocking", "description": "¿Se puede pasar?",
                  "values": [{"key": "passable", "name": "Se puede pasar"},
                             {"key": "blocked", "name": "Cortada"}]}]},
        ],
    },
    {
        "service_code": "lead_paint",
        "service_name": "Lead paint hazard",
        "group": "Housing",
        "severity": 3.0,
        "duplicate_radius_m": 20,
        "privacy": "aggregated",
        "attributes": [
            {"code": "built_before_1978", "datatype": "singlevaluelist", "required": True,
             "description": "Was the building built before 1978?",
             "values": [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"},
                        {"key": "unknown", "name": "Don't know"}]},
            {"code": "surfaces", "datatype": "multivaluelist", "required": False,
             "description": "Where is the paint peeling?",
             "values": [{"key": "windows", "name": "Windows"}, {"key": "doors", "name": "Doors"},
                        {"key": "porch", "name": "Porch"}]},
        ],
        "translations": [
            {"language": "es", "service_name": "Pintura con plomo", "group": "Vivienda"},
        ],
    },
    {
        "service_code": "pothole",
        "service_name": "Pothole",
        "group": "Streets",
        "severity": 1.0,
        "duplicate_radius_m": 30,
        "privacy": "public",
        "translations": [{"language": "es", "service_name": "Bache", "group": "Calles"}],
    },
]


@pytest.fixture(scope="session")
def services_loaded(engine: Engine) -> list[dict[str, Any]]:
    """The test services (flooding, lead_paint, pothole) in the test database."""
    with engine.begin() as conn:
        load_services(conn, SERVICES)
    return SERVICES


@pytest.fixture(scope="session")
def app(settings: Settings, engine: Engine, services_loaded: list[dict[str, Any]]) -> Any:
    """The app under test, with the test services loaded."""
    application = create_app({"TESTING": True, "ACCESS_LOG": False}, settings=settings)
    return application


@pytest.fixture
def client(app: Any) -> Any:
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    """A CLI runner bound to the app's settings."""
    return app.test_cli_runner()


class Keys(dict):
    """API keys per role, and headers for each."""

    def headers(self, role: str | None, **extra: str) -> dict[str, str]:
        """Authorization headers for ``role`` (no header for None)."""
        out = dict(extra)
        if role is not None:
            out["Authorization"] = f"Bearer {self[role]}"
        return out


@pytest.fixture(scope="session")
def api_keys(engine: Engine) -> Keys:
    """One key per role, plus a second app key."""
    out = Keys()
    with engine.begin() as conn:
        for role in ("app", "planner", "grant_writer", "admin"):
            out[role] = keys.create_key(conn, role, f"test {role}")
        out["app2"] = keys.create_key(conn, "app", "second app")
    return out


@pytest.fixture(scope="module")
def live_url(app: Any) -> Iterator[str]:
    """The test app served over HTTP on a free port, in a thread (for browser tests)."""
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (tests.browser)."""
    with chromium() as launched:
        yield launched
