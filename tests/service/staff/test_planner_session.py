"""The planner page with the sign-in session instead of a pasted key, in Chromium.

A planner signs in through the form and lands on the map; runs load with the
session cookie, "Run now" posts with the page's CSRF token (a write without it is
refused), a cell reads in plain words with the raw fields one click away, and
"Sign out" ends the session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import ARTIFACTS, TIMEOUT_MS, needs_chromium
from tests.service.staff.support import make_person

pytestmark = needs_chromium


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def test_a_planner_signs_in_and_the_map_page_works_with_the_session(live_url, tab, engine,
                                                                  services_loaded):
    planner = make_person(engine, "planner")
    tab.goto(f"{live_url}/planner/")
    expect(tab.locator("#map-msg")).to_contain_text("Sign in to load the runs")
    tab.get_by_role("link", name="Sign in").click()
    tab.get_by_label("Email").fill(planner.email)
    tab.get_by_label("Password").fill(planner.password)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{live_url}/planner/")
    expect(tab.locator("#who-role")).to_contain_text(f"planner ({planner.email})")
    assert tab.evaluate("() => sessionStorage.getItem('civicpulse.apiKey')") is None
    # A write with the session: the page sends its CSRF token.
    tab.locator("#run-now").click()
    expect(tab.locator("#run-msg")).to_contain_text("queued")
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "planner-signed-in.png"))
    # The same write without the token is refused, though the cookie goes along.
    status = tab.evaluate("""() => fetch('/api/v1/hotspot-runs', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{"services": ["pothole"]}'})
        .then(r => r.status)""")
    assert status == 403
    tab.get_by_role("button", name="Sign out").click()
    tab.wait_for_url(f"{live_url}/login")
    who = tab.evaluate("() => fetch('/planner/whoami').then(r => r.json())")
    assert who["role"] is None


def test_a_cell_reads_in_plain_words(live_url, tab):
    tab.goto(f"{live_url}/planner/")
    words = tab.evaluate("""async () => {
        const m = await import('/planner/static/details.js');
        return [
          m.plainWords({gi_bin: 3, no_data: false, reports: 14, trend: 'intensifying_hot_spot',
                        priority_rank: 1}),
          m.plainWords({gi_bin: 0, no_data: true, reports: 0}),
          m.plainWords({gi_bin: -1, no_data: false, reports: 1, trend: null}),
        ];
    }""")
    assert words == [
        "Hot spot, 99 % confidence; 14 reports; rising; priority 1",
        "No data: no reports in the neighbourhood; 0 reports",
        "Cold spot, 90 % confidence; 1 report",
    ]
