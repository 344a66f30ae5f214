"""Validation errors are our own sentences naming the field and its allowed range.

pydantic's wording ("Input should be less than or equal to 90") must not reach a
client; every surface that validates with pydantic answers the same sentences.
"""

from __future__ import annotations

import pytest

from tests.service.api.reports_support import report

PYDANTIC_WORDS = ("Input should", "String should", "List should", "Field required",
                  "Extra inputs", "valid integer", "valid number")

# (surface, method, path, body or query, field, message)
CASES = [
    ("report lat above", "post", "/api/v1/reports", report(lat=91), "lat",
     "must be between -90 and 90"),
    ("report long below", "post", "/api/v1/reports", report(long=-181), "long",
     "must be between -180 and 180"),
    ("report lat a string", "post", "/api/v1/reports", report(lat="45.1"), "lat",
     "must be a number"),
    ("report description too long", "post", "/api/v1/reports", report(description="x" * 4001),
     "description", "must have at most 4000 characters"),
    ("report device_id empty", "post", "/api/v1/reports", report(device_id=""), "device_id",
     "must have 1 to 200 characters"),
    ("report client_id", "post", "/api/v1/reports", report(client_id="1234"), "client_id",
     "must be a UUID"),
    ("report no offset", "post", "/api/v1/reports", report(observed_at="2024-05-01T10:00:00"),
     "observed_at", "must include a UTC offset (Z or ±hh:mm)"),
    ("report missing service", "post", "/api/v1/reports", report(service_code=...),
     "service_code", "required"),
    ("report unknown field", "post", "/api/v1/reports", report(colour="red"), "colour",
     "unknown field"),
    ("batch item lat", "post", "/api/v1/reports/batch", {"reports": [report(lat=-95)]},
     "reports[0].lat", "must be between -90 and 90"),
    ("run resolution", "post", "/api/v1/hotspot-runs", {"resolution": 12}, "resolution",
     "must be between 5 and 11"),
    ("run half-life zero", "post", "/api/v1/hotspot-runs", {"half_life_days": 0},
     "half_life_days", "must be greater than 0 and at most 3650"),
    ("run measure", "post", "/api/v1/hotspot-runs", {"measure": "mean"}, "measure",
     "must be one of: counts, rates"),
    ("runs page size", "get", "/api/v1/hotspot-runs", {"page_size": "0"}, "page_size",
     "must be between 1 and 250"),
    ("export budget", "post", "/api/v1/exports", {"area": {"city": True}, "budget": -5},
     "budget", "must be at least 0"),
    ("export run word", "post", "/api/v1/exports", {"area": {"city": True}, "run": "newest"},
     "run", 'must be a whole number or "latest"'),
    ("export format", "post", "/api/v1/exports", {"area": {"city": True}, "formats": ["doc"]},
     "formats[0]", "must be one of: pdf, csv, geojson, gpkg"),
]


def _call(client, api_keys, method, path, payload):
    headers = api_keys.headers("admin")
    if method == "get":
        return client.get(path, query_string=payload, headers=headers)
    return client.post(path, json=payload, headers=headers)


@pytest.mark.parametrize(("method", "path", "payload", "field", "message"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_native_api_messages(client, api_keys, method, path, payload, field, message):
    resp = _call(client, api_keys, method, path, payload)
    body = resp.get_json()
    if path.endswith("/batch"):  # a batch answers 200 with per-item errors
        error = body["results"][0]["error"]
        assert f"reports[0].{error['field']}" == field and error["message"] == message
        return
    assert 400 <= resp.status_code < 500, resp.get_data(as_text=True)
    assert body["detail"] == f"{field}: {message}"
    assert {"field": field, "message": message} in body["errors"]
    assert not any(words in resp.get_data(as_text=True) for words in PYDANTIC_WORDS)


@pytest.mark.parametrize(("fields", "description"), [
    ({"lat": "95", "long": "1"}, "lat: must be between -90 and 90"),
    ({"lat": "north", "long": "1"}, "lat: must be a number"),
    ({"lat": "1", "long": "1", "description": "x" * 4001},
     "description: must have at most 4000 characters"),
])
def test_open311_post_messages(client, api_keys, fields, description):
    resp = client.post("/open311/v2/requests.json", headers=api_keys.headers("app"),
                       data={"service_code": "pothole", **fields})
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json() == [{"code": 400, "description": description}]


@pytest.mark.parametrize(("query", "description"), [
    ({"lat": "95", "long": "1", "radius": "100"}, "lat: must be between -90 and 90"),
    ({"page_size": "501"}, "page_size: must be between 1 and 500"),
    ({"page": "0"}, "page: must be between 1 and 100000"),
])
def test_open311_search_messages(client, query, description):
    resp = client.get("/open311/v2/requests.json", query_string=query)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.get_json() == [{"code": 400, "description": description}]
