"""Fixtures of the staff pages' browser tests: a served app, Chromium, a real OIDC provider."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright
from werkzeug.serving import make_server

from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, served

PROVIDER_DIR = Path(__file__).resolve().parents[2] / "oidc"
__all__ = ["ARTIFACTS", "free_port", "serve", "start_provider"]


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: Any) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` over HTTP in a thread; its base URL and a function that stops it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=10)

    return f"http://127.0.0.1:{server.server_port}", stop


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from Debian (no `playwright install`)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def start_provider(port: int, client_id: str, secret: str, redirect_uri: str) -> subprocess.Popen:
    """panva's oidc-provider under Node.js on ``port``; waits until it answers."""
    node = shutil.which("node")
    if node is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("Node.js and tests/oidc/node_modules are needed: `make setup` installs them")
    proc = subprocess.Popen(
        [node, str(PROVIDER_DIR / "provider.mjs"), str(port), client_id, secret, redirect_uri],
        cwd=PROVIDER_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "NODE_ENV": "test"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if line.startswith("ready "):
            return proc
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"the OIDC provider did not start: {line}")


@pytest.fixture(scope="module")
def live_site(app: Any) -> Iterator[str]:
    """The test app served over HTTP for the module's browser tests."""
    with served(app) as base:
        yield base
