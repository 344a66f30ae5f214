"""POST /api/v1/reports and GET /api/v1/reports/{id}: intake, tokens and who sees what."""

from __future__ import annotations

import dataclasses
import json
import random
import uuid

import h3
import pytest
from sqlalchemy import text

from geo.h3cells import cell_of, parent
from geo.privacy import GENERALISED_RESOLUTION
from geo.reports.intake import device_hash

from .reports_support import assert_problem, counts, create, key_id, report

ROLES = (None, "app", "planner", "grant_writer", "admin")


def test_create_json_answers_201_with_the_contract_fields(client, api_keys, engine):
    """A plain JSON report is written once, with its point, answers, contact and event."""
    body = report("flooding", description="Water over the kerb",
                  attributes={"depth_cm": 35, "blocking": "blocked"},
                  contact={"email": "a@example.org", "first_name": "Ana"},
                  device_id="install-1", accuracy_m=8, observed_at="2024-05-01T10:00:00-04:00")
    resp = client.post("/api/v1/reports", json=body, headers=api_keys.headers("app"))
    assert resp.status_code == 201, resp.get_json()
    out = resp.get_json()
    assert set(out) >= {"id", "service_request_id", "status", "token", "client_id",
                        "requested_datetime", "needs_location"}
    assert out["status"] == "open" and out["client_id"] == body["client_id"]
    assert out["needs_location"] is False and out["replayed"] is False
    assert resp.headers["Location"] == f"/api/v1/reports/{out['id']}"
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT ST_Y(geom) AS lat, ST_X(geom) AS long, h3_cell, attributes, "
                 "app_key_id, public_id FROM reports WHERE id = :id"), {"id": out["id"]}
        ).one()
        contact = conn.execute(
            text("SELECT email, first_name FROM reporter_contacts WHERE report_id = :id"),
            {"id": out["id"]},
        ).one()
    assert (row.lat, row.long) == (body["lat"], body["long"])
    assert row.h3_cell == cell_of(body["lat"], body["long"])
    assert row.attributes == {"depth_cm": 35.0, "blocking": "blocked"}
    assert row.app_key_id == key_id(engine, api_keys, "app")
    assert row.public_id == out["service_request_id"]
    assert tuple(contact) == ("a@example.org", "Ana")


def test_create_geojson_feature_takes_the_point_from_geometry(client, api_keys, engine):
    """A Feature's [long, lat] becomes the report's point; repeating it in properties is fine."""
    flat = report()
    props = {k: v for k, v in flat.items() if k not in ("lat", "long")}
    props["lat"] = flat["lat"]  # the same value again is allowed
    feature = {"type": "Feature", "properties": props,
               "geometry": {"type": "Point", "coordinates": [flat["long"], flat["lat"]]}}
    resp = client.post("/api/v1/reports", json=feature, headers=api_keys.headers("app"),
                       content_type="application/geo+json")
    assert resp.status_code == 201, resp.get_json()
    with engine.connect() as conn:
        lat, lng = conn.execute(
            text("SELECT ST_Y(geom), ST_X(geom) FROM reports WHERE id = :id"),
            {"id": resp.get_json()["id"]},
        ).one()
    assert (lat, lng) == (flat["lat"], flat["long"])


@pytest.mark.parametrize(
    ("feature", "field"),
    [
        ({"geometry": {"type": "Point", "coordinates": [10.0, 20.0]},
          "properties": {"service_code": "pothole", "long": 10.5}}, "properties.long"),
        ({"geometry": {"type": "Polygon", "coordinates": []},
          "properties": {"service_code": "pothole"}}, "geometry.type"),
        ({"geometry": {"type": "Point", "coordinates": [10.0]},
          "properties": {"service_code": "pothole"}}, "geometry.coordinates"),
        ({"geometry": {"type": "Point", "coordinates": [10.0, 95.0]},
          "properties": {"service_code": "pothole"}}, "geometry.coordinates[1]"),
        ({"geometry": None, "properties": {"service_code": "pothole"}, "bbox": [0, 0, 1, 1]},
         "bbox"),
        ({"geometry": None, "properties": ["pothole"]}, "properties"),
    ],
)
def test_bad_geojson_feature_is_422_naming_the_member(client, api_keys, engine, feature, field):
    """Inconsistent or malformed Features name the GeoJSON member that is wrong."""
    before = counts(engine)
    resp = client.post("/api/v1/reports", json={"type": "Feature", **feature},
                       headers=api_keys.headers("app"))
    assert_problem(resp, 422, field)
    assert counts(engine) == before


