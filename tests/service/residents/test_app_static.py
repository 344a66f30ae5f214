"""The app over HTTP: public shell, manifest, service worker, vendored files, words."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import re
from typing import Any

import pytest
from PIL import Image

from service import create_app
from service.residents.views import LONG_MAX_AGE, STATIC_DIR

VENDOR = STATIC_DIR / "vendor" / "idb"


@pytest.fixture(scope="module")
def keyed(settings: Any, api_keys: Any, services_loaded: Any) -> Any:
    """A test client of the app with its web key set."""
    configured = dataclasses.replace(settings, app_key=api_keys["app"])
    return create_app({"TESTING": True, "ACCESS_LOG": False}, settings=configured).test_client()


def test_shell_is_public_html_with_a_strict_policy_and_the_public_app_key(keyed, api_keys):
    resp = keyed.get("/app/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert resp.cache_control.no_cache
    body = resp.get_data(as_text=True)
    assert "://" not in body  # nothing from another origin
    assert f'data-key="{api_keys["app"]}"' in body
    # The same page whoever asks: no caller's data in it.
    assert keyed.get("/app/", headers=api_keys.headers("planner")).get_data() == resp.get_data()


def test_without_a_web_key_the_page_says_so(client):
    body = client.get("/app/").get_data(as_text=True)
    assert 'data-key=""' in body and 'id="no-key"' in body


def test_no_inline_script_or_handler_in_the_shell(keyed):
    body = keyed.get("/app/").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", body, re.S)
    assert scripts and all('src="' in attrs and not text.strip() for attrs, text in scripts)
    assert not re.search(r"\son[a-z]+=", body)


def test_manifest_makes_it_installable(client):
    resp = client.get("/app/manifest.webmanifest")
    assert resp.mimetype == "application/manifest+json"
    manifest = resp.get_json()
    assert manifest["start_url"] == "/app/" and manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"]
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200 and got.mimetype == "image/png"
        assert "x".join(map(str, Image.open(io.BytesIO(got.get_data())).size)) == icon["sizes"]


def test_service_worker_keeps_every_shell_file(client):
    resp = client.get("/app/sw.js")
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert resp.cache_control.no_cache
    body = resp.get_data(as_text=True)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", body).group(1))
    assert "/app/" in shell and "/app/services.json" in shell and "/app/i18n/es.json" in shell
    for url in shell:
        assert client.get(url).status_code == 200, url


def test_a_versioned_file_is_cached_for_a_year_and_gzipped(client):
    body = client.get("/app/").get_data(as_text=True)
    url = re.search(r'src="(/app/static/app\.js\?v=[0-9a-f]{12})"', body).group(1)
    resp = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert resp.cache_control.max_age == LONG_MAX_AGE and resp.cache_control.immutable
    assert resp.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(resp.get_data()) == (STATIC_DIR / "app.js").read_bytes()
    plain = client.get("/app/static/app.js")
    assert "Content-Encoding" not in plain.headers and plain.cache_control.no_cache
    again = client.get("/app/static/app.js", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("url", ["/app/static/../views.py", "/app/static/nope.js",
                                 "/app/i18n/xx.json", "/app/i18n/..%2Fviews.json"])
def test_unknown_files_are_404(client, url):
    assert client.get(url).status_code == 404


def test_vendored_idb_matches_its_notice():
    notice = (VENDOR / "NOTICE").read_text()
    listed = dict(reversed(line.split()) for line in notice.splitlines()
                  if re.fullmatch(r"[0-9a-f]{64}  \S+", line))
    assert set(listed) == {"idb.mjs", "LICENSE"}
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "ISC" in (VENDOR / "LICENSE").read_text()


def test_services_carry_their_questions_and_privacy(client):
    listed = client.get("/app/services.json").get_json()["services"]
    services = {s["service_code"]: s for s in listed}
    flooding = services["flooding"]
    assert flooding["privacy"] == "public" and services["lead_paint"]["privacy"] == "aggregated"
    depth = next(a for a in flooding["attributes"] if a["code"] == "depth_cm")
    assert depth["required"] is True and depth["datatype"] == "number"
