"""Change counters of cached tables, so a cache anywhere can tell that it is stale.

A trigger bumps ``cache_versions.version`` for ``api_keys`` and ``services`` on every
statement that changes them (migration 0013). A process that keeps rows of those
tables in memory reads the counters (one indexed row each, the cost of any lookup) and
keeps a cached value only while the counter is the one it was read under: a revoked
key or a changed service takes effect on the next request in every process.

Read the counter *before* the value it guards: a change that commits in between
then leaves the value tagged with the older counter, and the next read reloads it.
"""

from __future__ import annotations

from sqlalchemy import Connection, text


def current(conn: Connection) -> dict[str, int]:
    """Every table's change counter, e.g. ``{"api_keys": 7, "services": 3}``."""
    return {name: int(version) for name, version in
            conn.execute(text("SELECT name, version FROM cache_versions"))}
