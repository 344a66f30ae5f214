"""Offline: the shell opens from the service worker; reports wait and are filed once."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import text

from tests.photo_samples import jpeg
from tests.service.residents.conftest import Phone, fill_flood, wait_for_service_worker


def count_tagged(engine: Any, tag: str) -> int:
    """How many reports' descriptions start with ``tag``."""
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM reports WHERE description LIKE :t"),
                            {"t": f"{tag}%"}).scalar_one()


def test_an_offline_reload_shows_the_app_from_the_service_worker(phone: Phone) -> None:
    page = phone.open()
    wait_for_service_worker(page)
    phone.offline()
    page.reload()
    page.wait_for_function("() => document.body.dataset.ready === 'yes'")
    expect(page.get_by_role("heading", name="Report a problem in your street")).to_be_visible()
    expect(page.locator("#net")).to_contain_text("Offline")
    # The services came from the worker's copy too: a report can be started offline.
    page.get_by_role("link", name="Report a problem").click()
    expect(page.get_by_role("radio", name="Street flooding")).to_be_visible()


def test_three_offline_reports_are_filed_exactly_once_when_the_first_send_is_cut_off(
    phone: Phone, engine: Any, tmp_path: Any
) -> None:
    tag = f"offline-{uuid.uuid4().hex[:8]}"
    page = phone.open()
    wait_for_service_worker(page)
    phone.offline()
    photo = tmp_path / "street.jpg"
    photo.write_bytes(jpeg((800, 600)))
    for n in range(3):
        page.goto(f"{phone.base}/app/#report")
        fill_flood(page, str(10 + n), f"{tag} number {n}")
        if n == 0:
            page.set_input_files("#photo-input", str(photo))
            expect(page.locator("#photo-list img")).to_have_count(1)
        page.get_by_role("button", name="Send report").click()
        expect(page.get_by_role("heading", name="Saved on this phone")).to_be_visible()
    page.goto(f"{phone.base}/app/#mine")
    expect(page.locator("#mine-list .status.waiting")).to_have_count(3)
    expect(page.locator("#net")).to_contain_text("Reports waiting to send: 3.")
    assert count_tagged(engine, tag) == 0

    # The first batch reaches the server and is committed; its answer never arrives.
    sends: list[int] = []

    def cut_first(route: Any) -> None:
        sends.append(count_tagged(engine, tag))
        if len(sends) == 1:
            answer = route.fetch()
            assert answer.status == 200
            sends.append(count_tagged(engine, tag))
            route.abort("connectionreset")
        else:
            route.continue_()

    phone.expected_errors.add("ERR_CONNECTION_RESET")
    phone.context.route("**/api/v1/reports/batch", cut_first)
    phone.online()
    expect(page.locator("#mine-list li[data-report-id]")).to_have_count(3, timeout=60_000)
    expect(page.locator("#mine-list .status.waiting")).to_have_count(0)
    assert sends[:3] == [0, 3, 3]  # committed by the cut-off send, then retried
    assert count_tagged(engine, tag) == 3
    with engine.connect() as conn:
        photos = conn.execute(text(
            "SELECT count(*) FROM photos p JOIN reports r ON r.id = p.report_id "
            "WHERE r.description LIKE :t"), {"t": f"{tag}%"}).scalar_one()
    assert photos == 1
    expect(page.locator("#net")).to_have_text("")
