"""The basemap: the demo city's PMTiles file, served by byte ranges, read back tile by tile."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import math
import re
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
from pmtiles.reader import Reader

from geo.demo.basemap import MAX_ZOOM, MIN_ZOOM, write_basemap
from geo.demo.city import LANDMARKS, to_lonlat
from service import create_app
from service.basemap.views import MAX_AGE, PMTILES_VERSION, STATIC_DIR

VENDOR = STATIC_DIR / "vendor" / "pmtiles"


@pytest.fixture(scope="module")
def basemap(engine: Any, tmp_path_factory: Any) -> Path:
    """The demo city's basemap, written by the same code as ``make demo``."""
    path = tmp_path_factory.mktemp("basemap") / "port-ellis.pmtiles"
    with engine.begin() as conn:
        written = write_basemap(conn, path)
    assert written.tiles > 100 and path.stat().st_size == written.bytes
    return path


@pytest.fixture(scope="module")
def mapped(settings: Any, services_loaded: Any, basemap: Path) -> Any:
    """A client of the app serving that file."""
    configured = dataclasses.replace(settings, basemap=str(basemap))
    return create_app({"TESTING": True, "ACCESS_LOG": False}, settings=configured).test_client()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """``(z, x, y)`` of the web-mercator tile holding a point."""
    n = 2**z
    return (z, int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def test_the_file_is_served_by_byte_ranges_with_caching(mapped: Any, basemap: Path) -> None:
    whole = basemap.read_bytes()
    resp = mapped.get("/basemap/basemap.pmtiles", headers={"Range": "bytes=0-126"})
    assert resp.status_code == 206
    assert resp.headers["Content-Range"] == f"bytes 0-126/{len(whole)}"
    assert resp.get_data() == whole[:127] and resp.get_data()[:7] == b"PMTiles"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.cache_control.public and resp.cache_control.max_age == MAX_AGE
    again = mapped.get("/basemap/basemap.pmtiles", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


def test_a_street_tile_is_read_through_range_requests(mapped: Any) -> None:
    asked: list[str] = []

    def get_bytes(offset: int, length: int) -> bytes:
        header = f"bytes={offset}-{offset + length - 1}"
        asked.append(header)
        resp = mapped.get("/basemap/basemap.pmtiles", headers={"Range": header})
        assert resp.status_code == 206, resp.status_code
        return resp.get_data()

    reader = Reader(get_bytes)
    header = reader.header()
    assert (header["min_zoom"], header["max_zoom"]) == (MIN_ZOOM, MAX_ZOOM)
    x_km, y_km = LANDMARKS.main_road[1]
    lon, lat = to_lonlat(np.array([x_km]), np.array([y_km]))
    z, x, y = tile_of(float(lon[0]), float(lat[0]), 14)
    data = reader.get(z, x, y)
    assert data is not None and len(asked) >= 3  # header, directory, tile
    layers = mapbox_vector_tile.decode(gzip.decompress(data))
    names = {f["properties"].get("name") for f in layers["roads"]["features"]}
    assert "Harbor Boulevard" in names
    assert {"earth", "roads", "places"} <= set(layers)


def test_the_style_draws_the_served_file(mapped: Any, client: Any) -> None:
    style = mapped.get("/basemap/style.json").get_json()
    assert style["sources"]["basemap"]["url"] == "pmtiles:///basemap/basemap.pmtiles"
    assert {layer["id"] for layer in style["layers"]} >= {"earth", "water", "roads-minor"}
    # Without a basemap there is no style or file, and the pages draw no streets.
    assert client.get("/basemap/style.json").status_code == 404
    assert client.get("/basemap/basemap.pmtiles").status_code == 404
    assert 'data-basemap=""' in client.get("/app/").get_data(as_text=True)
    assert 'data-basemap="/basemap/style.json"' in mapped.get("/app/").get_data(as_text=True)
    assert 'data-basemap="/basemap/style.json"' in mapped.get("/planner/").get_data(as_text=True)
    shell = mapped.get("/app/sw.js").get_data(as_text=True)
    assert "/basemap/style.json" in shell and f"pmtiles.js?v={PMTILES_VERSION}" in shell


def test_a_city_style_url_is_used_as_it_is(settings: Any, services_loaded: Any) -> None:
    url = "https://tiles.example.gov/styles/city.json"
    app = create_app({"TESTING": True}, settings=dataclasses.replace(settings, basemap=url))
    page = app.test_client().get("/app/")
    assert f'data-basemap="{url}"' in page.get_data(as_text=True)
    assert "https://tiles.example.gov" in page.headers["Content-Security-Policy"]


def test_vendored_reader_matches_its_notice(client: Any) -> None:
    notice = (VENDOR / "NOTICE").read_text()
    listed = dict(reversed(line.split()) for line in notice.splitlines()
                  if re.fullmatch(r"[0-9a-f]{64}  \S+", line))
    assert listed, "NOTICE lists the files' SHA-256"
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    resp = client.get(f"/basemap/static/vendor/pmtiles/pmtiles.js?v={PMTILES_VERSION}")
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert resp.cache_control.immutable
    assert client.get("/basemap/static/NOTICE").status_code == 404
