"""What a job runs with, without the web app: settings and a per-process engine.

RQ's default worker forks a work-horse per job. Pooled connections must never
cross that fork, so the engine is cached per process id: the first job in a new
process builds its own, and the parent's pool is let go without closing the
parent's sockets.
"""

from __future__ import annotations

import os
import threading

from sqlalchemy import Engine

from geo.db import make_engine
from geo.settings import Settings

_lock = threading.Lock()
_settings: Settings | None = None
_engine: Engine | None = None
_engine_pid: int | None = None


def install(settings: Settings | None) -> None:
    """Use ``settings`` from now on (the CLI and tests); None goes back to the environment."""
    global _settings, _engine, _engine_pid
    with _lock:
        if _engine is not None and _engine_pid == os.getpid():
            _engine.dispose()
        _settings, _engine, _engine_pid = settings, None, None


def settings() -> Settings:
    """The installed settings, else ``Settings.from_env()`` (read once per process)."""
    global _settings
    with _lock:
        if _settings is None:
            _settings = Settings.from_env()
        return _settings


def engine() -> Engine:
    """This process's engine, built on first use after a fork."""
    global _engine, _engine_pid
    current = settings()
    with _lock:
        pid = os.getpid()
        if _engine is None or _engine_pid != pid:
            if _engine is not None:
                # Inherited from the parent: drop the pool without closing its
                # connections, which the parent is still using.
                _engine.dispose(close=False)
            _engine, _engine_pid = make_engine(current.database_url, pool_size=2), pid
        return _engine