def test_address_only_report_needs_location(client, api_keys, engine):
    """Without a point the report is kept with its address and flagged for staff."""
    out = create(client, api_keys, lat=..., long=..., address_string="12 Harbour Rd")
    assert out["needs_location"] is True
    with engine.connect() as conn:
        geom, cell = conn.execute(
            text("SELECT geom, h3_cell FROM reports WHERE id = :id"), {"id": out["id"]}
        ).one()
    assert geom is None and cell is None


def test_same_client_id_again_answers_the_first_report(client, api_keys, engine):
    """A phone retrying without Idempotency-Key still gets one report, answered 200."""
    body = report()
    first = client.post("/api/v1/reports", json=body, headers=api_keys.headers("app"))
    before = counts(engine)
    again = client.post("/api/v1/reports", json=body, headers=api_keys.headers("app"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["token"] == first.get_json()["token"]
    assert again.get_json()["replayed"] is True
    assert counts(engine) == before
    # Another app key with the same client_id is another phone's report.
    other = client.post("/api/v1/reports", json=body, headers=api_keys.headers("app2"))
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("grant_writer", 403), ("app", 201),
                                              ("planner", 201), ("admin", 201)])
def test_who_may_create(client, api_keys, engine, role, status):
    """Apps and staff file reports; anonymous callers and grant writers cannot."""
    before = counts(engine)["reports"]
    resp = client.post("/api/v1/reports", json=report(), headers=api_keys.headers(role))
    assert resp.status_code == status
    assert counts(engine)["reports"] == before + (status == 201)


def test_jurisdiction_id_is_checked_when_configured(app, client, api_keys, monkeypatch):
    """A report for another city is refused; the configured one is accepted."""
    monkeypatch.setitem(app.config, "SETTINGS",
                        dataclasses.replace(app.config["SETTINGS"], jurisdiction_id="miami.fl.us"))
    wrong = client.post("/api/v1/reports", json=report(jurisdiction_id="buffalo.ny.us"),
                        headers=api_keys.headers("app"))
    assert_problem(wrong, 422, "jurisdiction_id")
    right = client.post("/api/v1/reports", json=report(jurisdiction_id="miami.fl.us"),
                        headers=api_keys.headers("app"))
    assert right.status_code == 201


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("report_id", ["999999999999", "abc", "-1", "1.5", "99999999999999999999",
                                       "１２"])
def test_unknown_or_malformed_id_is_404(client, api_keys, role, report_id):
    """Nobody learns anything from an id that does not exist or cannot."""
    resp = client.get(f"/api/v1/reports/{report_id}", headers=api_keys.headers(role))
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def _without_request_id(resp, report_id):
    """A problem body with the report id spelled ``ID`` and without its request id."""
    body = resp.get_json()
    body.pop("request_id", None)
    return json.dumps(body, sort_keys=True).replace(report_id, "ID")


def test_token_holder_sees_their_report_and_a_wrong_token_sees_nothing(client, api_keys):
    """The token unlocks the exact point, address and history, never the contact; a wrong
    token on a lone lead report gets the 404 of an id never used."""
    out = create(client, api_keys, service="lead_paint", address_string="4 Elm St",
                 contact={"email": "r@example.org"}, device_id="phone-t")
    mine = client.get(f"/api/v1/reports/{out['id']}?token={out['token']}").get_json()
    assert mine["view"] == "reporter" and mine["location_exact"] is True
    assert mine["lat"] is not None and mine["address_string"] == "4 Elm St"
    assert [e["kind"] for e in mine["history"]] == ["submitted"]
    assert "actor_key_id" not in mine["history"][0]
    assert "contact" not in mine and "device_hash" not in mine
    missing = client.get("/api/v1/reports/999999999?token=x")
    for token in (out["token"][:-1] + ("A" if out["token"][-1] != "A" else "B"), "x", ""):
        other = client.get(f"/api/v1/reports/{out['id']}?token={token}")
        assert other.status_code == missing.status_code == 404
        assert _without_request_id(other, str(out["id"])) == \
            _without_request_id(missing, "999999999")


def _reporters_in_one_cell(client, api_keys, lat, lng, n):
    """File ``n`` lead-paint reports at one point from ``n`` different residents (networks)."""
    return [
        create(client, api_keys, service="lead_paint", lat=lat, long=lng,
               device_id=f"dev-{uuid.uuid4()}", address_string="9 Oak Ave",
               description="Paint peeling at number 9", contact={"phone": "555 0100"},
               ip=f"10.{random.randrange(256)}.{random.randrange(256)}.1")
        for _ in range(n)
    ]


