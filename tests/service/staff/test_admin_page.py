"""The admin page in Chromium: a person signs in, creates a key (shown once) and revokes it.

The key is used over the API in between, and refused on the very next request after
the revocation. axe-core finds no serious or critical violation on the page.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
from playwright.sync_api import Page

from tests.browser import ARTIFACTS, needs_chromium, serious_violations
from tests.service.staff.support import make_person

pytestmark = needs_chromium


def sign_in_page(tab: Page, base: str, person, next_path: str) -> None:
    """Sign in through the form, as a person types it."""
    tab.goto(f"{base}/login?next={quote(next_path)}")
    tab.get_by_label("Email").fill(person.email)
    tab.get_by_label("Password").fill(person.password)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(f"{base}{next_path}")


def test_an_admin_creates_a_key_uses_it_and_revokes_it(live_url, tab, engine):
    admin = make_person(engine, "admin")
    sign_in_page(tab, live_url, admin, "/staff/admin")
    assert serious_violations(tab) == []
    tab.get_by_label("Who holds it").fill("QGIS desk 4")
    tab.locator("#key-role").select_option("planner")
    tab.get_by_role("button", name="Create key").click()
    key = tab.locator("#new-key").inner_text().strip()
    assert key.startswith("cp_")
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "staff-admin.png"), full_page=True)

    bearer = {"Authorization": f"Bearer {key}"}
    who = httpx.get(f"{live_url}/planner/whoami", headers=bearer)
    assert who.json() == {"role": "planner", "name": "QGIS desk 4"}
    # The page never shows it again.
    tab.goto(f"{live_url}/staff/admin")
    assert key not in tab.content()

    row = tab.locator("#keys tr", has_text="QGIS desk 4")
    row.get_by_role("button", name="Revoke").click()
    tab.locator("#admin-message").wait_for()
    assert "revoked" in tab.locator("#admin-message").inner_text()
    refused = httpx.get(f"{live_url}/planner/whoami", headers=bearer)
    assert refused.status_code == 401


def test_other_roles_see_no_access_and_anonymous_is_sent_to_sign_in(live_url, tab, engine):
    tab.goto(f"{live_url}/staff/admin")
    assert "/login?next=" in tab.url
    planner = make_person(engine, "planner")
    sign_in_page(tab, live_url, planner, "/staff/")
    resp = tab.goto(f"{live_url}/staff/admin")
    assert resp is not None and resp.status == 403
    assert tab.get_by_role("heading", name="No access").is_visible()
