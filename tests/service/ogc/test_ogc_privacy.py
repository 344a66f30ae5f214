"""Who sees what through /ogc: exact points for staff, the privacy rule for everyone else."""

from __future__ import annotations

from types import SimpleNamespace

import h3
import pytest

from geo.h3cells import cell_of
from geo.privacy import public_point

PUBLIC_ROLES = [None, "app", "grant_writer"]
STAFF_ROLES = ["planner", "admin"]
SECRET_WORDS = ("Secret Lane", "resident@example.org", "+41 79", "device")


def _reports(client, api_keys, role, query=""):
    resp = client.get(f"/ogc/collections/reports/items?limit=10000{query}",
                      headers=api_keys.headers(role))
    assert resp.status_code == 200
    return resp, {f["id"]: f for f in resp.get_json()["features"]}


def _mine(city, features):
    ids = {pid: label for label, pid in city.reports.items()}
    return {ids[fid]: f for fid, f in features.items() if fid in ids}


def _centre(city, label):
    """Where geo.privacy shows an aggregated report (the Open311 listing's point)."""
    lat, lng = city.points[label]
    row = SimpleNamespace(lat=lat, long=lng, h3_cell=cell_of(lat, lng), privacy="aggregated",
                          cell_reporters=3)
    shown_lat, shown_lng, exact = public_point(row, may_see_exact=False)
    assert not exact
    return [shown_lng, shown_lat]


@pytest.mark.parametrize("role", PUBLIC_ROLES)
def test_public_callers_see_public_points_and_generalised_visible_cells_only(
        client, api_keys, city, role):
    resp, feats = _reports(client, api_keys, role)
    mine = _mine(city, feats)
    assert set(mine) == {"flood1", "flood2", "flood3", "pothole1", "pothole2",
                         "lead_a1", "lead_a2", "lead_a3"}
    lat, lng = city.points["flood1"]
    assert mine["flood1"]["geometry"]["coordinates"] == pytest.approx([lng, lat], abs=1e-7)
    assert mine["flood1"]["properties"]["exact"] is True
    for label in ("lead_a1", "lead_a2", "lead_a3"):
        props = mine[label]["properties"]
        assert mine[label]["geometry"]["coordinates"] == _centre(city, label)
        assert props["exact"] is False
        assert props["description"] is None and props["address_string"] is None
    # Nothing in the answer could name a home or a phone.
    body = resp.get_data(as_text=True)
    lead_text = [str(mine[k]) for k in mine if k.startswith("lead")]
    assert not any(w in t for w in SECRET_WORDS for t in lead_text)
    assert "resident@example.org" not in body and "device_hash" not in body


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_see_every_report_at_its_point(client, api_keys, city, role):
    _, feats = _reports(client, api_keys, role)
    mine = _mine(city, feats)
    assert set(mine) == set(city.reports)
    for label, feature in mine.items():
        lat, lng = city.points[label]
        assert feature["geometry"]["coordinates"] == pytest.approx([lng, lat], abs=1e-7)
        assert feature["properties"]["exact"] is True
        assert "resident@example.org" not in str(feature)
    assert mine["lead_b1"]["properties"]["description"].startswith("lead_b1")


def test_report_counts_and_filters_respect_the_view(client, api_keys, city):
    lat, lng = city.centre
    box = f"&bbox={lng - 0.06},{lat - 0.045},{lng + 0.06},{lat + 0.045}"
    anon = client.get("/ogc/collections/reports/items?limit=1" + box).get_json()
    staff = client.get("/ogc/collections/reports/items?limit=1" + box,
                       headers=api_keys.headers("planner")).get_json()
    assert anon["numberMatched"] == 8 and staff["numberMatched"] == 13
    lead = client.get("/ogc/collections/reports/items?service_code=lead_paint" + box).get_json()
    assert lead["numberMatched"] == 3
    closed = client.get("/ogc/collections/reports/items?status=closed" + box).get_json()
    assert [f["id"] for f in closed["features"]] == [city.reports["flood2"]]
    spring = client.get("/ogc/collections/reports/items?datetime=2024-03-01/2024-03-31" + box,
                        headers=api_keys.headers("planner")).get_json()
    assert {f["id"] for f in spring["features"]} == {
        city.reports[k] for k in ("flood2", "lead_b1", "lead_b2", "lead_c1", "lead_c2", "lead_c3")}
    instant = client.get("/ogc/collections/reports/items?datetime=2024-02-01T10:00:00Z" + box)
    assert [f["id"] for f in instant.get_json()["features"]] == [city.reports["flood1"]]
    assert client.get("/ogc/collections/reports/items?status=lost").status_code == 400


def test_public_bbox_tests_the_shown_point_not_the_stored_one(client, api_keys, city):
    lat, lng = city.points["lead_a1"]
    cx, cy = _centre(city, "lead_a1")
    d = 0.0002
    around_home = f"{lng - d},{lat - d},{lng + d},{lat + d}"
    around_centre = f"{cx - d},{cy - d},{cx + d},{cy + d}"
    assert abs(cx - lng) > 2 * d or abs(cy - lat) > 2 * d  # the boxes are apart
    ids = lambda q, role=None: {  # noqa: E731
        f["id"] for f in client.get(f"/ogc/collections/reports/items?bbox={q}",
                                    headers=api_keys.headers(role)).get_json()["features"]}
    assert city.reports["lead_a1"] not in ids(around_home)
    assert city.reports["lead_a1"] in ids(around_centre)
    assert city.reports["lead_a1"] in ids(around_home, "planner")
    blat, blng = city.points["lead_b1"]
    around_b = f"{blng - 0.02},{blat - 0.02},{blng + 0.02},{blat + 0.02}"
    assert city.reports["lead_b1"] not in ids(around_b)


def test_single_report_follows_the_same_rule(client, api_keys, city):
    hidden = f"/ogc/collections/reports/items/{city.reports['lead_b1']}"
    assert client.get(hidden).status_code == 404
    assert client.get(hidden, headers=api_keys.headers("app")).status_code == 404
    staff = client.get(hidden, headers=api_keys.headers("planner"))
    assert staff.status_code == 200 and staff.get_json()["properties"]["exact"] is True
    shown = client.get(f"/ogc/collections/reports/items/{city.reports['lead_a2']}").get_json()
    assert shown["geometry"]["coordinates"] == _centre(city, "lead_a2")
    assert shown["properties"]["description"] is None


def test_hotspot_counts_below_the_threshold_are_hidden_from_the_public(client, api_keys, city):
    small = {h3.int_to_str(c) for c in city.small_cells}
    url = "/ogc/collections/hotspots/items?limit=10000"
    for role, hidden in ((None, True), ("app", True), ("planner", False), ("admin", False)):
        feats = client.get(url, headers=api_keys.headers(role)).get_json()["features"]
        for f in feats:
            props = f["properties"]
            if f["id"] in small:
                assert (props["reports"] is None) is hidden, (role, props)
                assert (props["weight"] is None) is hidden
            else:
                assert props["reports"] is not None
            assert "reporters" not in props


def test_a_bad_key_is_401_not_anonymous(client, city):
    resp = client.get("/ogc/collections/reports/items",
                      headers={"Authorization": "Bearer cp_not-a-key"})
    assert resp.status_code == 401 and resp.get_json()["code"] == "NotAuthorized"
