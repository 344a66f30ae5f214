"""Absolute URLs never come from a client's Host header (issue 9).

An attacker sends ``Host: evil.example``. With no ``CIVICPULSE_PUBLIC_URL`` the request
is refused (the host is not in ``CIVICPULSE_TRUSTED_HOSTS``); with one, every absolute
URL — export ``download_url``, TileJSON ``tiles`` (served ``Cache-Control: public``),
Open311 discovery and media links, OGC links, hotspot run links — is the configured one.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text

from geo.hotspots.params import RunParams
from geo.hotspots.runs import create_run
from geo.settings import ConfigError, Settings
from service import create_app
from tests.conftest import SECRET
from tests.live_processes import run_cli

EVIL = {"Host": "evil.example"}
PUBLIC = "https://311.city.example"


@pytest.fixture
def run_and_export(engine, api_keys):
    """A succeeded hotspot run and a succeeded export (rows only: no files are served)."""
    with engine.begin() as conn:
        run = create_run(conn, RunParams.from_dict({"services": ["pothole"]}), enqueue=False)
        conn.execute(text("UPDATE hotspot_runs SET status = 'succeeded', progress = 100, "
                          "finished_at = now() WHERE id = :r"), {"r": run})
        export = conn.execute(text(
            "INSERT INTO evidence_exports (status, progress, params, finished_at) "
            "VALUES ('succeeded', 100, '{}'::jsonb, now()) RETURNING id")).scalar_one()
    yield run, export
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM evidence_exports WHERE id = :e"), {"e": export})
        conn.execute(text("DELETE FROM hotspot_runs WHERE id = :r"), {"r": run})


def _urls(run: int, export: int) -> list[tuple[str, str | None]]:
    """Surfaces that write absolute URLs, with the role that may read each."""
    return [
        ("/open311/v2/discovery.json", None),
        ("/open311/v2/discovery.xml", None),
        ("/open311/v2/requests.json?service_code=pothole", None),
        ("/tiles/reports.json", None),
        ("/tiles/hotspots.json", None),
        ("/ogc/", None),
        ("/ogc/collections", None),
        ("/ogc/collections/reports/items?limit=5", None),
        ("/ogc/api", None),
        (f"/api/v1/hotspot-runs/{run}", "planner"),
        (f"/api/v1/exports/{export}", "grant_writer"),
    ]


def test_an_untrusted_host_is_refused_without_a_public_url(client, api_keys, run_and_export):
    for url, role in _urls(*run_and_export):
        resp = client.get(url, headers={**api_keys.headers(role), **EVIL})
        assert resp.status_code == 400, url
        assert b"//evil.example" not in resp.get_data(), url  # no link to it
    assert client.get("/open311/v2/discovery.json").status_code == 200  # localhost is trusted


def test_links_use_the_public_url_whatever_the_host(settings, api_keys, run_and_export):
    app = create_app({"TESTING": True, "ACCESS_LOG": False},
                     settings=dataclasses.replace(settings, public_base_url=PUBLIC,
                                                  trusted_hosts=()))
    client = app.test_client()
    run, export = run_and_export
    for url, role in _urls(run, export):
        resp = client.get(url, headers={**api_keys.headers(role), **EVIL})
        assert resp.status_code == 200, (url, resp.status_code)
        body = resp.get_data(as_text=True)
        assert "evil.example" not in body, url
    tilejson = client.get("/tiles/reports.json", headers=EVIL).get_json()
    assert tilejson["tiles"][0].startswith(f"{PUBLIC}/tiles/reports/")
    discovery = client.get("/open311/v2/discovery.json", headers=EVIL).get_json()
    assert discovery["endpoints"][0]["url"] == f"{PUBLIC}/open311/v2"
    landing = client.get("/ogc/", headers=EVIL).get_json()
    assert all(link["href"].startswith(f"{PUBLIC}/") for link in landing["links"])
    status = client.get(f"/api/v1/exports/{export}",
                        headers={**api_keys.headers("grant_writer"), **EVIL}).get_json()
    assert status["download_url"].startswith(f"{PUBLIC}/api/v1/exports/{export}/download?")
    runs = client.get(f"/api/v1/hotspot-runs/{run}",
                      headers={**api_keys.headers("planner"), **EVIL}).get_json()
    assert runs["cells_url"] == f"{PUBLIC}/api/v1/hotspot-runs/{run}/cells"


BASE = {"DATABASE_URL": "postgresql://u@h/db", "REDIS_URL": "redis://h:6379/0",
        "CIVICPULSE_SECRET_KEY": "s" * 32}


def test_production_needs_a_public_url_or_trusted_hosts():
    bare = Settings.from_env(BASE)
    with pytest.raises(ConfigError, match="CIVICPULSE_PUBLIC_URL"):
        bare.require_public_origin()
    Settings.from_env({**BASE, "CIVICPULSE_PUBLIC_URL": PUBLIC}).require_public_origin()
    hosts = Settings.from_env({**BASE, "CIVICPULSE_TRUSTED_HOSTS": "311.city.example, .city.gov"})
    assert hosts.trusted_hosts == ("311.city.example", ".city.gov")
    assert Settings.from_env({**BASE, "CIVICPULSE_ENV": "dev"}).trusted_hosts == (
        "localhost", "127.0.0.1")


def test_serve_refuses_to_start_without_them(database_url, redis_url, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "CIVICPULSE_SECRET_KEY": SECRET}
    done = run_cli(["serve", "--port", "1"], env, tmp_path, timeout=60)
    assert done.returncode != 0
    assert "CIVICPULSE_PUBLIC_URL" in done.stderr + done.stdout
