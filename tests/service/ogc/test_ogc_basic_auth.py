"""Desktop GIS with staff credentials: HTTP Basic on the OGC API and tiles, as QGIS sends it.

GDAL's OAPIF driver is the client (``GDAL_HTTP_AUTH=BASIC``, ``GDAL_HTTP_USERPWD``),
against the app served over HTTP. A planner's account (or any user name with a
planner key as the password) sees the exact points of lead paint, an ``aggregated``
service; anonymous callers and wrong passwords do not. Answers that depend on the
caller are never cacheable by a shared cache, nor reusable without asking again.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess

import pytest

from tests.service.staff.support import make_person

pytestmark = pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="gdal-bin not installed")


@pytest.fixture(scope="module")
def live(live_url, city):
    """The OGC API of the app served for this module (tests/conftest.py ``live_url``)."""
    return f"{live_url}/ogc"


def _reports(live: str, out, userpwd: str | None) -> subprocess.CompletedProcess:
    config = ["--config", "GDAL_HTTP_TIMEOUT", "30"]
    if userpwd is not None:
        config += ["--config", "GDAL_HTTP_AUTH", "BASIC", "--config", "GDAL_HTTP_USERPWD", userpwd]
    return subprocess.run(["ogr2ogr", *config, "-f", "GeoJSON", str(out), f"OAPIF:{live}",
                           "reports"], capture_output=True, text=True, timeout=120)


def _lead_points(path) -> dict[str, tuple[float, float]]:
    feats = json.loads(path.read_text())["features"]
    return {f["properties"]["id"]: tuple(f["geometry"]["coordinates"]) for f in feats
            if f["properties"].get("service_code") == "lead_paint"}


def test_a_planner_account_over_basic_sees_exact_lead_paint_points(live, city, engine,
                                                                   tmp_path):
    planner = make_person(engine, "planner", label="qgis")
    ids = {rid: label for label, rid in city.reports.items()}
    runs = {}
    for who, userpwd in (("planner", f"{planner.email}:{planner.password}"),
                         ("anonymous", None)):
        out = tmp_path / f"{who}.geojson"
        done = _reports(live, out, userpwd)
        assert done.returncode == 0, done.stderr
        runs[who] = {ids[i]: xy for i, xy in _lead_points(out).items() if i in ids}
    lead = {label for label in city.reports if label.startswith("lead_")}
    assert set(runs["planner"]) == lead
    # Exact points: the three lead_a reports stand at three different places.
    assert len({runs["planner"][f"lead_a{n}"] for n in (1, 2, 3)}) == 3
    # Anonymous: only the cell with three reporters, at its centre, never the others.
    assert set(runs["anonymous"]) == {"lead_a1", "lead_a2", "lead_a3"}
    assert len(set(runs["anonymous"].values())) == 1


def test_an_api_key_as_the_basic_password_works_and_a_wrong_password_is_refused(
        live, city, api_keys, engine, tmp_path):
    out = tmp_path / "key.geojson"
    done = _reports(live, out, f"anything:{api_keys['planner']}")
    assert done.returncode == 0, done.stderr
    assert {"lead_b1", "lead_c1"} <= {
        label for label, rid in city.reports.items() if rid in _lead_points(out)}
    person = make_person(engine, "planner", label="qgis-wrong")
    bad = _reports(live, tmp_path / "bad.geojson", f"{person.email}:not the password")
    assert bad.returncode != 0 and "401" in bad.stderr


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_basic_answers_401_with_a_basic_challenge_and_only_on_reads(client, engine, city):
    person = make_person(engine, "planner", label="basic")
    wrong = client.get("/ogc/collections/reports/items", headers=_basic(person.email, "nope"))
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith('Basic realm="civicpulse"')
    ok = client.get("/ogc/collections/reports/items?limit=5",
                    headers=_basic(person.email, person.password))
    assert ok.status_code == 200
    # Elsewhere Basic is refused: a browser would replay it on cross-site forms.
    api = client.get("/api/v1/hotspot-runs", headers=_basic(person.email, person.password))
    assert api.status_code == 401 and "Bearer" in api.json["detail"]


def test_answers_that_depend_on_the_caller_are_not_cached_for_others(client, engine, city):
    person = make_person(engine, "planner", label="cache")
    for headers in ({}, _basic(person.email, person.password)):
        items = client.get("/ogc/collections/reports/items?limit=5", headers=headers)
        assert items.headers["Cache-Control"] == "private, no-cache"
        assert "Authorization" in items.headers["Vary"] and "Cookie" in items.headers["Vary"]
    tile = client.get("/tiles/reports/9/0/0.mvt", headers=_basic(person.email, person.password))
    assert tile.status_code == 200 and tile.headers["Cache-Control"] == "private, no-cache"
    public = client.get("/tiles/reports/9/0/0.mvt")
    assert public.headers["Cache-Control"].startswith("public")
