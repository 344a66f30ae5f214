"""The residents' app in a real browser: Debian's Chromium as a phone, a live server.

The app under test carries a real ``app`` key (``CIVICPULSE_APP_KEY``). Every test
fails on a console error, an uncaught page error or a request to another origin.
Scripts handed to Playwright are functions, never bare expressions: the page's CSP
forbids eval.

Offline is real offline: ``set_offline(True)`` does not stop what the service
worker fetches itself (microsoft/playwright#2311), so the ``offline`` helper also
routes every request of the context to a network error, with service-worker
network events switched on (``PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from service import create_app
from tests.browser import CHROMIUM, CHROMIUM_ARGS, served
from tests.cities import PLACES, build, standing

TIMEOUT_MS = 30_000
PLACE = PLACES["residents-app"]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing")


@pytest.fixture(scope="module")
def phone_app(settings: Any, engine: Any, services_loaded: Any, api_keys: Any) -> Any:
    """The app with the web app key set, as ``make demo`` runs it."""
    configured = dataclasses.replace(settings, app_key=api_keys["app"])
    return create_app({"TESTING": True, "ACCESS_LOG": False}, settings=configured)


@pytest.fixture(scope="module")
def place(engine: Any, phone_app: Any) -> Iterator[Any]:
    """This suite's own patch of the map; every report made there is removed after."""
    with standing(engine, build(engine, PLACE)) as city:
        yield city


@pytest.fixture(scope="module")
def server(phone_app: Any) -> Iterator[str]:
    """The app over HTTP on a free port, in a thread (localhost is a secure context)."""
    with served(phone_app) as url:
        yield url


@pytest.fixture(scope="module")
def playwright_phone() -> Iterator[Any]:
    """Playwright with service-worker network events (read when the driver starts)."""
    os.environ["PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS"] = "1"
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright_phone: Any) -> Iterator[Browser]:
    """Headless Chromium from Debian."""
    chromium = playwright_phone.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


def fill_flood(page: Page, depth: str, description: str) -> None:
    """Choose flooding, answer its required question, describe it."""
    page.get_by_role("radio", name="Street flooding").check()
    page.get_by_label("How deep is the water (cm)?").fill(depth)
    page.get_by_label("Description").fill(description)


def wait_for_service_worker(page: Page) -> None:
    """Wait until the service worker has stored the shell and controls the page."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")


class Phone:
    """A phone-sized browser context with granted geolocation, watching for errors."""

    def __init__(self, context: BrowserContext, base: str) -> None:
        self.context = context
        self.base = base
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.offline_now = False
        #: Network errors the test causes itself; the browser logs each as a console error.
        self.expected_errors: set[str] = set()
        context.route(lambda url: not url.startswith(base), self._block)

    def _block(self, route: Any) -> None:
        self.outside.append(route.request.url)
        route.abort()

    def page(self) -> Page:
        """A new tab, failing the test on console and page errors."""
        tab = self.context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.on("console", self._console)
        tab.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        return tab

    def open(self, hash_: str = "") -> Page:
        """The app in a new tab, ready (services loaded, words applied)."""
        tab = self.page()
        tab.goto(f"{self.base}/app/{hash_}")
        tab.wait_for_function("() => document.body.dataset.ready === 'yes'")
        return tab

    def _console(self, message: Any) -> None:
        # Offline, the browser itself logs each refused request: that is the test's doing.
        caused = set(self.expected_errors)
        if self.offline_now:
            caused.add("ERR_INTERNET_DISCONNECTED")
        if message.type == "error" and not any(e in message.text for e in caused):
            self.errors.append(f"console: {message.text}")

    def offline(self) -> None:
        """Cut the network for the page and its service worker."""
        self.offline_now = True
        self.context.set_offline(True)
        self.context.route("**/*", self._disconnected)

    def _disconnected(self, route: Any) -> None:
        route.abort("internetdisconnected")

    def online(self) -> None:
        """Give the network back."""
        self.context.unroute("**/*", self._disconnected)
        self.context.set_offline(False)
        self.offline_now = False


@pytest.fixture
def phone(browser: Browser, playwright_phone: Any, server: str, place: Any) -> Iterator[Phone]:
    """A Pixel-sized phone at this suite's place, its GPS accurate to 8 m."""
    device = dict(playwright_phone.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    lat, lng = PLACE.centre
    context = browser.new_context(
        **device, service_workers="allow", permissions=["geolocation"],
        geolocation={"latitude": lat, "longitude": lng, "accuracy": 8}, locale="en-US",
    )
    made = Phone(context, server)
    yield made
    context.close()
    assert not made.errors, "\n".join(made.errors)
    assert not made.outside, f"requests to other origins: {made.outside}"
