"""Shared pieces of the intake and import benchmarks: a throw-away database, servers, tables."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from geo.migrate import scratch_database

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
BENCH_SERVICES = [
    {"service_code": "pothole", "service_name": "Pothole", "privacy": "public"},
    {"service_code": "flooding", "service_name": "Street flooding", "privacy": "public"},
]


def libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq (psql, psycopg, DATABASE_URL) spells it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def bench_database() -> Iterator[str]:
    """A fresh ``civicpulse_bench_<random>`` at head; dropped afterwards whatever happens."""
    with scratch_database(ADMIN_URL, "civicpulse_bench") as url:
        yield url


def free_port() -> int:
    """A TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn_argv(app: str, port: int, workers: int) -> list[str]:
    """The command line ``civicpulse serve`` runs, for any WSGI app (so floors match it)."""
    return [
        sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", "gthread", "--threads", "4",
        "--access-logfile", "-", "--graceful-timeout", "20",
    ]


@contextmanager
def running(argv: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """Run a web server until the block ends; yields its base URL once /healthz answers."""
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}; see {log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not up after 60 s; see {log}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ensure_wrk() -> str | None:
    """Path of ``wrk``, installing it with apt-get when missing and running as root."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        if not found:
            print("wrk is not installed (sudo apt-get install -y wrk); using the Python client")
        return found
    print("installing wrk (apt-get install -y wrk)")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return shutil.which("wrk")


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return float(statistics.median(values))


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a Markdown table (the same shape the other benchmarks print)."""
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


def verdict(ok: bool) -> str:
    """A table cell saying whether a target was met."""
    return "met" if ok else "MISSED"
