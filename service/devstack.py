"""``make demo``: the whole stack on one machine, in the foreground, until Ctrl-C.

With ``DATABASE_URL``/``REDIS_URL`` unset it uses the PostgreSQL and Redis on
localhost when they answer (PostgreSQL in its own ``civicpulse_demo`` database;
no other database is touched), else starts project-local ones under ``.local/``
from the system binaries on free ports and stops them on exit. Then it migrates,
loads the demo city once, prints one fresh API key per role, and runs the web
server and a worker as child processes.

    python -m service.devstack demo            # stay up until Ctrl-C
    python -m service.devstack demo --check    # start, probe every surface, stop
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import glob
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from redis import Redis
from redis.exceptions import RedisError

ROOT = Path(__file__).resolve().parent.parent
#: The demo's own state: logs, a local PostgreSQL/Redis if it started them, and
#: ``demo.env`` (CIVICPULSE_LOCAL_DIR moves it, as the README-tour test does).
LOCAL = Path(os.environ.get("CIVICPULSE_LOCAL_DIR") or ROOT / ".local").resolve()
#: The CLI's environment beside the demo, as one ``export …`` line (``civicpulse env``).
ENV_FILE = LOCAL / "demo.env"
#: The demo city's basemap, written once (``CIVICPULSE_BASEMAP`` names another).
DEMO_BASEMAP = LOCAL / "basemap.pmtiles"
#: What a ``civicpulse`` command beside the demo needs to find the same city and files.
CLI_SETTINGS = ("DATABASE_URL", "REDIS_URL", "CIVICPULSE_ENV", "CIVICPULSE_SECRET_KEY",
                "CIVICPULSE_MEDIA_DIR", "CIVICPULSE_EXPORT_DIR", "CIVICPULSE_UNIT_COSTS",
                "CIVICPULSE_APP_KEY")
DEMO_DB = "civicpulse_demo"
ROLES = ("app", "planner", "grant_writer", "admin")


def say(message: str) -> None:
    """Progress for the person at the terminal."""
    print(f"[demo] {message}", flush=True)


def free_port(preferred: int | None = None) -> int:
    """``preferred`` when nothing listens there, else any free port on 127.0.0.1."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free TCP port")


def _pg_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _redis_answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (RedisError, OSError):
        return False


