"""Bad input to POST /api/v1/reports: always a 4xx problem naming the field, never a row."""

from __future__ import annotations

import json
import uuid

import pytest

from .reports_support import assert_problem, counts, report

URL = "/api/v1/reports"


def _raw(**fields):
    """A valid report body as bytes, with ``fields`` overriding."""
    return json.dumps(report(**fields)).encode()


# (id, raw body, content type, expected status, field named)
CASES = [
    ("invalid-json", b'{"service_code": "pothole",', "application/json", 400, "body"),
    ("empty-body", b"", "application/json", 400, "body"),
    ("not-utf8", b'{"service_code": "\xff"}', "application/json", 400, "body"),
    ("wrong-content-type", _raw(), "text/plain", 415, "Content-Type"),
    ("form-content-type", b"service_code=pothole", "application/x-www-form-urlencoded", 415,
     "Content-Type"),
    ("lat-91", _raw(lat=91), "application/json", 422, "lat"),
    ("lat-minus-91", _raw(lat=-91), "application/json", 422, "lat"),
    ("long-minus-181", _raw(long=-181), "application/json", 422, "long"),
    ("lat-nan-token", b'{"service_code": "pothole", "lat": NaN, "long": 1}',
     "application/json", 400, "body"),
    ("long-infinity-token", b'{"service_code": "pothole", "lat": 1, "long": Infinity}',
     "application/json", 400, "body"),
    ("long-minus-infinity-token", b'{"service_code": "pothole", "lat": 1, "long": -Infinity}',
     "application/json", 400, "body"),
    ("lat-string", _raw(lat="12.5"), "application/json", 422, "lat"),
    ("lat-bool", _raw(lat=True), "application/json", 422, "lat"),
    ("lat-without-long", _raw(long=...), "application/json", 422, "long"),
    ("no-location-no-address", _raw(lat=..., long=...), "application/json", 422, "lat"),
    ("unknown-service", _raw(service_code="no-such-thing"), "application/json", 422,
     "service_code"),
    ("missing-service", _raw(service_code=...), "application/json", 422, "service_code"),
    ("service-not-a-string", _raw(service_code=7), "application/json", 422, "service_code"),
    ("description-4001", _raw(description="x" * 4001), "application/json", 422, "description"),
    ("required-attribute-missing", _raw(service="flooding", attributes={}), "application/json",
     422, "attributes.depth_cm"),
    ("attribute-not-a-number", _raw(service="flooding", attributes={"depth_cm": "deep"}),
     "application/json", 422, "attributes.depth_cm"),
    ("value-not-allowed", _raw(service="flooding", attributes={"depth_cm": 3,
                                                               "blocking": "maybe"}),
     "application/json", 422, "attributes.blocking"),
    ("multivalue-not-allowed", _raw(service="lead_paint",
                                    attributes={"built_before_1978": "yes",
                                                "surfaces": ["roof"]}),
     "application/json", 422, "attributes.surfaces"),
    ("unknown-attribute", _raw(attributes={"colour": "red"}), "application/json", 422,
     "attributes.colour"),
    ("attributes-not-object", _raw(attributes=["depth"]), "application/json", 422,
     "attributes"),
    ("unknown-field", _raw(colour="red"), "application/json", 422, "colour"),
    ("unknown-contact-field", _raw(contact={"age": 40}), "application/json", 422, "contact.age"),
    ("bad-email", _raw(contact={"email": "not-an-email"}), "application/json", 422,
     "contact.email"),
    ("bad-phone", _raw(contact={"phone": "call me"}), "application/json", 422, "contact.phone"),
    ("client-id-not-uuid", _raw(client_id="1234"), "application/json", 422, "client_id"),
    ("photo-not-uuid", _raw(photos=["abc"]), "application/json", 422, "photos[0]"),
    ("photo-unknown", _raw(photos=[str(uuid.uuid4())]), "application/json", 422, "photos"),
    ("observed-without-offset", _raw(observed_at="2024-05-01T10:00:00"), "application/json",
     422, "observed_at"),
    ("observed-in-future", _raw(observed_at="2999-01-01T00:00:00+00:00"), "application/json",
     422, "observed_at"),
    ("accuracy-negative", _raw(accuracy_m=-1), "application/json", 422, "accuracy_m"),
    ("device-id-empty", _raw(device_id=""), "application/json", 422, "device_id"),
    ("address-too-long", _raw(address_string="x" * 1001), "application/json", 422,
     "address_string"),
    # PostgreSQL text cannot hold NUL: refused naming the field, not a 500 from the insert.
    ("description-nul", _raw(description="deep\x00hole"), "application/json", 422,
     "description"),
    ("contact-key-nul", _raw(contact={"em\x00ail": "a@b.example"}), "application/json", 422,
     "contact.email"),
    ("body-is-a-list", b"[]", "application/json", 422, "body"),
    ("body-is-a-string", b'"pothole"', "application/json", 422, "body"),
    ("feature-bad-geometry", json.dumps({"type": "Feature", "geometry": {"type": "Line"},
                                         "properties": {"service_code": "pothole"}}).encode(),
     "application/geo+json", 422, "geometry.type"),
]


@pytest.mark.parametrize(("raw", "content_type", "status", "field"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_report_is_4xx_naming_the_field_and_writes_nothing(
    client, api_keys, engine, raw, content_type, status, field
):
    """Each bad body answers problem+json naming the field; no table gains a row."""
    before = counts(engine)
    resp = client.post(URL, data=raw, content_type=content_type,
                       headers=api_keys.headers("app", **{"Idempotency-Key": str(uuid.uuid4())}))
    assert_problem(resp, status, field)
    assert counts(engine) == before


def test_body_over_the_size_limit_is_413_problem(app, client, api_keys, engine, monkeypatch):
    """Too large a body is refused before it is read, still as problem+json."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    before = counts(engine)
    resp = client.post(URL, data=_raw(description="x" * 3000), content_type="application/json",
                       headers=api_keys.headers("app"))
    body = assert_problem(resp, 413, "body")
    assert "2048" in body["detail"]
    assert counts(engine) == before


def test_nan_is_named_in_the_detail(client, api_keys):
    """A NaN token says which constant was refused, not only that the JSON is bad."""
    resp = client.post(URL, data=b'{"service_code": "pothole", "lat": NaN, "long": 1}',
                       content_type="application/json", headers=api_keys.headers("app"))
    assert "NaN" in resp.get_json()["detail"]


def test_bad_items_in_a_batch_write_nothing(client, api_keys, engine):
    """A batch of only bad items answers 200 with errors and writes no row at all."""
    before = counts(engine)
    resp = client.post("/api/v1/reports/batch", headers=api_keys.headers("app"),
                       json={"reports": [report(lat=91), report(service_code="x"),
                                         report(photos=[str(uuid.uuid4())])]})
    assert resp.status_code == 200
    assert [r["error"]["field"] for r in resp.get_json()["results"]] == [
        "lat", "service_code", "photos"]
    assert counts(engine) == before
