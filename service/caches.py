"""Short-lived per-process caches for what every request reads and almost never changes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import Connection

from geo.keys import Principal
from geo.services import ServiceInfo, services_by_code

K = TypeVar("K")
V = TypeVar("V")

#: A newly loaded or changed service is seen by every web process within this.
SERVICES_TTL = 10.0
#: A revoked key stops working within this (only known keys are cached).
KEYS_TTL = 30.0


class TtlCache(Generic[K, V]):
    """A small thread-safe map whose entries expire after ``ttl`` seconds."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, load: Callable[[], V | None]) -> V | None:
        """The cached value for ``key``, else ``load()`` (None results are not cached)."""
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if value is not None:
            with self._lock:
                if len(self._data) >= self.max_entries:
                    self._data.clear()
                self._data[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        """Forget everything (tests, and after this process changes what is cached)."""
        with self._lock:
            self._data.clear()


_services: TtlCache[str, dict[str, ServiceInfo]] = TtlCache(SERVICES_TTL)
principals: TtlCache[bytes, Principal] = TtlCache(KEYS_TTL)


def services(conn: Connection) -> dict[str, ServiceInfo]:
    """Active services by code, read at most every :data:`SERVICES_TTL` seconds per process."""
    url = conn.engine.url.render_as_string(hide_password=True)
    found = _services.get(url, lambda: services_by_code(conn))
    return found if found is not None else {}