class Stack:
    """Processes this run started, stopped in reverse order on exit."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.local_pg: Path | None = None
        self.pg_user: str | None = None

    def spawn(self, name: str, argv: list[str], env: dict[str, str], log: Path | None = None
              ) -> subprocess.Popen[bytes]:
        """Start a child in its own session, so Ctrl-C reaches us first and we stop it in order."""
        out = log.open("ab") if log else None
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=out,
                                start_new_session=True)
        self.children.append((name, proc))
        return proc

    def stop(self) -> None:
        """Terminate children (newest first), then the local PostgreSQL if we started it."""
        for name, proc in reversed(self.children):
            if proc.poll() is None:
                say(f"stopping {name}")
                proc.send_signal(signal.SIGTERM)
        for _, proc in reversed(self.children):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.local_pg is not None:
            say("stopping the local PostgreSQL")
            self._pg(["pg_ctl", "-D", str(self.local_pg), "-m", "fast", "-w", "stop"])

    def _pg(self, argv: list[str]) -> subprocess.CompletedProcess[bytes]:
        """Run a PostgreSQL server binary (as root: as ``postgres``, since initdb refuses root)."""
        argv = [_pg_binary(argv[0]), *argv[1:]]
        if os.geteuid() == 0 and self.pg_user:
            argv = ["runuser", "-u", self.pg_user, "--", *argv]
        return subprocess.run(argv, capture_output=True, check=False, timeout=120)

    def start_postgres(self) -> str:
        """Initialise (once) and start PostgreSQL under ``.local/pg`` on a free port."""
        data, run = LOCAL / "pg", LOCAL / "run"
        run.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            try:
                self.pg_user = pwd.getpwnam("postgres").pw_name
            except KeyError:
                raise SystemExit(
                    "running as root with no 'postgres' user to run PostgreSQL as"
                ) from None
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True, exist_ok=True)
            self._chown(data, run)
            done = self._pg(["initdb", "-D", str(data), "-U", "postgres", "--auth=trust",
                             "-E", "UTF8", "--no-instructions"])
            if done.returncode:
                raise SystemExit(f"initdb failed: {done.stderr.decode()[-500:]}")
        log = LOCAL / "pg.log"
        log.touch()
        self._chown(data, run, log)
        port = free_port(5432)
        options = f"-p {port} -k {run} -c listen_addresses=127.0.0.1"
        done = self._pg(["pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w",
                         "start"])
        if done.returncode:
            raise SystemExit(f"PostgreSQL did not start; see {LOCAL / 'pg.log'}")
        self.local_pg = data
        say(f"started a local PostgreSQL on port {port} (data in {data})")
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _chown(self, *paths: Path) -> None:
        if self.pg_user:
            for path in paths:
                shutil.chown(path, self.pg_user, self.pg_user)

    def start_redis(self) -> str:
        """Start ``redis-server`` on a free port, without persistence, as our child."""
        if shutil.which("redis-server") is None:
            raise SystemExit("no Redis answers on localhost and redis-server is not installed; "
                             "run `make setup`")
        port = free_port(6379)
        (LOCAL / "redis").mkdir(parents=True, exist_ok=True)
        self.spawn("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(LOCAL / "redis")],
                   dict(os.environ), LOCAL / "redis.log")
        url = f"redis://127.0.0.1:{port}/0"
        for _ in range(50):
            if _redis_answers(url):
                say(f"started a local Redis on port {port}")
                return url
            time.sleep(0.1)
        raise SystemExit(f"Redis did not start; see {LOCAL / 'redis.log'}")


def _pg_binary(name: str) -> str:
    """A PostgreSQL server binary from PATH or the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not candidates:
        raise SystemExit(f"{name} not found: install PostgreSQL with PostGIS (see `make setup`)")
    return candidates[-1]


