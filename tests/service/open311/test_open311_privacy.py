"""What Open311 readers may see of aggregated services (a home's lead paint).

The reference rule is geo.privacy: staff see exact points; others see the
resolution-8 cell centre once 3 distinct reporters filed the service there, and
nothing at all before that (not its id, status or time), including through the
radius search. A distinct reporter is a distinct client network for app keys:
the tests file "different residents" from different addresses.
"""

from __future__ import annotations

import h3
import pytest

from .open311_helpers import BASE, shift

LEAD = {"attribute[built_before_1978]": "yes"}


def lead_report(report, lat, lng, device, ip="127.0.0.1", **extra):
    """A lead-paint report by ``device`` from address ``ip``, with an address and a photo link."""
    return report(lat, lng, service_code="lead_paint", device_id=device, ip=ip,
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


def _missing(client, rid, headers=None):
    """The answer for ``rid``, with the id spelled as an unused id would be."""
    resp = client.get(f"{BASE}/requests/{rid}.json", headers=headers or {})
    return resp.status_code, resp.get_data(as_text=True).replace(rid, "ID")


def test_single_reporter_is_not_shown_at_all(client, api_keys, report, house):
    """Not its point, nor its id, status or time: the answer of an id never used."""
    _centre, exact = house
    rid = lead_report(report, *exact, device="phone-1")
    for role in (None, "app", "grant_writer"):
        headers = api_keys.headers(role)
        assert _missing(client, rid, headers) == _missing(client, "nosuchid0000", headers)
        assert _missing(client, rid, headers)[0] == 404
        listed = client.get(f"{BASE}/requests.json?service_code=lead_paint&page_size=200",
                            headers=headers).get_json()
        assert rid not in [r["service_request_id"] for r in listed]
    assert rid in [r["service_request_id"] for r in client.get(
        f"{BASE}/requests.json?service_code=lead_paint&page_size=200",
        headers=api_keys.headers("planner")).get_json()]


def test_fake_reporters_from_one_client_never_unmask_a_lone_report(client, api_keys, report,
                                                                   house):
    """The attack of issue 9: a second key files lead reports beside a lone one, with and
    without invented device ids, from one address. One source counts once, so the victim's
    report stays hidden; two more real neighbours (other networks) do reveal the cell."""
    _centre, exact = house
    victim = lead_report(report, *exact, device="victim-phone", ip="198.51.100.10")
    for i in range(4):
        device = f"invented-{i}" if i % 2 else None
        fields = {"device_id": device} if device else {}
        report(*shift(*exact, east_m=5 * i), service_code="lead_paint", api_key=api_keys["app2"],
               ip="203.0.113.66", **LEAD, **fields)
    assert _missing(client, victim)[0] == 404
    for role in (None, "app", "app2"):
        status, _ = _missing(client, victim, api_keys.headers(role))
        assert status == 404, role
    # The attacker was one reporter: one real neighbour more makes three.
    lead_report(report, *exact, device="neighbour", ip="192.0.2.20")
    assert _missing(client, victim)[0] == 200


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
    rids = [lead_report(report, *shift(*exact, east_m=10 * i), device=f"phone-{i}",
                        ip=f"198.51.{i}.7") for i in range(3)]
    for rid in rids:
        item = one(client, rid)
        assert (item["lat"], item["long"]) == (pytest.approx(centre[0], abs=1e-6),
                                               pytest.approx(centre[1], abs=1e-6))
        assert item["address"] is None and item["address_id"] is None


def test_one_phone_three_times_is_still_one_reporter(client, report, house):
    _centre, exact = house
    rids = [lead_report(report, *exact, device="same-phone") for _ in range(3)]
    assert _missing(client, rids[-1])[0] == 404


def test_radius_search_uses_the_visible_point(client, api_keys, report, house):
    centre, exact = house
    rids = [lead_report(report, *exact, device=f"phone-{i}", ip=f"198.51.{i}.8")
            for i in range(3)]
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
            resp = client.get(f"{BASE}/{path}", headers=api_keys.headers(role))
            body = resp.get_data(as_text=True)
            assert resp.status_code == 200 or role is None
            assert rid in body or role is None
            for secret in ("owner@example.org", "phone-secret-id", "555 0199", "Zed", "acct-1"):
                assert secret not in body


def test_public_service_is_exact_for_everyone(client, report, place):
    lat, lng = place()
    rid = report(lat, lng, address_string="3 Elm Road")
    item = one(client, rid)
    assert (item["lat"], item["long"]) == (pytest.approx(lat), pytest.approx(lng))
    assert item["address"] == "3 Elm Road"
