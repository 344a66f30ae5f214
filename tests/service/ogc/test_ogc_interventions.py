"""The ``interventions`` OGC collection: public facts for all, money and effect for staff, GDAL."""

from __future__ import annotations

import shutil
import subprocess
import threading

import pytest
from werkzeug.serving import make_server

from geo.evaluation import evaluate, interventions

SQUARE = {"type": "Polygon", "coordinates": [[[-70.30, 43.60], [-70.29, 43.60], [-70.29, 43.61],
                                              [-70.30, 43.61], [-70.30, 43.60]]]}


@pytest.fixture(scope="module")
def intervention(app, engine):
    with engine.begin() as conn:
        iid = interventions.create(conn, {
            "name": "OGC culvert renewal", "programme": "Stormwater", "services": ["flooding"],
            "geometry": SQUARE, "start_date": "2025-04-01", "end_date": "2025-04-30",
            "cost": 77000, "funding_source": "State revolving fund"})
    evaluate.run(engine, iid, 1)
    return iid


def _item(client, iid, headers=None):
    resp = client.get(f"/ogc/collections/interventions/items/{iid}", headers=headers or {})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_the_public_sees_what_was_done_but_not_the_money(client, intervention):
    props = _item(client, intervention)["properties"]
    assert props["name"] == "OGC culvert renewal" and props["services"] == ["flooding"]
    assert props["start_date"] == "2025-04-01"
    assert not {"cost", "funding_source", "effect_ratio"} & set(props)


@pytest.mark.parametrize("role", ["planner", "grant_writer", "admin"])
def test_staff_see_cost_and_the_evaluation(client, api_keys, intervention, role):
    feature = _item(client, intervention, api_keys.headers(role))
    assert feature["geometry"]["type"] == "MultiPolygon"
    props = feature["properties"]
    assert props["cost"] == 77000 and props["evaluation_status"] == "succeeded"
    assert "effect_ratio" in props


def test_the_collection_is_listed_with_its_extent(client, intervention):
    doc = client.get("/ogc/collections/interventions").get_json()
    assert doc["id"] == "interventions"
    x0, y0, x1, y1 = doc["extent"]["spatial"]["bbox"][0]
    assert x0 <= -70.30 and x1 >= -70.29 and y0 <= 43.60 and y1 >= 43.61


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin not installed")
def test_gdal_reads_the_collection(app, intervention):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            ["ogrinfo", "-ro", "-al", "-q", "--config", "GDAL_HTTP_TIMEOUT", "30",
             f"OAPIF:http://127.0.0.1:{server.server_port}/ogc", "interventions"],
            capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert done.returncode == 0, done.stderr
    assert "OGC culvert renewal" in done.stdout and "MULTIPOLYGON" in done.stdout


def test_the_tile_layer_holds_the_footprint_with_its_public_facts(client, intervention):
    import mapbox_vector_tile

    from tests.service.tiles.test_tiles import tile_of

    z, x, y = tile_of(43.605, -70.295, 14)
    resp = client.get(f"/tiles/interventions/{z}/{x}/{y}.mvt")
    assert resp.status_code == 200 and resp.data
    layer = mapbox_vector_tile.decode(resp.data)["interventions"]
    props = [f["properties"] for f in layer["features"]]
    assert {"id": intervention, "name": "OGC culvert renewal", "programme": "Stormwater",
            "services": "flooding", "start_date": "2025-04-01",
            "end_date": "2025-04-30"} in props
    assert all("cost" not in p for p in props)
    meta = client.get("/tiles/interventions.json").get_json()
    assert meta["vector_layers"][0]["id"] == "interventions"
