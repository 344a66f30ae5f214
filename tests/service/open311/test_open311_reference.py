"""Open311 discovery, services, service definitions, and the error surface."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

from .open311_helpers import BASE, error_of, parse_xml

READ_ONLY = ["discovery", "services", "services/flooding"]


@pytest.mark.parametrize("path", READ_ONLY)
@pytest.mark.parametrize("role", [None, "app", "grant_writer", "planner"])
def test_read_only_resources_need_no_key(client, api_keys, path, role):
    resp = client.get(f"{BASE}/{path}.json", headers=api_keys.headers(role))
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"


def test_discovery_json(client, engine):
    resp = client.get(f"{BASE}/discovery.json")
    body = resp.get_json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(updated_at) FROM services")).scalar()
    assert body["changeset"] == latest.isoformat(timespec="seconds")
    [endpoint] = body["endpoints"]
    assert endpoint == {
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": "http://localhost/open311/v2",
        "changeset": body["changeset"],
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }


def test_discovery_xml_uses_spec_element_names(client):
    root = parse_xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [e.tag for e in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


def test_discovery_url_prefers_configured_public_url(app, client, settings, monkeypatch):
    monkeypatch.setitem(app.config, "SETTINGS",
                        dataclasses.replace(settings, public_base_url="https://311.city.gov"))
    body = client.get(f"{BASE}/discovery.json").get_json()
    assert body["endpoints"][0]["url"] == "https://311.city.gov/open311/v2"


def test_services_json(client):
    items = {s["service_code"]: s for s in client.get(f"{BASE}/services.json").get_json()}
    assert items["flooding"] == {
        "service_code": "flooding",
        "service_name": "Street flooding",
        "description": "",
        "metadata": True,
        "type": "realtime",
        "keywords": "flood,water,storm",
        "group": "Water",
    }
    assert items["pothole"]["metadata"] is False


def test_services_xml(client):
    root = parse_xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and {e.tag for e in root} == {"service"}
    flooding = next(s for s in root if s.findtext("service_code") == "flooding")
    assert flooding.findtext("metadata") == "true"
    assert flooding.findtext("keywords") == "flood,water,storm"
    assert [e.tag for e in flooding] == ["service_code", "service_name", "description",
                                         "metadata", "type", "keywords", "group"]


def test_service_definition_json(client):
    body = client.get(f"{BASE}/services/lead_paint.json").get_json()
    assert body["service_code"] == "lead_paint"
    first, second = body["attributes"]
    assert first == {
        "variable": True,
        "code": "built_before_1978",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": "",
        "order": 1,
        "description": "Was the building built before 1978?",
        "values": [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"},
                   {"key": "unknown", "name": "Don't know"}],
    }
    assert second["code"] == "surfaces" and second["datatype"] == "multivaluelist"


def test_service_definition_xml(client):
    root = parse_xml(client.get(f"{BASE}/services/lead_paint.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "lead_paint"
    attrs = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attrs] == ["built_before_1978", "surfaces"]
    assert attrs[0].findtext("required") == "true"
    assert [v.findtext("key") for v in attrs[1].findall("values/value")] == [
        "windows", "doors", "porch"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_service_definition_is_404(client, fmt):
    resp = client.get(f"{BASE}/services/nope.{fmt}")
    assert resp.status_code == 404
    code, description = error_of(resp, fmt)
    assert code == 404 and "service_code" in description


@pytest.mark.parametrize("path", ["services.html", "discovery.csv", "requests.txt",
                                  "services/pothole.yaml", "requests/abc.rss"])
def test_unknown_format_is_404_in_json(client, path):
    resp = client.get(f"{BASE}/{path}")
    assert resp.status_code == 404
    code, description = error_of(resp, "json")
    assert code == 404 and "format" in description


def test_unknown_path_is_open311_404(client):
    resp = client.get(f"{BASE}/nothing/here.xml")
    assert resp.status_code == 404
    assert error_of(resp, "xml")[0] == 404


@pytest.mark.parametrize("method,path,allowed", [
    ("delete", "requests.json", "GET, POST"),
    ("put", "services.xml", "GET"),
    ("post", "discovery.json", "GET"),
])
def test_wrong_method_is_open311_405(client, method, path, allowed):
    resp = getattr(client, method)(f"{BASE}/{path}")
    assert resp.status_code == 405
    assert resp.headers["Allow"] == allowed
    assert error_of(resp, path.rsplit(".", 1)[1])[0] == 405


def test_body_too_large_is_open311_413(app, post, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    resp = post(fmt="xml", service_code="pothole", description="x" * 2000)
    assert resp.status_code == 413
    assert error_of(resp, "xml")[0] == 413


@pytest.fixture
def jurisdiction(app, settings, monkeypatch):
    """Configure the city's jurisdiction_id for one test."""
    monkeypatch.setitem(app.config, "SETTINGS",
                        dataclasses.replace(settings, jurisdiction_id="civic.test"))
    return "civic.test"


@pytest.mark.parametrize("path", ["discovery.json", "services.json", "services/pothole.json",
                                  "requests.json", "tokens/abc.json"])
def test_wrong_jurisdiction_is_404(client, jurisdiction, path):
    resp = client.get(f"{BASE}/{path}?jurisdiction_id=other.gov")
    assert resp.status_code == 404
    assert "jurisdiction_id" in error_of(resp)[1]


def test_right_or_empty_jurisdiction_is_accepted(client, jurisdiction):
    for query in ("jurisdiction_id=civic.test", "jurisdiction_id=", ""):
        assert client.get(f"{BASE}/services.json?{query}").status_code == 200


def test_wrong_jurisdiction_on_post_is_404(post, jurisdiction, place, count_reports):
    lat, lng = place()
    before = count_reports()
    resp = post(jurisdiction_id="other.gov", service_code="pothole", lat=lat, long=lng)
    assert resp.status_code == 404
    assert "jurisdiction_id" in error_of(resp)[1]
    assert count_reports() == before
    ok = post(jurisdiction_id="civic.test", service_code="pothole", lat=lat, long=lng)
    assert ok.status_code == 200


def test_jurisdiction_is_ignored_when_not_configured(client):
    assert client.get(f"{BASE}/services.json?jurisdiction_id=anything.gov").status_code == 200


def test_openapi_describes_every_open311_operation(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert set(paths[f"{BASE}/requests.{{fmt}}"]) == {"get", "post"}
    post = paths[f"{BASE}/requests.{{fmt}}"]["post"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    for path in ("discovery.{fmt}", "services.{fmt}", "services/{code}.{fmt}",
                 "requests/{request_id}.{fmt}", "tokens/{token}.{fmt}"):
        assert "get" in paths[f"{BASE}/{path}"]
    search = {p["name"] for p in paths[f"{BASE}/requests.{{fmt}}"]["get"]["parameters"]}
    assert {"page", "page_size", "updated_after", "lat", "long", "radius"} <= search
    assert not any("{rest}" in p for p in paths)
