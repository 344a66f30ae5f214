"""Fixtures for the worker tests: a clean RQ keyspace, an empty outbox, the job context."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis
from sqlalchemy import text

from geo.settings import Settings
from workers import context


@pytest.fixture
def rq_redis(redis_url: str) -> Iterator[Redis]:
    """The session's Redis db with no RQ keys (the session's claim key is left alone)."""
    conn = Redis.from_url(redis_url)

    def clear() -> None:
        keys = list(conn.scan_iter("rq:*"))
        if keys:
            conn.delete(*keys)

    clear()
    yield conn
    clear()
    conn.close()


@pytest.fixture
def empty_outbox(engine) -> None:
    """Mark what other test modules left pending as dispatched, so counts here are ours."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET dispatched_at = now() WHERE dispatched_at IS NULL"))


@pytest.fixture
def job_context(settings: Settings) -> Iterator[Settings]:
    """Jobs (and forked work-horses) use the test settings instead of the environment."""
    context.install(settings)
    yield settings
    context.install(None)


@pytest.fixture
def worker_env(settings: Settings) -> dict[str, str]:
    """Environment for the CLI, pointing at the test database, Redis and media directory."""
    return {
        "CIVICPULSE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CIVICPULSE_SECRET_KEY": settings.secret_key,
        "CIVICPULSE_MEDIA_DIR": settings.media_dir,
        "CIVICPULSE_EXPORT_DIR": settings.export_dir,
    }
