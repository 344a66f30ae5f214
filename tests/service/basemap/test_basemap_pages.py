"""The residents' app and the planners' map draw the demo city's streets (screenshots)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from geo.demo.basemap import write_basemap
from geo.demo.city import CENTER_LAT, CENTER_LON
from service import create_app
from tests.browser import ARTIFACTS, TIMEOUT_MS, chromium, needs_chromium, served

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def base(settings: Any, engine: Any, services_loaded: Any, api_keys: Any,
         tmp_path_factory: Any) -> Iterator[str]:
    """The app with the demo basemap and a web key, served."""
    path = tmp_path_factory.mktemp("basemap-pages") / "port-ellis.pmtiles"
    with engine.begin() as conn:
        write_basemap(conn, path)
    configured = dataclasses.replace(settings, basemap=str(path), app_key=api_keys["app"])
    with served(create_app({"TESTING": True, "ACCESS_LOG": False}, settings=configured)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium."""
    with chromium() as made:
        yield made


def watch(page: Page, base: str) -> list[str]:
    """Collect console errors and requests to other origins (there must be none)."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.context.route(lambda url: not url.startswith(base),
                       lambda route: (problems.append(route.request.url), route.abort()))
    page.set_default_timeout(TIMEOUT_MS)
    return problems


def wait_for_streets(page: Page, map_name: str) -> int:
    """Wait until the map draws street features; how many it draws."""
    page.wait_for_function(
        """(name) => { const map = window[name];
            const roads = ['roads-minor', 'roads-major'];
            return map && map.loaded() && map.getLayer('roads-minor')
                && map.queryRenderedFeatures({layers: roads}).length > 0; }""",
        arg=map_name)
    return page.evaluate("(name) => window[name].queryRenderedFeatures({layers: ['roads-minor']})"
                         ".length", map_name)


def test_the_app_shows_the_streets_around_the_resident(browser: Browser, base: str) -> None:
    context = browser.new_context(
        viewport={"width": 412, "height": 915}, device_scale_factor=2, is_mobile=True,
        has_touch=True, permissions=["geolocation"],
        geolocation={"latitude": CENTER_LAT - 0.012, "longitude": CENTER_LON, "accuracy": 10})
    try:
        page = context.new_page()
        problems = watch(page, base)
        page.goto(f"{base}/app/#report")
        page.wait_for_function("() => document.body.dataset.ready === 'yes'")
        page.locator("#location-text").filter(has_text="accurate").wait_for()
        assert wait_for_streets(page, "civicAppMap") > 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#step-location").screenshot(path=str(ARTIFACTS / "app-basemap.png"))
        assert (ARTIFACTS / "app-basemap.png").stat().st_size > 10_000
    finally:
        context.close()
    assert not problems, problems


def test_the_planner_map_shows_the_streets(browser: Browser, base: str, api_keys: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    key = json.dumps(api_keys["planner"])
    context.add_init_script(f"sessionStorage.setItem('civicpulse.apiKey', {key});")
    try:
        page = context.new_page()
        problems = watch(page, base)
        page.goto(f"{base}/planner/")
        page.wait_for_function("() => window.civicMap && window.civicMap.loaded()")
        page.evaluate("([lon, lat]) => window.civicMap.jumpTo({center: [lon, lat], zoom: 14})",
                      [CENTER_LON, CENTER_LAT - 0.012])
        assert wait_for_streets(page, "civicMap") > 3
        page.screenshot(path=str(ARTIFACTS / "planner-basemap.png"))
    finally:
        context.close()
    assert not problems, problems

