"""Engine construction shared by the web service, the workers and the CLI."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine


def make_engine(url: str, *, pool_size: int = 5, pre_ping: bool = True) -> Engine:
    """Create a psycopg 3 engine for ``url``.

    Build a new one after ``fork`` (RQ work-horses, gunicorn workers): pooled
    connections must never cross a process boundary. ``pre_ping=False`` saves a
    round trip per checkout on hot paths; a connection broken by a database
    restart then fails one statement, and SQLAlchemy drops the whole pool.
    """
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        pool_recycle=600,
        # Errors are logged with their traceback: never with a report's contact,
        # address or description, which SQLAlchemy would otherwise append.
        hide_parameters=True,
        future=True,
    )
