"""The real processes, as an operator starts them: ``civicpulse serve`` (gunicorn),
``civicpulse worker`` and ``civicpulse relay``, each in a working directory of the test's
choosing and with only the environment an operator would set.

In-process test clients cannot see what differs in production: gunicorn's own log lines,
forked workers, and paths resolved against the working directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CLI = Path(sys.executable).with_name("civicpulse")
READY_SECONDS = 60


def operator_env(database_url: str, redis_url: str, secret: str) -> dict[str, str]:
    """The process environment with our settings: no ``CIVICPULSE_*`` left from outside,
    so every setting not given here takes its default (production mode included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, CIVICPULSE_SECRET_KEY=secret,
               # Production refuses to build links from a client's Host without it.
               CIVICPULSE_TRUSTED_HOSTS="127.0.0.1")
    return env


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300
            ) -> subprocess.CompletedProcess[str]:
    """Run one ``civicpulse`` command to its end; its output is kept for the test to read."""
    return subprocess.run([str(CLI), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


@dataclass
class Running:
    """A ``civicpulse`` process started by :func:`running`, and the file holding its output."""

    proc: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[str]:
        """Every line the process wrote so far (stdout and stderr together)."""
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()


@contextmanager
def running(args: list[str], env: dict[str, str], cwd: Path, log_name: str
            ) -> Iterator[Running]:
    """``civicpulse <args>`` in the background until the block ends, then SIGTERM (as a
    service manager stops it) and a wait for it to finish."""
    log = cwd / log_name
    with log.open("wb") as out:
        proc = subprocess.Popen([str(CLI), *args], env=env, cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Running(proc, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class Served(Running):
    """A running ``civicpulse serve`` and its base URL."""

    base: str = ""


@contextmanager
def served(env: dict[str, str], cwd: Path, workers: int = 1) -> Iterator[Served]:
    """``civicpulse serve`` on a free port until the block ends; fails if never ready."""
    port = free_port()
    args = ["serve", "--port", str(port), "--workers", str(workers)]
    with running(args, env, cwd, "serve.log") as proc:
        server = Served(proc.proc, proc.log, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if proc.proc.poll() is not None:
                raise AssertionError("the server exited:\n" + "\n".join(server.lines()[-30:]))
            try:
                if httpx.get(f"{server.base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the server never became ready:\n"
                                     + "\n".join(server.lines()[-30:]))
            time.sleep(0.2)
        yield server


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s")
        time.sleep(0.2)
