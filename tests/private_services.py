"""Private PostgreSQL and Redis servers for tests that stop, kill or restart them.

The shared servers on 127.0.0.1:5432 and :6379 serve every engineer's tests, so a
fault is never injected there. These start project-local servers from the system
binaries on free ports, in a temporary directory, and remove everything after.

    with PrivateRedis() as redis:          # redis.url, redis.stop(), redis.start()
        ...
    with PrivatePostgres() as pg:          # pg.admin_url, pg.stop(), pg.start()
        url = pg.create_database("faults") # PostGIS, migrated to head
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import psycopg
import pytest
from redis import Redis
from redis.exceptions import RedisError

from geo.db import make_engine
from geo.migrate import upgrade
from service.devstack import free_port


def _wait(check, what: str, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    """Poll ``check()`` until it is true; a server that never answers fails the test."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")


class PrivateRedis:
    """``redis-server`` without persistence on a free port, as this process's child.

    A restart comes back empty, like a Redis without persistence after a crash.
    """

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed (make setup installs it)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (again) on the same port and wait until it answers."""
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait(self.answers, f"redis on port {self.port}")

    def stop(self) -> None:
        """Kill the server (SIGKILL: nothing is flushed or handed over)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def answers(self) -> bool:
        """True when the server replies to PING."""
        try:
            conn = Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
            try:
                return bool(conn.ping())
            finally:
                conn.close()
        except (RedisError, OSError):
            return False

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _pg_binary(name: str) -> str:
    """A PostgreSQL server binary from PATH or the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not candidates:
        pytest.fail(f"{name} not found: PostgreSQL server binaries are needed")
    return candidates[-1]


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb in a temp dir) on a free port.

    As root the server runs as the ``postgres`` user, since PostgreSQL refuses
    root. Durability is off (``fsync=off``): these clusters hold test data only.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="civicpulse-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "pg.log"
        self.port = free_port()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres").pw_name
            shutil.chown(self.root, self.user, self.user)

    def _run(self, *argv: str) -> None:
        cmd = [_pg_binary(argv[0]), *argv[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, check=False, timeout=120)
        if done.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.decode()[-1000:]}\n{log}")

    def init(self) -> None:
        """Create the cluster (trust authentication, local only)."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-instructions")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w",
                  "start")
        _wait(self.answers, f"PostgreSQL on port {self.port}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back and disconnect every session, as a restart does;
        ``immediate``: no shutdown at all, like a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def answers(self) -> bool:
        """True when the server accepts a connection."""
        try:
            with psycopg.connect(self.admin_url, connect_timeout=1):
                return True
        except psycopg.Error:
            return False

    def create_database(self, label: str) -> str:
        """A new database with PostGIS, migrated to head; returns its SQLAlchemy URL."""
        name = f"civicpulse_{label}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"
        engine = make_engine(url, pool_size=1)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        return url

    def __enter__(self) -> PrivatePostgres:
        self.init()
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self.answers():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """One private PostgreSQL cluster per test session, for tests that restart it."""
    with PrivatePostgres() as pg:
        yield pg


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A private Redis for one test, which may stop and start it."""
    with PrivateRedis() as redis:
        yield redis