@pytest.mark.parametrize("role", ROLES)
def test_privacy_matrix_public_service(client, api_keys, settings, role):
    """A pothole is public: everyone sees its point; only staff see contact and device."""
    out = create(client, api_keys, service="pothole", device_id="dev-p",
                 address_string="1 Main St", description="Deep one",
                 contact={"email": "p@example.org"})
    seen = client.get(f"/api/v1/reports/{out['id']}", headers=api_keys.headers(role)).get_json()
    assert seen["location_exact"] is True and seen["lat"] is not None
    assert seen["description"] == "Deep one"
    if role in ("planner", "admin"):
        assert seen["view"] == "staff"
        assert seen["contact"] == {"email": "p@example.org"}
        assert seen["device_hash"] == device_hash(settings.secret_key, "dev-p").hex()
        assert seen["address_string"] == "1 Main St"
        assert seen["history"][0]["actor_key_id"] is not None
    else:
        assert seen["view"] == "public"
        assert not {"contact", "device_hash", "address_string", "history"} & set(seen)


@pytest.mark.parametrize("role", ROLES)
def test_privacy_matrix_aggregated_service(client, api_keys, role):
    """Lead paint: the public sees nothing until 3 reporters share a cell, then its centre."""
    lat, lng = 12.345678, 23.456789 + (ROLES.index(role) * 0.5)  # one fresh cell per role
    lone = _reporters_in_one_cell(client, api_keys, lat, lng, 1)[0]
    got = client.get(f"/api/v1/reports/{lone['id']}", headers=api_keys.headers(role))
    staff = role in ("planner", "admin")
    if staff:
        seen = got.get_json()
        assert (seen["lat"], seen["long"], seen["location_exact"]) == (lat, lng, True)
        assert seen["contact"] == {"phone": "555 0100"}
        assert seen["description"] == "Paint peeling at number 9"
    else:
        assert got.status_code == 404  # not at all: no status, no time
    _reporters_in_one_cell(client, api_keys, lat, lng, 2)
    seen = client.get(f"/api/v1/reports/{lone['id']}", headers=api_keys.headers(role)).get_json()
    if staff:
        assert (seen["lat"], seen["long"]) == (lat, lng)
    else:
        cell = parent(cell_of(lat, lng), GENERALISED_RESOLUTION)
        centre = h3.cell_to_latlng(h3.int_to_str(cell))
        assert (seen["lat"], seen["long"]) == (round(centre[0], 6), round(centre[1], 6))
        assert seen["location_exact"] is False and (seen["lat"], seen["long"]) != (lat, lng)


def test_status_notes_of_an_aggregated_report_stay_with_staff(client, api_keys):
    """Issue 9: notes ("Inspector visited No. 9, two children under 6") were public for
    aggregated services. Even once its cell is shown, no non-staff surface carries them."""
    lat, lng = -12.345678, -33.456789
    [report, *_] = _reporters_in_one_cell(client, api_keys, lat, lng, 3)
    note = f"Inspector visited, children under 6 {uuid.uuid4().hex[:6]}"
    changed = client.patch(f"/api/v1/reports/{report['id']}", json={"status_notes": note},
                           headers=api_keys.headers("planner"))
    assert changed.status_code == 200 and changed.get_json()["status_notes"] == note
    for role in (None, "app", "grant_writer"):
        headers = api_keys.headers(role)
        seen = client.get(f"/api/v1/reports/{report['id']}", headers=headers)
        assert seen.status_code == 200 and seen.get_json()["status_notes"] is None
        for fmt in ("json", "xml"):
            o311 = client.get(f"/open311/v2/requests/{report['service_request_id']}.{fmt}",
                              headers=headers)
            assert o311.status_code == 200 and note not in o311.get_data(as_text=True)
    assert client.get(f"/api/v1/reports/{report['id']}?token={report['token']}"
                      ).get_json()["status_notes"] == note  # the reporter reads them


def test_openapi_documents_every_report_route(client):
    """The API description is generated from the same schemas, with the idempotency header."""
    doc = client.get("/openapi.json").get_json()
    post = doc["paths"]["/api/v1/reports"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "ReportIn" in doc["components"]["schemas"]
    for path in ("/api/v1/reports/{report_id}", "/api/v1/reports/batch",
                 "/api/v1/reports/nearby", "/api/v1/reports/{report_id}/confirmations"):
        assert path in doc["paths"]
