"""Output safety: HTML pages escape report text, signed links refuse junk cleanly."""

from __future__ import annotations

import random
import uuid

import pytest

#: Fresh spots per test from the OS's entropy: a test plugin that re-seeds the global
#: ``random`` per test (pytest-randomly) would otherwise hand every test the same spot.
_SPOTS = random.Random()

SCRIPT = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def scripted(client, api_keys):
    """A pothole (public service) whose description and address carry markup."""
    lat, lng = round(_SPOTS.uniform(-35, 35), 6), round(_SPOTS.uniform(-160, 160), 6)
    body = {"service_code": "pothole", "lat": lat, "long": lng, "client_id": str(uuid.uuid4()),
            "description": SCRIPT, "address_string": SCRIPT}
    resp = client.post("/api/v1/reports", json=body, headers=api_keys.headers("app"))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["service_request_id"], lat, lng


@pytest.mark.parametrize("role", [None, "planner"])
def test_ogc_html_pages_escape_report_text(client, api_keys, scripted, role):
    rid, lat, lng = scripted
    box = f"{lng - 0.001},{lat - 0.001},{lng + 0.001},{lat + 0.001}"
    for url in (f"/ogc/collections/reports/items?bbox={box}&f=html",
                f"/ogc/collections/reports/items/{rid}?f=html"):
        resp = client.get(url, headers=api_keys.headers(role))
        assert resp.status_code == 200 and resp.mimetype == "text/html"
        page = resp.get_data(as_text=True)
        assert "&lt;script&gt;" in page, url
        assert "<script" not in page and "<img" not in page, url


def test_ogc_html_escapes_a_hostile_feature_id(client):
    resp = client.get("/ogc/collections/reports/items/%3Cscript%3E?f=html")
    assert resp.status_code == 404
    # The id is echoed only inside JSON, which no browser renders as a page.
    assert resp.mimetype != "text/html" and "json" in resp.mimetype


@pytest.mark.parametrize("signature", ["é" * 64, "\u0661" * 64, "zz"])
def test_a_non_hex_download_signature_is_403_not_500(client, signature):
    resp = client.get(f"/api/v1/exports/1/download?expires=9999999999&signature={signature}")
    assert resp.status_code == 403
    assert resp.get_json()["type"].endswith("link-invalid")


HTML_PAGES = ["/docs", "/ogc/?f=html", "/ogc/api.html", "/ogc/conformance?f=html",
              "/ogc/collections?f=html", "/ogc/collections/reports?f=html",
              "/ogc/collections/reports/items?f=html", "/planner/"]


def _no_inline_script(csp: str) -> bool:
    """The policy forbids inline and evaluated script (none named, or 'self' only)."""
    parts = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
    script = parts.get("script-src", parts.get("default-src", ""))
    return "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and "*" not in script


@pytest.mark.parametrize("url", HTML_PAGES)
def test_html_pages_send_csp_frame_and_sniffing_headers(client, url):
    resp = client.get(url, headers={"Accept": "text/html"})
    assert resp.status_code == 200 and resp.mimetype == "text/html", url
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and _no_inline_script(csp), csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_every_response_is_unsniffable_and_unframeable(app, client):
    """Every parameterless GET route, and an error, carry the headers."""
    urls = [r.rule for r in app.url_map.iter_rules()
            if "GET" in (r.methods or set()) and "<" not in r.rule] + ["/no/such/page"]
    for url in urls:
        resp = client.get(url)
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", url
        assert resp.headers.get("X-Frame-Options") == "DENY", url
        if resp.mimetype == "text/html":
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"], url


@pytest.mark.parametrize("role, status", [(None, 401), ("app", 403), ("planner", 403),
                                          ("grant_writer", 403), ("admin", 200)])
def test_metrics_are_for_admins(client, api_keys, role, status):
    resp = client.get("/metrics", headers=api_keys.headers(role))
    assert resp.status_code == status
    assert ("civicpulse_http_requests_total" in resp.get_data(as_text=True)) == (status == 200)


def test_metrics_are_open_to_a_configured_network_only(settings, services_loaded):
    import dataclasses

    from service import create_app

    app = create_app({"TESTING": True, "ACCESS_LOG": False},
                     settings=dataclasses.replace(settings, metrics_networks=("10.9.0.0/16",)))
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.9.3.4"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.10.3.4"}).status_code == 401
    assert client.get("/metrics").status_code == 401  # 127.0.0.1 is not in the list
