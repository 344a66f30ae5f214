"""Engine construction shared by the web service, the workers and the CLI."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError


def make_engine(
    url: str, *, pool_size: int = 5, pre_ping: bool = True, **connect_args: Any
) -> Engine:
    """Create a psycopg 3 engine for ``url``.

    Build a new one after ``fork`` (RQ work-horses, gunicorn workers): pooled
    connections must never cross a process boundary. ``pre_ping=False`` saves a
    round trip per checkout on hot paths; a connection broken by a database
    restart then fails one statement, and SQLAlchemy drops the whole pool.
    ``connect_args`` go to psycopg (e.g. ``connect_timeout``).
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
        connect_args=connect_args,
    )


#: On the replica: 0 when everything received is replayed, else seconds since the
#: last replayed commit (an idle primary sends nothing, and is not lag). A server
#: that is not in recovery is a primary: no lag.
_LAG_SQL = text(
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9) END"
)


class ReadRouter:
    """Send read-only work to a streaming replica while it is up and close behind.

    ``engine()`` answers the replica's engine when its lag, checked at most every
    ``check_every`` seconds per process, is within ``max_lag`` seconds, else the
    primary's; a replica that cannot be reached counts as lagging. Without a
    replica it is always the primary. Thread-safe; one per process.

    Either engine is answered in autocommit (sharing the engine's pool): a read-only
    request then sends no ``BEGIN`` and no ``ROLLBACK``, two round trips of the three
    or four a tile or a 304 costs. Under READ COMMITTED each statement had its own
    snapshot anyway, so no answer changes.

    >>> from sqlalchemy import create_engine
    >>> primary = create_engine("postgresql+psycopg://u@localhost/db")
    >>> reads = ReadRouter(primary, None).engine()
    >>> reads.pool is primary.pool, reads.get_execution_options()["isolation_level"]
    (True, 'AUTOCOMMIT')
    """

    def __init__(
        self, primary: Engine, replica: Engine | None, *, max_lag: float = 10.0,
        check_every: float = 1.0,
    ) -> None:
        self.primary, self.replica = primary, replica
        self._primary_reads = primary.execution_options(isolation_level="AUTOCOMMIT")
        self._replica_reads = (replica.execution_options(isolation_level="AUTOCOMMIT")
                               if replica is not None else None)
        self.max_lag, self.check_every = max_lag, check_every
        self._lock = threading.Lock()
        self._checked = -float("inf")
        self._use_replica = False

    def lag(self) -> float | None:
        """The replica's lag in seconds now, or None when it cannot be asked."""
        if self.replica is None:
            return None
        try:
            with self.replica.connect() as conn:
                return float(conn.execute(_LAG_SQL).scalar_one())
        except DBAPIError:
            return None

    def engine(self) -> Engine:
        """The engine for a read-only statement: the replica when healthy, else the primary."""
        if self._replica_reads is None:
            return self._primary_reads
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= self.check_every:
                lag = self.lag()
                self._use_replica = lag is not None and lag <= self.max_lag
                self._checked = now
            return self._replica_reads if self._use_replica else self._primary_reads
