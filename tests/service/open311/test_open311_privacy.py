"""What Open311 readers may see of aggregated services (a home's lead paint).

The reference rule is geo.privacy: staff see exact points; others see the
resolution-8 cell centre once 3 distinct reporters filed the service there, and
nothing of its location before that — including through the radius search.
"""

from __future__ import annotations

import h3
import pytest

from .open311_helpers import BASE, shift

LEAD = {"attribute[built_before_1978]": "yes"}


def lead_report(report, lat, lng, device, **extra):
    """A lead-paint report by ``device`` with an address and a photo link."""
    return report(lat, lng, service_code="lead_paint", device_id=device,
                  address_string="12 Oak Street", address_id="ADDR-77",
                  media_url="https://img.example.org/house.jpg",
                  email="owner@example.org", **LEAD, **extra)


def one(client, rid, headers=None):
    """The single request ``rid`` as JSON."""
    resp = client.get(f"{BASE}/requests/{rid}.json", headers=headers or {})
    assert resp.status_code == 200
    [item] = resp.get_json()
    return item


def found(client, lat, lng, radius, rid, headers=None):
    """Whether a radius search around ``lat, lng`` returns ``rid``."""
    resp = client.get(f"{BASE}/requests.json?lat={lat}&long={lng}&radius={radius}",
                      headers=headers or {})
    assert resp.status_code == 200
    return rid in [r["service_request_id"] for r in resp.get_json()]


@pytest.fixture
def house(place):
    """``(cell centre, exact point)``: a house 200 m north of its cell's centre."""
    centre = place()
    exact = shift(*centre, north_m=200)
    assert h3.latlng_to_cell(*exact, 8) == h3.latlng_to_cell(*centre, 8)
    return centre, exact


def test_single_reporter_is_suppressed_for_the_public(client, api_keys, report, house):
    _centre, exact = house
    rid = lead_report(report, *exact, device="phone-1")
    for role in (None, "app", "grant_writer"):
        item = one(client, rid, api_keys.headers(role))
        assert (item["lat"], item["long"]) == (None, None)
        assert (item["address"], item["address_id"], item["media_url"]) == (None, None, None)
        assert item["description"] is None and item["service_code"] == "lead_paint"


@pytest.mark.parametrize("role", ["planner", "admin"])
def test_staff_see_the_exact_point_and_address(client, api_keys, report, house, role):
    _centre, exact = house
    rid = lead_report(report, *exact, device="phone-1")
    item = one(client, rid, api_keys.headers(role))
    assert (item["lat"], item["long"]) == (pytest.approx(exact[0]), pytest.approx(exact[1]))
    assert (item["address"], item["address_id"]) == ("12 Oak Street", "ADDR-77")
    assert item["media_url"] == "https://img.example.org/house.jpg"


def test_three_reporters_show_the_cell_centre_not_the_house(client, report, house):
    centre, exact = house
    rids = [lead_report(report, *shift(*exact, east_m=10 * i), device=f"phone-{i}")
            for i in range(3)]
    for rid in rids:
        item = one(client, rid)
        assert (item["lat"], item["long"]) == (pytest.approx(centre[0], abs=1e-6),
                                               pytest.approx(centre[1], abs=1e-6))
        assert item["address"] is None and item["address_id"] is None


def test_one_phone_three_times_is_still_one_reporter(client, report, house):
    _centre, exact = house
    rids = [lead_report(report, *exact, device="same-phone") for _ in range(3)]
    assert one(client, rids[-1])["lat"] is None


def test_radius_search_uses_the_visible_point(client, api_keys, report, house):
    centre, exact = house
    rids = [lead_report(report, *exact, device=f"phone-{i}") for i in range(3)]
    planner = api_keys.headers("planner")
    # A small circle on the house finds it for staff, but not for the public:
    # the public point is the cell centre, 200 m away.
    assert found(client, *exact, 50, rids[0], planner)
    assert not found(client, *exact, 50, rids[0])
    assert found(client, *centre, 50, rids[0])
    assert not found(client, *centre, 50, rids[0], planner)


def test_radius_search_cannot_find_a_suppressed_report(client, api_keys, report, house):
    centre, exact = house
    rid = lead_report(report, *exact, device="phone-1")
    for lat, lng in (centre, exact):
        assert not found(client, lat, lng, 1000, rid)
    assert found(client, *exact, 50, rid, api_keys.headers("planner"))


def test_no_contact_or_device_ever_appears(client, api_keys, report, house):
    _centre, exact = house
    rid = lead_report(report, *exact, device="phone-secret-id", phone="+1 555 0199",
                      first_name="Zed", account_id="acct-1")
    for role in (None, "planner"):
        for path in (f"requests/{rid}.json", f"requests/{rid}.xml",
                     f"requests.xml?service_request_id={rid}"):
            body = client.get(f"{BASE}/{path}", headers=api_keys.headers(role)).get_data(
                as_text=True)
            assert rid in body
            for secret in ("owner@example.org", "phone-secret-id", "555 0199", "Zed", "acct-1"):
                assert secret not in body


def test_public_service_is_exact_for_everyone(client, report, place):
    lat, lng = place()
    rid = report(lat, lng, address_string="3 Elm Road")
    item = one(client, rid)
    assert (item["lat"], item["long"]) == (pytest.approx(lat), pytest.approx(lng))
    assert item["address"] == "3 Elm Road"
