"""Real clients against a live server: GDAL's OAPIF driver (ogrinfo, ogr2ogr) and OWSLib."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import h3
import pytest
from sqlalchemy import text

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin not installed")


@pytest.fixture(scope="module")
def live(live_url, city):
    """The OGC API of the app served for this module (tests/conftest.py ``live_url``)."""
    return f"{live_url}/ogc"


def _gdal(*args: str, headers: str | None = None) -> str:
    cmd = [args[0], "--config", "GDAL_HTTP_TIMEOUT", "30"]
    if headers:
        cmd += ["--config", "GDAL_HTTP_HEADERS", headers]
    done = subprocess.run([*cmd, *args[1:]], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _layers(summary: str) -> dict[str, int]:
    """Layer name → Feature Count from ``ogrinfo -so`` output."""
    names = re.findall(r"^Layer name: (\S+)$", summary, re.M)
    counts = [int(n) for n in re.findall(r"^Feature Count: (-?\d+)$", summary, re.M)]
    return dict(zip(names, counts, strict=True))


def _count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_ogrinfo_lists_every_collection_with_its_feature_count(live, city, engine):
    layers = _layers(_gdal("ogrinfo", "-ro", "-al", "-so", f"OAPIF:{live}"))
    expected = {"hotspots", "hotspot-areas", "reports", "boundaries",
                f"hotspot-run-{city.latest_run}", f"hotspot-run-{city.older_run}"}
    assert expected <= set(layers)
    assert layers["hotspots"] == len(city.cells)
    assert layers[f"hotspot-run-{city.older_run}"] == 37
    assert layers["boundaries"] == _count(engine, "SELECT count(*) FROM boundaries")
    assert layers["hotspot-areas"] == 1


def test_ogrinfo_reads_every_feature_of_every_collection(live, city):
    out = _gdal("ogrinfo", "-ro", "-al", "-q", f"OAPIF:{live}", "hotspots", "boundaries",
                "hotspot-areas", "reports")
    assert out.count("OGRFeature(hotspots)") == len(city.cells)
    assert out.count("OGRFeature(hotspot-areas)") == 1
    assert "gi_bin (Integer) = 3" in out and "POLYGON ((" in out
    assert out.count("OGRFeature(reports)") >= 8
    # Anonymous: lead paint reports carry no description (it could name a home).
    assert "lead_a1 at" not in out and "lead_b1" not in out
    assert "resident@example.org" not in out


def test_ogr2ogr_copies_hotspots_to_geojson(live, city, tmp_path):
    out = tmp_path / "hotspots.geojson"
    _gdal("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{live}", "hotspots")
    doc = json.loads(out.read_text())
    assert len(doc["features"]) == len(city.cells)
    assert {f["properties"]["h3"] for f in doc["features"]} == {
        h3.int_to_str(c) for c in city.cells}


def test_ogr2ogr_reports_show_what_the_key_allows(live, city, api_keys, tmp_path):
    mine = set(city.reports.values())
    seen = {}
    for role in (None, "planner"):
        out = tmp_path / f"reports-{role}.geojson"
        header = f"Authorization: Bearer {api_keys[role]}" if role else None
        _gdal("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{live}", "reports", headers=header)
        feats = json.loads(out.read_text())["features"]
        seen[role] = {f["properties"]["id"] for f in feats} & mine
    assert len(seen[None]) == 8 and seen["planner"] == mine


def test_gdal_spatial_and_attribute_filters_reach_the_server(live, city):
    lat, lng = h3.cell_to_latlng(h3.int_to_str(city.hot_cells[0]))
    out = _gdal("ogrinfo", "-ro", "-so", "-spat", str(lng - 0.003), str(lat - 0.002),
                str(lng + 0.003), str(lat + 0.002), f"OAPIF:{live}", "hotspots")
    count = int(re.search(r"Feature Count: (\d+)", out).group(1))
    assert 1 <= count < len(city.cells)


def test_owslib_lists_collections_and_pages_through_items(live, city):
    from owslib.ogcapi.features import Features

    api = Features(live)
    ids = api.feature_collections()
    assert {"hotspots", "hotspot-areas", "reports", "boundaries"} <= set(ids)
    assert api.conformance()["conformsTo"]
    assert api.api()["openapi"].startswith("3.0")
    assert api.collection("hotspots")["itemType"] == "feature"
    seen, offset = [], 0
    while True:
        page = api.collection_items("hotspots", limit=50, offset=offset)
        assert page["numberMatched"] == len(city.cells)
        seen += [f["id"] for f in page["features"]]
        if not any(ln["rel"] == "next" for ln in page["links"]):
            break
        offset += 50
    assert sorted(seen) == sorted(h3.int_to_str(c) for c in city.cells)
    hot = api.collection_items("hotspots", gi_bin="3")
    assert hot["numberMatched"] == 4
    lat, lng = h3.cell_to_latlng(h3.int_to_str(city.hot_cells[0]))
    box = [lng - 0.001, lat - 0.001, lng + 0.001, lat + 0.001]
    boxed = api.collection_items("hotspots", bbox=box)
    assert h3.int_to_str(city.hot_cells[0]) in {f["id"] for f in boxed["features"]}
    one = api.collection_item("hotspots", h3.int_to_str(city.hot_cells[0]))
    assert one["properties"]["gi_bin"] == 3
