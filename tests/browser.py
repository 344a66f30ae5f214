"""Real-browser helpers shared by the page tests: a served app, Chromium, and axe-core.

Debian's Chromium runs headless through Playwright (no ``playwright install``), with
software WebGL and the browser's own calls home switched off. Accessibility is
checked with axe-core (the build bundled by axe-playwright-python); a page passes
when axe finds no violation of impact "serious" or "critical" (WCAG 2.1 AA rules).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
#: Screenshots of the pages, for people (gitignored).
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
# Software WebGL: with no GPU, Chromium renders WebGL2 through ANGLE on SwiftShader.
# Asking for it explicitly keeps that working where the silent fallback is deprecated
# (Chromium warns and will drop it). The network switches keep the browser itself,
# not only the page, from calling home. Playwright adds --headless.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 30_000
#: axe-core impacts that fail a page.
FAILING_IMPACTS = ("serious", "critical")

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package",
)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` over HTTP on a free port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def serious_violations(page: Page, context: Any = None) -> list[str]:
    """axe-core's serious and critical violations on ``page``, one line each (empty: pass).

    axe is injected as a script, which a strict CSP refuses: open the page in a
    context made with ``bypass_csp=True`` to check it (and check the CSP elsewhere).
    """
    results = Axe().run(page, context=context)
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in results.response["violations"]
        if v.get("impact") in FAILING_IMPACTS
    ]


def signed_in(browser: Browser, base_url: str, email: str, password: str, path: str, *,
              bypass_csp: bool = False) -> Page:
    """A tab that opens ``path``, is sent to ``/login``, signs in through the real form and
    lands back on ``path``. Requests to any other origin are refused.

    ``bypass_csp`` lets axe-core be injected (the pages' CSP would refuse it).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                  bypass_csp=bypass_csp)
    context.route(lambda url: not url.startswith(base_url), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(base_url + path)
    expect(page.locator("#email")).to_be_visible()
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(base_url + path)
    return page
