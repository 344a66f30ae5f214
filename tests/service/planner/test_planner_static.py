"""The map page over HTTP: public HTML with no data, versioned long-cached files, the key's role."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from service.planner.views import LONG_MAX_AGE, MAPLIBRE_VERSION, STATIC_DIR

VENDOR = STATIC_DIR / "vendor" / "maplibre-gl"
OWN_FILES = sorted(p for p in STATIC_DIR.rglob("*") if p.is_file() and VENDOR not in p.parents)


def test_page_is_public_html_that_only_talks_to_its_own_origin(client):
    resp = client.get("/planner/")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert "unsafe-eval" not in csp and "unsafe-inline" not in csp
    assert resp.cache_control.no_cache
    body = resp.get_data(as_text=True)
    # No absolute URL at all: nothing can come from a CDN or a tile server.
    assert "://" not in body
    versioned = re.findall(r'(/planner/static/[^"?]+)\?v=([0-9a-z.]+)"', body)
    assert {path.rsplit("/", 1)[1] for path, _ in versioned} >= {
        "planner.js", "planner.css", "maplibre-gl.mjs", "maplibre-gl.css",
    }
    assert f"MapLibre GL JS {MAPLIBRE_VERSION}" in body


def test_page_holds_no_data_without_a_key(client, api_keys):
    anonymous = client.get("/planner/").get_data(as_text=True)
    as_planner = client.get("/planner/", headers=api_keys.headers("planner")).get_data(as_text=True)
    assert anonymous == as_planner


def test_a_versioned_file_is_cached_for_a_year(client):
    body = client.get("/planner/").get_data(as_text=True)
    url = re.search(r'src="(/planner/static/planner\.js\?v=[0-9a-f]{12})"', body).group(1)
    resp = client.get(url)
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.cache_control.max_age == LONG_MAX_AGE
    assert resp.cache_control.public and resp.cache_control.immutable
    assert resp.get_data() == (STATIC_DIR / "planner.js").read_bytes()


@pytest.mark.parametrize(
    "url",
    ["/planner/static/api.js", "/planner/static/planner.js?v=0000deadbeef",
     "/planner/static/vendor/maplibre-gl/maplibre-gl.mjs?v=0.0.1"],
)
def test_an_unversioned_or_stale_url_is_revalidated(client, url):
    resp = client.get(url)
    assert resp.status_code == 200
    assert resp.cache_control.no_cache and not resp.cache_control.max_age
    again = client.get(url, headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


def test_maplibre_worker_url_gets_the_long_cache(client):
    # MapLibre itself asks for its worker with ?v=<its version>.
    worker = "/planner/static/vendor/maplibre-gl/maplibre-gl-worker.mjs"
    resp = client.get(f"{worker}?v={MAPLIBRE_VERSION}")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.cache_control.max_age == LONG_MAX_AGE


@pytest.mark.parametrize(
    "url", ["/planner/static/../views.py", "/planner/static/%2e%2e/views.py",
            "/planner/static/nothing.js", "/planner/static/vendor"],
)
def test_only_files_under_static_are_served(client, url):
    assert client.get(url).status_code == 404


def test_whoami_names_the_role_of_the_key(client, api_keys):
    assert client.get("/planner/whoami", headers=api_keys.headers("planner")).get_json() == {
        "role": "planner", "name": "test planner",
    }
    assert client.get("/planner/whoami").get_json() == {"role": None, "name": None}
    bad = client.get("/planner/whoami", headers={"Authorization": "Bearer not-a-key"})
    assert bad.status_code == 401


def test_vendored_maplibre_is_the_recorded_release():
    notice = (VENDOR / "NOTICE").read_text()
    assert notice.startswith(f"MapLibre GL JS {MAPLIBRE_VERSION}\n")
    for name in ("maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css", "LICENSE.txt"):
        digest = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in notice, f"{name} differs from the copy NOTICE records"
    banner = (VENDOR / "maplibre-gl.mjs").read_text()[:300]
    assert f"/v{MAPLIBRE_VERSION}/LICENSE.txt" in banner
    assert "BSD" in (VENDOR / "LICENSE.txt").read_text()


def test_our_files_name_no_other_site_and_import_only_what_exists():
    for path in OWN_FILES:
        text = path.read_text()
        assert "http://" not in text and "https://" not in text, path
        for module in re.findall(r'from "\./([^"]+)"', text):
            assert (path.parent / module).is_file(), f"{path.name} imports missing {module}"
    assert Path(STATIC_DIR / "planner.js") in OWN_FILES