def _demo_database(server_url: str) -> str:
    """Create ``civicpulse_demo`` on the server if missing; returns its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DEMO_DB,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DEMO_DB}"')
            say(f"created database {DEMO_DB}")
    return server_url.rsplit("/", 1)[0] + f"/{DEMO_DB}"


def resolve_services(stack: Stack) -> tuple[str, str]:
    """DATABASE_URL and REDIS_URL: from the environment, localhost, or started here."""
    database = os.environ.get("DATABASE_URL", "")
    if not database:
        users = dict.fromkeys(["postgres", getpass.getuser()])
        server = next((u for u in (f"postgresql://{name}@127.0.0.1:5432/postgres" for name in users)
                       if _pg_answers(u)), None)
        if server:
            say("using the PostgreSQL on 127.0.0.1:5432")
        database = _demo_database(server or stack.start_postgres())
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        if _redis_answers("redis://127.0.0.1:6379/0"):
            say("using the Redis on 127.0.0.1:6379 (db 0)")
            redis_url = "redis://127.0.0.1:6379/0"
        else:
            redis_url = stack.start_redis()
    return database, redis_url


def prepare_data(env: dict[str, str], reports: int = 60_000) -> tuple[dict[str, str], Any]:
    """Migrate, load the demo city if missing, queue its runs, create one fresh key per role.

    Returns the keys by role and the showcase pack's ids (None without the demo city).
    """
    from sqlalchemy import text

    from geo.access.keys import create_key
    from geo.db import make_engine
    from geo.demo.build import DemoError, is_loaded, load_demo
    from geo.demo.showcase import ensure_showcase
    from geo.hotspots.runs import STANDING, create_run, latest_run_id
    from geo.migrate import upgrade
    from geo.settings import Settings

    settings = Settings.from_env(env)
    engine = make_engine(settings.database_url)
    try:
        say("migrating the database")
        upgrade(engine)
        try:
            with engine.begin() as conn:
                if is_loaded(conn):
                    say("the demo city is already loaded")
                else:
                    say("loading the demo city (Port Ellis, a year of reports)…")
                    started = time.perf_counter()
                    summary = load_demo(conn, secret=settings.secret_key, reports=reports)
                    say(f"loaded {summary.reports:,} reports, {summary.districts} districts in "
                        f"{time.perf_counter() - started:.1f} s")
        except DemoError as exc:  # a DATABASE_URL holding a real city: serve that instead
            say(f"not loading the demo city: {exc}")
        with engine.begin() as conn:
            showcase = None
            # A first look at the map needs a finished city-wide run, and the showcase
            # pack a lead-paint and flooding one (monthly trend): queue them if missing.
            if is_loaded(conn):
                if latest_run_id(conn) is None and not conn.execute(
                    text("SELECT 1 FROM hotspot_runs WHERE params = CAST(:p AS jsonb) "
                         "AND status IN ('queued', 'running')"),
                    {"p": json.dumps(STANDING.as_json())},
                ).first():
                    create_run(conn, STANDING, trigger="demo")
                    say("queued the city-wide hotspot run; the worker publishes it in seconds")
                showcase = ensure_showcase(conn)
            if is_loaded(conn) and not env.get("CIVICPULSE_BASEMAP") and not DEMO_BASEMAP.exists():
                from geo.demo.basemap import write_basemap

                written = write_basemap(conn, DEMO_BASEMAP)
                say(f"wrote the demo city's basemap ({written.tiles} tiles, "
                    f"{written.bytes // 1024} KB) to {DEMO_BASEMAP}")
            # Earlier runs' demo keys are revoked so keys do not pile up run after run.
            conn.execute(text("UPDATE api_keys SET revoked_at = now() "
                              "WHERE name LIKE 'make demo %' AND revoked_at IS NULL"))
            return {role: create_key(conn, role, f"make demo {role}") for role in ROLES}, showcase
    finally:
        engine.dispose()


def _command(name: str) -> list[str]:
    """The ``civicpulse`` console script beside this interpreter, else ``-m service.cli``."""
    script = Path(sys.executable).with_name("civicpulse")
    return [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]


def _get(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310  # nosec B310
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def wait_ready(base: str, web: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Poll ``/readyz`` until it answers 200; fail early if the server died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit(f"the web server exited ({web.returncode}); see {LOCAL / 'web.log'}")
        if _get(f"{base}/readyz", timeout=2) == 200:
            return
        time.sleep(0.3)
    raise SystemExit(f"the web server was not ready within {seconds:.0f} s")


PROBES = ("/readyz", "/docs", "/openapi.json", "/open311/v2/discovery.json",
          "/open311/v2/services.json", "/open311/v2/requests.json", "/planner/",
          "/ogc/collections", "/app/", "/app/services.json")


def export_line(env: dict[str, str]) -> str:
    """The ``export …`` line giving a shell the demo's settings (those set, quoted).

    >>> print(export_line({"DATABASE_URL": "postgresql://u@h/db", "CIVICPULSE_ENV": "dev",
    ...                    "CIVICPULSE_UNIT_COSTS": '{"a": 1}', "HOME": "/root"}))
    export DATABASE_URL=postgresql://u@h/db CIVICPULSE_ENV=dev CIVICPULSE_UNIT_COSTS='{"a": 1}'
    """
    return "export " + " ".join(f"{name}={shlex.quote(env[name])}" for name in CLI_SETTINGS
                                if env.get(name))


def banner(base: str, keys: dict[str, str], showcase: Any = None, env_line: str = "") -> None:
    """What to open, which key to use, and the ids the README tour asks for."""
    print(f"""
  CivicPulse demo — Port Ellis is up.

  API docs        {base}/docs
  Open311         {base}/open311/v2/discovery.json
                  {base}/open311/v2/requests.json?service_code=flooding
  Native API      {base}/api/v1/reports   (POST, Authorization: Bearer <app key>)
                  {base}/api/v1/hotspot-runs
  OGC Features    {base}/ogc/collections
  Planner map     {base}/planner/
  Residents' app  {base}/app/   (a phone app: open it on a phone, or as one in devtools)
  Health          {base}/readyz   metrics {base}/metrics

  API keys (new for this run; earlier demo keys are revoked):""", flush=True)
    for role, key in keys.items():
        print(f"    {role:<13} {key}")
    if showcase is not None:
        from geo.demo.showcase import BUDGET, DISTRICT

        print(f"""
  Showcase evidence pack: lead paint and flooding in {DISTRICT}, a ${BUDGET:,} budget (README tour)
    DISTRICT={showcase.boundary_id} SHOWCASE_RUN={showcase.run_id}""")
    if env_line:
        print(f"""
  The CLI's environment, for `civicpulse …` in another terminal (again: civicpulse env):
    {env_line}""")
    print(f"""
  Try:  curl -H 'Authorization: Bearer {keys['planner']}' \\
             '{base}/open311/v2/requests.json?page_size=3'

  Logs in {LOCAL}/web.log and {LOCAL}/worker.log. Ctrl-C stops everything.
