"""Sign-in through a real OpenID Connect provider (oidc-provider on Node.js), in Chromium.

The provider's development pages sign in any login name; its accounts carry groups
(tests/oidc/provider.mjs). ``gis-planners`` maps to planner here; ``parks-department``
maps to nothing, and that person must see a plain "no access" page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import text

from service import create_app
from tests.browser import ARTIFACTS, needs_chromium, served
from tests.service.staff.conftest import free_port, start_provider

pytestmark = needs_chromium

CLIENT_ID, CLIENT_SECRET = "civicpulse-test", "oidc-test-secret-0123456789"


@pytest.fixture(scope="module")
def oidc_site(settings, engine, services_loaded) -> Iterator[str]:
    """The app configured for the provider, served; the provider started for it."""
    port = free_port()
    app = create_app({"TESTING": True, "ACCESS_LOG": False}, settings=dataclasses.replace(
        settings, oidc_issuer=f"http://127.0.0.1:{port}", oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_roles={"gis-planners": "planner", "grant-office": "grant_writer"}))
    with served(app) as base:
        provider = start_provider(port, CLIENT_ID, CLIENT_SECRET, f"{base}/login/oidc/callback")
        try:
            yield base
        finally:
            provider.kill()
            provider.wait(timeout=10)
            app.extensions["civicpulse.engine"].dispose()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def _sign_in_at_provider(tab: Page, base: str, login: str, next_path: str = "") -> Any:
    tab.goto(f"{base}/login" + (f"?next={next_path}" if next_path else ""))
    tab.get_by_role("link", name="Sign in with your city account").click()
    tab.locator('input[name="login"]').fill(login)
    tab.locator('input[name="password"]').fill("anything")
    tab.locator('button[type="submit"]').click()
    # The provider asks once to share the scopes with CivicPulse.
    consent = tab.locator('button[type="submit"]:has-text("Continue")')
    consent.wait_for()
    with tab.expect_navigation(url=lambda u: u.startswith(base)):
        consent.click()


def test_a_planner_signs_in_with_the_group_claim_and_sees_the_planner_page(oidc_site, tab,
                                                                           engine):
    _sign_in_at_provider(tab, oidc_site, "ana.planner")
    assert tab.url.startswith(f"{oidc_site}/planner/")
    tab.locator("#sidebar").wait_for()
    who = tab.evaluate("() => fetch('/planner/whoami').then(r => r.json())")
    assert who == {"role": "planner", "name": "ana.planner@city.test"}
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "oidc-planner.png"))
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT role, oidc_subject, password_hash FROM users "
            "WHERE email = 'ana.planner@city.test'")).one()
    assert row.role == "planner" and row.oidc_subject == "ana.planner"
    assert row.password_hash is None


def test_a_person_without_a_mapped_group_sees_no_access(oidc_site, tab):
    _sign_in_at_provider(tab, oidc_site, "pat.parks")
    assert tab.get_by_role("heading", name="No access").is_visible()
    assert "not in any group that gives access" in tab.inner_text("main")
    who = tab.evaluate("() => fetch('/planner/whoami').then(r => r.json())")
    assert who["role"] is None
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "oidc-no-access.png"))
