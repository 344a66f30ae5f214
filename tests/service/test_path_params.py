"""Path parameters are typed: a 20-digit id anywhere is a 404, never a 500 (issue 9).

Every rule of the URL map, every method it serves, each of its variables set to
twenty digits, as an admin (who gets furthest into each view): no 5xx, and where the
variable is an ``int`` id the answer is the 404 of an id that does not exist.
"""

from __future__ import annotations

import re

from service.inputs import MAX_BIGINT as MAX_ID

TWENTY = "9" * 20
_VAR = re.compile(r"<(?:([a-z_]+)(?:\([^)]*\))?:)?([a-z_]+)>")
_PLAUSIBLE = {"fmt": "json", "layer": "reports", "collection_id": "hotspots",
              "filename": "x.js", "rest": "x"}


def _requests(app):
    for rule in app.url_map.iter_rules():
        found = _VAR.findall(rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for converter, name in found:
                values = {n: _PLAUSIBLE.get(n, "1") for _, n in found} | {name: TWENTY}
                url = _VAR.sub(lambda m, v=values: v[m.group(2)], rule.rule)
                yield method, rule.rule, url, converter == "int"


def test_twenty_digit_ids_are_404_on_every_route_and_method(app, client, api_keys):
    failures = []
    tried = 0
    for method, rule, url, is_id in _requests(app):
        resp = client.open(url, method=method, json={} if method != "GET" else None,
                           headers=api_keys.headers("admin"))
        tried += 1
        if resp.status_code >= 500 or (is_id and resp.status_code != 404):
            failures.append((method, rule, url, resp.status_code))
    assert tried > 40
    assert failures == []


def test_the_largest_bigint_is_an_id_that_does_not_exist(client, api_keys):
    admin = api_keys.headers("admin")
    for method, url in [("GET", f"/api/v1/reports/{MAX_ID}"),
                        ("PATCH", f"/api/v1/reports/{MAX_ID}"),
                        ("GET", f"/api/v1/hotspot-runs/{MAX_ID}"),
                        ("DELETE", f"/api/v1/keys/{MAX_ID}"),
                        ("GET", f"/api/v1/exports/{MAX_ID}")]:
        resp = client.open(url, method=method, json={"status": "closed"}, headers=admin)
        assert resp.status_code == 404, (method, url, resp.get_json())


def test_the_api_document_types_path_parameters(client):
    doc = client.get("/openapi.json").get_json()
    params = {(path, p["name"]): p["schema"] for path, ops in doc["paths"].items()
              for op in ops.values() for p in op.get("parameters", []) if p["in"] == "path"}
    assert params[("/api/v1/reports/{report_id}", "report_id")]["type"] == "integer"
    assert params[("/api/v1/reports/{report_id}", "report_id")]["maximum"] == MAX_ID
    assert params[("/api/v1/photos/{photo_id}", "photo_id")]["format"] == "uuid"
    assert params[("/tiles/{layer}/{z}/{x}/{y}.mvt", "z")] == {
        "type": "integer", "minimum": 0, "maximum": 22}
    assert params[("/open311/v2/requests.{fmt}", "fmt")]["enum"] == ["json", "xml"]
    # Open311 ids are strings (service_request_id), and its errors are Open311's.
    assert params[("/open311/v2/requests/{request_id}.{fmt}", "request_id")]["type"] == "string"
    errors = doc["paths"]["/open311/v2/requests.{fmt}"]["post"]["responses"]["4XX"]
    assert "application/problem+json" not in errors["content"]
    assert errors["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Errors"}
    assert doc["components"]["schemas"]["ErrorItem"]["required"] == [
        "code", "description"]
