"""Fixtures of the staff pages' tests: a real OpenID Connect provider on Node.js.

The served app (``live_url``) and Chromium (``browser``) come from tests/conftest.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import TIMEOUT_MS

PROVIDER_DIR = Path(__file__).resolve().parents[2] / "oidc"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if line.startswith("ready "):
            return proc
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"the OIDC provider did not start: {line}")


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A fresh tab (axe-core may be injected: the CSP is bypassed), closed after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()
