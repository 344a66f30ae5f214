"""PostgreSQL and Redis servers of a test's own, for tests that stop or restart them.

The PostgreSQL on 127.0.0.1:5432 and the Redis on :6379 are shared by every test
session on the machine: a test that restarts a server must never touch them. These
helpers start a private server from the system binaries (PostGIS is installed) in a
temporary directory on a free port, and remove it afterwards::

    with private_postgres() as pg:          # a migrated database at head
        app = create_app(settings=...(pg.url))
        pg.restart()                        # or pg.stop(); ...; pg.start()

    with private_redis() as rd:
        rd.stop(); ...; rd.start()          # same port, so clients reconnect

As root (CI, the dev machines) PostgreSQL runs as the ``postgres`` user, since
``initdb`` refuses root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from redis import Redis
from redis.exceptions import RedisError

from geo.db import make_engine
from geo.migrate import upgrade
from service.devstack import _pg_binary, free_port


class PrivatePostgres:
    """One PostgreSQL cluster in a temporary directory, on its own port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.sockets = root / "run"
        self.log = root / "pg.log"
        self.port = free_port()
        self.user = _server_user()

    @property
    def server_url(self) -> str:
        """The ``postgres`` database (for admin statements)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        """The migrated ``civicpulse`` database, as SQLAlchemy wants it."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/civicpulse"

    def _run(self, *argv: str) -> None:
        """Run a server binary as the server's user; fail with its stderr."""
        cmd = [_pg_binary(argv[0]), *argv[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, check=False, timeout=120)
        if done.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.decode()[-1000:]}\n{log}")

    def init(self) -> None:
        """``initdb`` with trust auth (the socket dir and port are ours alone)."""
        self.data.mkdir(parents=True)
        self.sockets.mkdir()
        self.log.touch()
        if self.user:
            for path in (self.root, self.data, self.sockets, self.log):
                shutil.chown(path, self.user, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-instructions")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log),
                  "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` ends sessions as a restart by an operator would)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop and start on the same port: every pooled connection is now broken."""
        self.stop()
        self.start()

    def create_database(self) -> None:
        """Create ``civicpulse`` with PostGIS and migrate it to head."""
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute('CREATE DATABASE "civicpulse"')
        engine = make_engine(self.url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()


def _server_user() -> str | None:
    """The user PostgreSQL runs as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        raise RuntimeError("running as root with no 'postgres' user to run PostgreSQL as") from None


@contextmanager
def private_postgres(migrate: bool = True) -> Iterator[PrivatePostgres]:
    """A started private PostgreSQL (with a migrated ``civicpulse`` database); removed after."""
    root = Path(tempfile.mkdtemp(prefix="civicpulse-pg-"))
    pg = PrivatePostgres(root)
    try:
        pg.init()
        pg.start()
        if migrate:
            pg.create_database()
        yield pg
    finally:
        with contextlib.suppress(RuntimeError):  # already stopped by the test
            pg.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


class PrivateRedis:
    """One ``redis-server`` without persistence, on its own port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Database 0 of this server."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers."""
        log = (self.root / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=log, stderr=log,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except (RedisError, OSError):
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, as an operator would); its data is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A started private Redis; stopped and removed after."""
    root = Path(tempfile.mkdtemp(prefix="civicpulse-redis-"))
    rd = PrivateRedis(root)
    try:
        rd.start()
        yield rd
    finally:
        rd.stop()
        shutil.rmtree(root, ignore_errors=True)
