"""Read-only surfaces read a streaming replica, and fall back to the primary.

A real replica: a private primary (tests/private_services.py), ``pg_basebackup -R``
of it into a second cluster directory, started on its own port. The shared PostgreSQL
is never touched. Which server answered is told apart by pausing the replica's
replay: a report written on the primary then exists only there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from geo.db import make_engine
from geo.services import load_services
from geo.settings import Settings
from service import create_app
from tests.conftest import SERVICES
from tests.private_services import PrivatePostgres


class Replica(PrivatePostgres):
    """A hot standby of ``primary``, cloned with pg_basebackup and streaming from it."""

    def __init__(self, primary: PrivatePostgres, database_url: str) -> None:
        super().__init__()
        self.primary = primary
        name = database_url.rsplit("/", 1)[1]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def init(self) -> None:
        """Clone the primary (``-R`` writes the standby settings and signal file)."""
        self._run("pg_basebackup", "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
                  "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres")

    def pause(self) -> None:
        """Stop replaying the primary's changes, and wait until it has stopped."""
        self.sql("SELECT pg_wal_replay_pause()")
        _wait_until(lambda: self.sql("SELECT pg_get_wal_replay_pause_state()") == "paused")

    def sql(self, statement: str) -> object:
        """Run one statement on the replica's copy of the database; the first value."""
        with psycopg.connect(self.url.replace("+psycopg", ""), autocommit=True) as conn:
            row = conn.execute(statement).fetchone()
        return row[0] if row else None


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, Replica]]:
    """A migrated primary database with the test services, and its streaming replica."""
    with PrivatePostgres() as primary:
        url = primary.create_database("replica")
        engine = make_engine(url)
        with engine.begin() as conn:
            load_services(conn, SERVICES)
        engine.dispose()
        with Replica(primary, url) as replica:
            # A commit replayed since the replica started: until then it cannot
            # tell its lag (no replay timestamp), and counts as lagging.
            _add_report(url, "warm-up")
            _wait_until(lambda: replica.sql(
                "SELECT count(*) FROM reports WHERE public_id = 'warm-up'") == 1)
            yield url, replica


def _app(primary: str, replica: Replica, redis_url: str, lag: int = 10):  # type: ignore[no-untyped-def]
    settings = Settings.from_env({
        "CIVICPULSE_ENV": "test", "DATABASE_URL": primary, "REDIS_URL": redis_url,
        "DATABASE_REPLICA_URL": replica.url,
        "CIVICPULSE_REPLICA_MAX_LAG_SECONDS": str(lag),
        "CIVICPULSE_SECRET_KEY": "replica-test-secret-0123456789",
    })
    return create_app({"TESTING": True, "ACCESS_LOG": False}, settings=settings)


def _add_report(primary: str, public_id: str) -> None:
    engine = make_engine(primary)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO reports (public_id, service_code, geom, h3_cell) VALUES "
            "(:p, 'pothole', ST_SetSRID(ST_MakePoint(-88.2, 30.4), 4326), 0)"
        ), {"p": public_id})
    engine.dispose()


def _ids(client) -> set[str]:  # type: ignore[no-untyped-def]
    answer = client.get("/ogc/collections/reports/items?limit=1000")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return {f["properties"].get("service_request_id") or f["id"]
            for f in answer.get_json()["features"]}


def _wait_until(check, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.1)


def test_reads_go_to_the_replica_and_a_report_is_readable_once_replicated(
    servers, redis_url
) -> None:
    primary, replica = servers
    client = _app(primary, replica, redis_url, lag=3600).test_client()
    replica.pause()
    try:
        _add_report(primary, "only-on-primary")
        # Replay paused: the OGC layer answers from the replica, which lacks it.
        assert "only-on-primary" not in _ids(client)
    finally:
        replica.sql("SELECT pg_wal_replay_resume()")
    _wait_until(lambda: replica.sql(
        "SELECT count(*) FROM reports WHERE public_id = 'only-on-primary'") == 1)
    time.sleep(1.1)  # the router re-checks the replica at most once a second
    assert "only-on-primary" in _ids(client)


def test_a_lagging_replica_sends_reads_back_to_the_primary(servers, redis_url) -> None:
    primary, replica = servers
    client = _app(primary, replica, redis_url, lag=1).test_client()
    replica.pause()
    try:
        _add_report(primary, "written-while-lagging")
        time.sleep(2.2)  # past the 1 s allowed, and past the router's next check
        assert "written-while-lagging" in _ids(client)
    finally:
        replica.sql("SELECT pg_wal_replay_resume()")


def test_a_replica_that_is_down_sends_reads_to_the_primary(servers, redis_url) -> None:
    primary, replica = servers
    client = _app(primary, replica, redis_url).test_client()
    _add_report(primary, "read-after-replica-died")
    replica.stop("immediate")
    try:
        time.sleep(1.1)
        assert "read-after-replica-died" in _ids(client)
        assert client.get("/tiles/reports/10/257/422.mvt").status_code in (200, 204)
    finally:
        replica.start()
