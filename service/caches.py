"""Per-process caches of what every request reads and almost never changes, never stale.

Each entry remembers the change counter of its table (``geo.versions``) it was read
under; each request reads the counters once (:func:`versions`) and an entry whose
counter moved is read again. So a revoked key is refused and a changed service is
used from the very next request, in every web process, at the cost of one small
query per request instead of the key lookup and the services read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from flask import g, has_request_context
from sqlalchemy import Connection

from geo import versions as change_counters
from geo.access.keys import Principal
from geo.services import ServiceInfo, services_by_code

K = TypeVar("K")
V = TypeVar("V")


class VersionedCache(Generic[K, V]):
    """A small thread-safe map whose entries hold while their table's counter stands."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: dict[K, tuple[int, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, version: int, load: Callable[[], V | None]) -> V | None:
        """The value cached for ``key`` under ``version``, else ``load()`` (a None result is
        not cached, and drops what was cached for ``key``)."""
        with self._lock:
            hit = self._data.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = load()
        with self._lock:
            if value is None:
                self._data.pop(key, None)
            else:
                if len(self._data) >= self.max_entries:
                    self._data.clear()
                self._data[key] = (version, value)
        return value

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._data.clear()


_services: VersionedCache[str, dict[str, ServiceInfo]] = VersionedCache()
_principals: VersionedCache[tuple[str, bytes], Principal] = VersionedCache()


def _database(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def versions(conn: Connection) -> dict[str, int]:
    """The change counters of ``conn``'s database, read once per request."""
    if not has_request_context():
        return change_counters.current(conn)
    seen: dict[str, dict[str, int]] = g.setdefault("cache_versions", {})
    url = _database(conn)
    if url not in seen:
        seen[url] = change_counters.current(conn)
    return seen[url]


def services(conn: Connection) -> dict[str, ServiceInfo]:
    """Active services by code, as of this request."""
    found = _services.get(_database(conn), versions(conn)["services"],
                          lambda: services_by_code(conn))
    return found if found is not None else {}


def principal(conn: Connection, digest: bytes, load: Callable[[], Principal | None]
              ) -> Principal | None:
    """The principal of the key whose digest is ``digest`` (None: unknown or revoked)."""
    return _principals.get((_database(conn), digest), versions(conn)["api_keys"], load)
