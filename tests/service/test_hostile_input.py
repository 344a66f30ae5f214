"""Hostile input gets a 4xx naming what was wrong, never a 500 (service.inputs).

Every JSON surface is found from the URL map (a view whose ``operation`` declares a
body), so a new POST cannot miss the depth and size limits.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import text

from service import create_app
from service.db import engine as app_engine
from service.inputs import MAX_JSON_DEPTH
from workers import context as worker_context

NESTED = b"[" * 100_000 + b"]" * 100_000


def _json_surfaces(app):
    """(method, URL) of every route that takes a JSON body, with ids filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        meta = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if meta is None or meta["body"] is None:
            continue
        url = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS", "GET"}):
            out.append((method, url))
    return sorted(out)


def test_every_json_surface_is_found(app):
    found = _json_surfaces(app)
    assert ("POST", "/api/v1/reports") in found and ("PATCH", "/api/v1/reports/1") in found
    assert len(found) >= 5, found


@pytest.mark.parametrize("body, status, why", [
    (NESTED, 400, "nested"),
    (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), 400, "nested"),
    (b'{"a":' * 40 + b"1" + b"}" * 40, 400, "nested"),
])
def test_deep_json_is_a_400_naming_the_body_on_every_surface(app, client, api_keys, body,
                                                             status, why):
    for method, url in _json_surfaces(app):
        resp = client.open(url, method=method, data=body, content_type="application/json",
                           headers=api_keys.headers("admin"))
        assert resp.status_code == status, (method, url, resp.get_data(as_text=True)[:300])
        problem = resp.get_json()
        assert problem["errors"][0]["field"] == "body" and why in problem["detail"], problem


def test_json_within_the_depth_limit_reaches_the_schema(client, api_keys):
    # 20 levels is legal JSON for us; the schema then names the field it dislikes.
    deep = {"x": 1}
    for _ in range(20):
        deep = {"x": deep}
    resp = client.post("/api/v1/reports", json={"service_code": "pothole", "lat": 1, "long": 1,
                                                "attributes": {"colour": deep}},
                       headers=api_keys.headers("app"))
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] != "body"


def test_an_oversized_json_body_is_a_413_naming_the_body(app, client, api_keys):
    limit = app.config["SETTINGS"].max_json_bytes
    body = b'{"service_code": "pothole", "description": "' + b"x" * limit + b'"}'
    for method, url in _json_surfaces(app):
        resp = client.open(url, method=method, data=body, content_type="application/json",
                           headers=api_keys.headers("admin"))
        assert resp.status_code == 413, (method, url)
        assert resp.get_json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize("url, status, field", [
    ("/ogc/collections/hotspots/items/-1", 404, "featureId"),
    ("/ogc/collections/hotspots/items/999999999999999999999", 404, "featureId"),
    ("/ogc/collections/hotspots/items/ffffffffffffffffffff", 404, "featureId"),
    ("/tiles/reports/10/1/1.mvt?service=%00", 400, "service"),
    ("/tiles/reports.json?service=a%00b", 400, "service"),
    ("/ogc/collections/reports/items?bbox=%00", 400, "bbox"),
    ("/api/v1/reports/nearby?service_code=pothole%00&lat=1&long=1", 400, "service_code"),
    ("/api/v1/reports/%00", 404, "path"),  # not an id: no route matches
    ("/open311/v2/requests/1%00.json", 404, None),
    ("/open311/v2/requests.json?service_code=%00", 400, None),
    ("/api/v1/hotspot-runs/99999999999999999999", 404, None),
    ("/api/v1/exports/99999999999999999999/download", 404, None),
    ("/ogc/collections/reports/items?bbox=" + "1," * 3000, 400, "bbox"),
])
def test_hostile_paths_and_query_strings_are_4xx(client, api_keys, url, status, field):
    for role in (None, "admin"):
        resp = client.get(url, headers=api_keys.headers(role))
        if role is None and resp.status_code == 401:
            continue
        assert resp.status_code == status, (url, role, resp.get_data(as_text=True)[:300])
        if field:
            assert resp.get_json()["errors"][0]["field"] == field


def test_request_queries_have_a_statement_timeout_and_jobs_do_not(app, settings):
    with app.app_context(), app_engine().connect() as conn:
        web = conn.execute(text("SHOW statement_timeout")).scalar_one()
    assert web == f"{settings.statement_timeout_ms // 1000}s"
    worker_context.install(settings)
    try:
        with worker_context.engine().connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "0"
    finally:
        worker_context.install(None)


def test_a_query_past_the_timeout_is_a_503_problem(settings, services_loaded):
    quick = create_app({"TESTING": True, "ACCESS_LOG": False},
                       settings=dataclasses.replace(settings, statement_timeout_ms=200))

    @quick.get("/api/v1/test-slow")
    def slow():  # a stand-in for any query that runs too long
        with app_engine().connect() as conn:
            conn.execute(text("SELECT pg_sleep(30)"))
        return "finished"

    resp = quick.test_client().get("/api/v1/test-slow")
    assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["type"].endswith("query-timeout")
    assert "200 ms" in resp.get_json()["detail"] and resp.headers["Retry-After"]
