"""A resident reports a flood from a phone, follows it, and says "me too" to another."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import text

from tests.photo_samples import jpeg
from tests.service.residents.conftest import ARTIFACTS, PLACE, Phone, fill_flood


def reports_with(engine: Any, tag: str) -> list[Any]:
    """Reports whose description starts with ``tag``."""
    with engine.connect() as conn:
        return list(conn.execute(
            text("SELECT id, public_id, status, attributes, accuracy_m, ST_Y(geom) AS lat, "
                 "ST_X(geom) AS lng, (SELECT count(*) FROM photos p WHERE p.report_id = r.id) "
                 "AS photos FROM reports r WHERE description LIKE :tag ORDER BY id"),
            {"tag": f"{tag}%"}))


def test_a_flood_with_a_photo_is_sent_and_followed_under_my_reports(
    phone: Phone, engine: Any, client: Any, api_keys: Any, tmp_path: Any
) -> None:
    tag = f"flood-{uuid.uuid4().hex[:8]}"
    page = phone.open()
    page.get_by_role("link", name="Report a problem").click()
    expect(page.locator("#location-text")).to_contain_text("accurate to about 8 m")

    # A required question is required: the form names it instead of sending.
    page.get_by_role("radio", name="Street flooding").check()
    expect(page.locator("#q-depth_cm")).to_have_attribute("aria-required", "true")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#form-errors")).to_contain_text("How deep is the water (cm)?")

    # A photo taken 60 m north: its EXIF position is offered, and taken.
    taken = PLACE.at(60, 0)
    photo = tmp_path / "flood.jpg"
    photo.write_bytes(jpeg((3000, 1500), gps=taken))
    page.set_input_files("#photo-input", str(photo))
    expect(page.locator("#photo-list img")).to_have_count(1)
    page.get_by_role("button", name="Use the photo's location").click()
    expect(page.locator("#location-text")).to_contain_text("where the photo was taken")

    fill_flood(page, "25", f"{tag} water over the kerb")
    page.get_by_label("Email").fill("resident@example.org")
    page.get_by_role("button", name="Send report").click()
    expect(page.locator("#done-title")).to_have_text("Report sent")

    [row] = reports_with(engine, tag)
    assert row.attributes == {"depth_cm": 25}
    assert abs(row.lat - taken[0]) < 1e-5 and abs(row.lng - taken[1]) < 1e-5
    assert row.photos == 1
    with engine.connect() as conn:
        width = conn.execute(text("SELECT width FROM photos WHERE report_id = :id"),
                             {"id": row.id}).scalar_one()
    assert width == 2048  # downscaled on the phone before upload

    page.get_by_role("link", name="My reports").click()
    item = page.locator(f'#mine-list li[data-report-id="{row.id}"]')
    expect(item.locator('[data-field="status"]')).to_have_text("Open")

    # Staff change the status; the app shows it next time the list is opened.
    answer = client.patch(f"/api/v1/reports/{row.id}", headers=api_keys.headers("planner"),
                          json={"status": "in_progress", "status_notes": "Crew on the way"})
    assert answer.status_code == 200
    page.reload()
    expect(item.locator('[data-field="status"]')).to_have_text("In progress")
    expect(item.locator('[data-field="status_notes"]')).to_contain_text("Crew on the way")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "app-my-reports.png"), full_page=True)

    # Forgetting a report forgets its token: the phone keeps nothing of it.
    item.get_by_role("button").click()
    expect(item).to_have_count(0)
    kept = page.evaluate("""async () => {
        const db = await new Promise((ok) => { const r = indexedDB.open('civicpulse');
                                               r.onsuccess = () => ok(r.result); });
        return await new Promise((ok) => {
            const r = db.transaction('mine').objectStore('mine').getAll();
            r.onsuccess = () => ok(JSON.stringify(r.result)); });
    }""")
    assert str(row.id) not in kept and "token" not in kept


def test_me_too_adds_a_confirmation_not_a_report(
    phone: Phone, engine: Any, client: Any, api_keys: Any
) -> None:
    tag = f"metoo-{uuid.uuid4().hex[:8]}"
    lat, lng = PLACE.at(-1500, 1500)
    filed = client.post("/api/v1/reports", headers=api_keys.headers("app2"), json={
        "service_code": "flooding", "lat": lat, "long": lng, "attributes": {"depth_cm": 10},
        "description": f"{tag} first", "device_id": "another-phone"})
    assert filed.status_code == 201
    report = filed.get_json()
    phone.context.set_geolocation({"latitude": lat, "longitude": lng + 0.0002, "accuracy": 5})

    page = phone.open("#report")
    expect(page.locator("#location-text")).to_contain_text("accurate to about 5 m")
    page.get_by_role("radio", name="Street flooding").check()
    nearby = page.locator("#nearby")
    expect(nearby).to_be_visible()
    expect(nearby).to_contain_text(f"Report {report['service_request_id']}")
    nearby.get_by_role("button", name=f"Me too: report {report['service_request_id']}").click()
    expect(page.locator("#done-title")).to_have_text("Thank you")

    assert len(reports_with(engine, tag)) == 1
    with engine.connect() as conn:
        confirmations = conn.execute(
            text("SELECT confirmations FROM reports WHERE id = :id"), {"id": report["id"]}
        ).scalar_one()
    assert confirmations == 1
