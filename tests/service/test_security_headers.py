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
