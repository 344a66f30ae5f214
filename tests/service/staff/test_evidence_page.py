"""``/staff/evidence`` in a real browser: a grant writer requests a district pack, follows
its progress, downloads the zip (which holds the PDF), and runs a past pack again.

The export job runs through the real outbox relay and an RQ worker (in this process,
burst mode) while the page polls; the page only talks to its own origin.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from redis import Redis
from rq import Queue, Worker
from sqlalchemy import text

from tests.browser import (
    ARTIFACTS,
    needs_chromium,
    serious_violations,
    signed_in,
)
from tests.cities import PLACES, prairie, standing
from tests.service.staff.support import make_person
from workers import context
from workers.relay import relay_once

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def city(app: Any, engine: Any) -> Iterator[prairie.PrairieCity]:
    with standing(engine, prairie.build_city(engine, PLACES["staff-evidence"], seed=5)) as built:
        yield built


@pytest.fixture
def worker(settings: Any, redis_url: str, engine: Any) -> Iterator[Any]:
    """Relay the outbox and run the export queue once, as a worker process would."""
    context.install(settings)
    conn = Redis.from_url(redis_url)
    with engine.begin() as db:
        db.execute(text("UPDATE outbox SET dispatched_at = now() WHERE dispatched_at IS NULL"))

    def work() -> None:
        relay_once(engine, conn)
        Worker([Queue("exports", connection=conn)], connection=conn).work(burst=True)

    yield work
    for key in conn.scan_iter("rq:*"):
        conn.delete(key)
    conn.close()
    context.install(None)


def exports_count(engine: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM evidence_exports")).scalar_one()


def test_a_grant_writer_requests_follows_and_downloads_a_district_pack(
        browser, live_url, city, engine, worker):
    person = make_person(engine, "grant_writer")
    page = signed_in(browser, live_url, person.email, person.password, "/staff/evidence")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    district = next(iter(city.district_ids.values()))
    before = exports_count(engine)
    page.select_option("#area", str(district))
    page.select_option("#run", str(city.run_id))
    page.fill("#budget", "250000")
    page.fill("#cost-flooding", "700")
    expect(page.locator("h1")).to_have_text("Evidence packs")
    page.click("text=Request the pack")
    expect(page.locator("#current-status")).to_contain_text("Pack ")
    assert exports_count(engine) == before + 1
    worker()
    link = page.locator("#current-download")
    expect(link).to_be_visible()
    expect(page.locator("#current-status")).to_contain_text("Ready.")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff-evidence.png"), full_page=True)
    with page.expect_download() as download:
        link.click()
    with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as pack:
        names = pack.namelist()
    assert "evidence.pdf" in names, names
    with engine.connect() as conn:
        params = conn.execute(text("SELECT params FROM evidence_exports ORDER BY id DESC LIMIT 1")
                              ).scalar_one()
    assert params["area"]["boundary_id"] == district and params["budget"] == 250000
    assert params["unit_costs"]["flooding"] == 700
    # The pack is listed with its area; running it again makes a new pack, not a copy.
    row = page.locator("#past tbody tr").first
    expect(row).to_contain_text("Ready.")
    row.get_by_role("button").click()
    expect(page.locator("#current-status")).not_to_contain_text("Ready.")
    assert exports_count(engine) == before + 2
    page.context.close()
    assert not errors, errors


def test_the_evidence_page_has_no_serious_accessibility_violation(browser, live_url, city, engine):
    """Who may open the page is in service/permissions.py (tests/service/test_permissions.py)."""
    person = make_person(engine, "grant_writer")
    page = signed_in(browser, live_url, person.email, person.password, "/staff/evidence",
                     bypass_csp=True)
    page.wait_for_load_state("networkidle")
    found = serious_violations(page)
    page.context.close()
    assert not found, "\n".join(found)
