"""``/docs``: interactive API documentation, self-hosted, complete and accessible.

The document behind it (``/openapi.json``) must describe every operation's request
and response bodies; the page must render every operation in a real browser with
no request leaving the server and no serious accessibility violation.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from service.openapi import build_document
from tests.browser import (
    ARTIFACTS,
    TIMEOUT_MS,
    needs_chromium,
    serious_violations,
)

VENDOR = Path(__file__).resolve().parents[2] / "service/apidocs/static/vendor/swagger-ui"
WRITES = {"post", "put", "patch"}
#: Writes that take no body: re-running an evaluation is a bare POST.
BODILESS_WRITES = {("post", "/api/v1/interventions/{intervention_id}/evaluation")}


def _operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    with app.app_context():
        doc = build_document(app)
    return [(method, path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


def test_every_operation_documents_its_request_and_response_bodies(app):
    missing = []
    operations = _operations(app)
    for method, path, op in operations:
        if method in WRITES and (method, path) not in BODILESS_WRITES:
            body = op.get("requestBody", {}).get("content", {})
            if not body or not all("schema" in media for media in body.values()):
                missing.append(f"{method.upper()} {path}: request body")
        for status, resp in op["responses"].items():
            if not status.startswith("2") or status == "204":
                continue
            content = resp.get("content", {})
            if not content or not all(media.get("schema") for media in content.values()):
                missing.append(f"{method.upper()} {path} {status}: response body")
    assert len(operations) >= 40
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("url", ["/docs", "/docs/"])
def test_docs_page_is_served_with_its_own_assets_only(client, url):
    resp = client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    html = resp.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/docs/static/[^"]+)"', html)
    assert len(assets) == 4, assets
    for asset in assets:
        served_asset = client.get(asset)
        assert served_asset.status_code == 200, asset
        served_asset.close()
    assert all(re.search(r"\?v=[0-9a-f]{12}$", asset) for asset in assets), assets


def test_vendored_swagger_ui_matches_its_checksums():
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    assert len(lines) >= 2
    for line in lines:
        digest, name = line.split()
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


@needs_chromium
def test_docs_render_every_operation_with_its_schemas(app, browser, live_url):
    """The page lists each operation; opening one shows its request and response schemas."""
    count = len(_operations(app))
    outside: list[str] = []
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(lambda u: not u.startswith(live_url),
                  lambda route: (outside.append(route.request.url), route.abort()))
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_url}/docs")
    expect(page.locator(".opblock")).to_have_count(count)
    post = page.locator(".opblock-post", has=page.locator("[data-path='/api/v1/reports']"))
    post.locator(".opblock-summary-control").click()
    expect(post.locator(".opblock-section-request-body .model-box").first).to_be_visible()
    expect(post.locator(".responses-table .response[data-code='201'] .model-box").first
           ).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"), full_page=False)
    context.close()
    assert not outside, outside
    assert not errors, errors


@needs_chromium
def test_docs_have_no_serious_accessibility_violation(browser, live_url):
    """axe-core on the page as first shown and with an operation open."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_url}/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    found = serious_violations(page)
    # A write with a body, a read with query parameters, an Open311 form post.
    for kind, path in (("post", "/api/v1/reports"), ("get", "/api/v1/reports"),
                       ("post", "/open311/v2/requests.{fmt}")):
        block = page.locator(f".opblock-{kind}", has=page.locator(f"[data-path='{path}']"))
        block.locator(".opblock-summary-control").click()
        expect(block.locator(".opblock-body")).to_be_visible()
    found += serious_violations(page)
    context.close()
    assert not found, "\n".join(found)
