"""``/staff/admin`` in a real browser: an admin creates an API key (shown once) that then
works, revokes it, and the next request with it is refused; no secret is on the page."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser import ARTIFACTS, chromium, needs_chromium, serious_violations, served, signed_in
from tests.service.staff.support import make_person

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def base_url(app: Any) -> Iterator[str]:
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def status_with(base_url: str, key: str) -> int:
    """The status of a planner's read with ``key``, as a script would send it."""
    request = urllib.request.Request(f"{base_url}/api/v1/hotspot-runs",
                                     headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 (our server)
            json.load(resp)
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_an_admin_creates_and_revokes_a_key_refused_on_the_next_request(
        browser, base_url, engine, settings):
    admin = make_person(engine, "admin")
    page = signed_in(browser, base_url, admin.email, admin.password, "/staff/admin")
    page.fill("#key-name", "QGIS on the planning desk")
    page.select_option("#key-role", "planner")
    page.click("text=Create a key")
    value = page.locator("#new-key-value")
    expect(value).to_contain_text("cp_")
    key = value.inner_text().strip()
    assert status_with(base_url, key) == 200
    row = page.locator("#keys tbody tr").first
    expect(row).to_contain_text("QGIS on the planning desk")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff-admin.png"), full_page=True)
    row.get_by_role("button").click()
    expect(row).to_contain_text("revoked just now")
    assert status_with(base_url, key) == 401
    # The key is shown once: a fresh page lists it by its prefix only.
    page.reload()
    assert key not in page.content()
    assert settings.secret_key not in page.content()
    page.context.close()


def test_the_admin_page_has_no_serious_accessibility_violation(browser, base_url, engine):
    admin = make_person(engine, "admin")
    page = signed_in(browser, base_url, admin.email, admin.password, "/staff/admin",
                     bypass_csp=True)
    found = serious_violations(page)
    page.context.close()
    assert not found, "\n".join(found)