""", flush=True)


@contextlib.contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C so the children are stopped either way."""
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def demo(check: bool = False, port: int = 8000, web_workers: int = 2,
         reports: int = 60_000) -> int:
    """Run the stack; with ``check``, probe the surfaces and stop (0 when all answered).

    The media and export folders and the unit costs are the demo's unless the
    environment names its own (the README-tour test keeps its files apart).
    """
    from geo.demo.showcase import UNIT_COSTS

    LOCAL.mkdir(exist_ok=True)
    stack = Stack()
    with _terminate_on_sigterm():
        try:
            database, redis_url = resolve_services(stack)
            env = {"CIVICPULSE_MEDIA_DIR": "var/media", "CIVICPULSE_EXPORT_DIR": "var/exports",
                   "CIVICPULSE_UNIT_COSTS": json.dumps(UNIT_COSTS), **os.environ,
                   "CIVICPULSE_ENV": "dev", "DATABASE_URL": database, "REDIS_URL": redis_url}
            # Absolute, so the export line works from any folder.
            for name in ("CIVICPULSE_MEDIA_DIR", "CIVICPULSE_EXPORT_DIR"):
                env[name] = str(Path(env[name]).resolve())
            keys, showcase = prepare_data(env, reports=reports)
            # The residents' app hands this key to every browser: it is public by design.
            env.setdefault("CIVICPULSE_APP_KEY", keys["app"])
            if DEMO_BASEMAP.exists():
                env.setdefault("CIVICPULSE_BASEMAP", str(DEMO_BASEMAP))
            web_port = free_port(port)
            base = f"http://127.0.0.1:{web_port}"
            web = stack.spawn("web server", [*_command("civicpulse"), "serve", "--port",
                                             str(web_port), "--workers", str(web_workers)],
                              env, LOCAL / "web.log")
            worker = stack.spawn("worker", [*_command("civicpulse"), "worker"], env,
                                 LOCAL / "worker.log")
            wait_ready(base, web)
            if check:
                failed = [(p, s) for p in PROBES if (s := _get(base + p)) != 200]
                for path, status in failed:
                    say(f"{path} answered {status}")
                say("all surfaces answered" if not failed else f"{len(failed)} probes failed")
                return 1 if failed or worker.poll() is not None else 0
            line = export_line(env)
            ENV_FILE.write_text(line + "\n", encoding="utf-8")
            banner(base, keys, showcase, line)
            while all(proc.poll() is None for _, proc in stack.children):
                time.sleep(0.5)
            dead = next(name for name, proc in stack.children if proc.poll() is not None)
            say(f"the {dead} exited; see the logs in {LOCAL}")
            return 1
        except KeyboardInterrupt:
            print()
            return 0
        finally:
            stack.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m service.devstack``."""
    parser = argparse.ArgumentParser(prog="python -m service.devstack")
    parser.add_argument("command", choices=["demo"])
    parser.add_argument("--check", action="store_true",
                        help="start, probe every surface, stop; exit status says if all answered")
    parser.add_argument("--port", type=int, default=8000, help="web port if free (default 8000)")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--reports", type=int, default=60_000,
                        help="reports of the demo city when it is first loaded (default 60000)")
    args = parser.parse_args(argv)
    return demo(check=args.check, port=args.port, web_workers=args.web_workers,
                reports=args.reports)


if __name__ == "__main__":
    sys.exit(main())
