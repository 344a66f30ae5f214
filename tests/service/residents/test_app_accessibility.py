"""axe-core finds no serious or critical violation on any screen of the app (WCAG 2.1 AA)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.service.residents.conftest import PLACE, Phone

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def serious(page: Page, screen: str) -> list[str]:
    """Serious and critical violations on the page as it is now."""
    results = page.evaluate(
        "async (tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    assert len(results["passes"]) > 10, "axe did not run its checks"
    return [f"{screen}: {v['id']} ({v['impact']}): {v['help']} at "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_screen_passes_axe(phone: Phone, client: Any, api_keys: Any, language: str) -> None:
    # axe-core is added as an init script: the page's CSP forbids injecting it later.
    phone.context.add_init_script(script=Axe().axe_script)
    lat, lng = PLACE.at(1500, -1500)
    filed = client.post("/api/v1/reports", headers=api_keys.headers("app2"), json={
        "service_code": "flooding", "lat": lat, "long": lng, "attributes": {"depth_cm": 5},
        "description": f"axe-{uuid.uuid4().hex[:8]}"})
    assert filed.status_code == 201
    phone.context.set_geolocation({"latitude": lat, "longitude": lng, "accuracy": 20})

    page = phone.open()
    if language != "en":
        page.select_option("#lang", language)
        page.wait_for_function("(l) => document.documentElement.lang === l", arg=language)
    found = serious(page, "home")

    page.locator('a[href="#report"]').first.click()
    page.locator('input[name="service"][value="flooding"]').check()
    expect(page.locator("#nearby")).to_be_visible()
    page.locator("#report-form button[type=submit]").click()  # the error summary shows
    expect(page.locator("#form-errors li")).not_to_have_count(0)
    found += serious(page, "report")

    page.locator("#q-depth_cm").fill("12")
    page.locator("#description").fill("axe check")
    page.locator("#report-form button[type=submit]").click()
    page.wait_for_function("() => location.hash === '#done'")
    found += serious(page, "done")

    phone.offline()  # one waiting report beside the sent one
    page.goto(f"{phone.base}/app/#report")
    page.wait_for_function("() => document.body.dataset.ready === 'yes'")
    fill_flood_any(page)
    page.goto(f"{phone.base}/app/#mine")
    expect(page.locator("#mine-list li")).to_have_count(2)
    found += serious(page, "mine")
    assert not found, "\n".join(found)


def fill_flood_any(page: Page) -> None:
    """A flood report in whatever language the page speaks, sent while offline."""
    page.locator('input[name="service"][value="flooding"]').check()
    page.locator("#q-depth_cm").fill("3")
    page.locator("#report-form button[type=submit]").click()
    page.wait_for_function("() => location.hash === '#done'")

