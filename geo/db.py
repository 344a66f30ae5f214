"""Engine construction shared by the web service, the workers and the CLI."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Create a psycopg 3 engine for ``url``.

    Build a new one after ``fork`` (RQ work-horses, gunicorn workers): pooled
    connections must never cross a process boundary.
    """
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        future=True,
    )
