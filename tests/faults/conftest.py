"""Fault-injection tests: real servers and real worker processes, broken on purpose.

Every test here records what it broke and what it lost in
``test-artifacts/faults.jsonl`` (one JSON line per test), the figures the
security notes quote: faults injected, reports accepted, reports lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from geo.settings import Settings
from tests.private_services import PrivateRedis

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: The console script ``make setup`` installs beside the interpreter.
CIVICPULSE = [str(Path(sys.executable).with_name("civicpulse"))]


def record_faults(test: str, **figures: Any) -> None:
    """Append one test's figures (faults injected, reports lost, ...) to the artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    with (ARTIFACTS / "faults.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps({"test": test, **figures}) + "\n")


def wait_for(check: Callable[[], Any], what: str, seconds: float = 300) -> Any:
    """Poll ``check()`` until it returns something truthy; fail naming ``what`` after ``seconds``.

    A bound on how long to wait, not a timing assertion: a loaded machine is slow.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what} after {seconds:.0f} s")


def cli_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The environment of a ``civicpulse`` child process on the test database."""
    env = {
        **os.environ,
        "CIVICPULSE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CIVICPULSE_SECRET_KEY": settings.secret_key,
        "CIVICPULSE_MEDIA_DIR": settings.media_dir,
        "CIVICPULSE_EXPORT_DIR": settings.export_dir,
        # Refreshes wait an hour: these tests count the jobs they cause themselves.
        "CIVICPULSE_REFRESH_DEBOUNCE_SECONDS": "3600",
    }
    env.update(overrides)
    return env


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Processes:
    """Child processes of one test, each in its own process group, all killed at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start ``argv`` with output in ``<log_dir>/<name>.log``."""
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.children.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process and everything it forked, as when its machine disappears.

        By process tree, not group: RQ's work-horse calls ``setsid`` and would
        survive a signal to the worker's group.
        """
        for pid in [proc.pid, *descendants(proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def log(self, name: str) -> str:
        """What a child wrote so far (for failure messages)."""
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop_all(self) -> None:
        """Kill whatever is still running."""
        for proc in self.children:
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                self.kill(proc)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Children of this test; logs in its tmp_path."""
    procs = Processes(tmp_path)
    yield procs
    procs.stop_all()


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    """A Redis of this test's own, which it may stop and start (never the shared one)."""
    with PrivateRedis() as server:
        yield server


@pytest.fixture
def empty_outbox(engine) -> None:
    """Mark what earlier tests left pending as dispatched, so counts here are this test's."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET dispatched_at = now() WHERE dispatched_at IS NULL"))
