"""Boundary import: GeoJSON directly, GeoPackage and Shapefile through GDAL, in any CRS."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from geo.boundaries import BoundaryFileError, import_boundaries
from geo.db import make_engine
from tests.geo.private_db import private_database

needs_gdal = pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="GDAL not installed")


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with private_database("boundaries") as url:
        eng = make_engine(url)
        yield eng
        eng.dispose()


def square(lon: float, lat: float, size: float = 0.01) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size],
             [lon, lat]]]


def collection(features: list[dict], crs: str | None = None) -> dict:
    doc: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return doc


def feature(props: dict, coordinates: list, kind: str = "Polygon") -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": kind, "coordinates": coordinates}}


def write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def stored(engine: Engine, name: str):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT id, kind, code, population, ST_GeometryType(geom) AS type, "
            "ST_SRID(geom) AS srid, ST_IsValid(geom) AS valid, ST_X(ST_Centroid(geom)) AS lon, "
            "ST_Y(ST_Centroid(geom)) AS lat, properties FROM boundaries WHERE name = :n"
        ), {"n": name}).one_or_none()


def load(engine: Engine, path: Path, **kwargs):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        return import_boundaries(conn, path, **kwargs)


def test_geojson_districts_with_population_and_code(engine, tmp_path):
    a, b = f"North {uuid.uuid4().hex[:6]}", f"South {uuid.uuid4().hex[:6]}"
    path = write(tmp_path / "d.geojson", collection([
        feature({"name": a, "population": 12500, "code": "N1"}, square(-88.2, 30.4)),
        feature({"name": b, "population": "8300.0"}, [square(-88.2, 30.3)], "MultiPolygon"),
    ]))
    result = load(engine, path, kind="district")
    assert (result.inserted, result.updated) == (2, 0)
    row = stored(engine, a)
    assert (row.kind, row.code, row.population) == ("district", "N1", 12500)
    assert (row.type, row.srid, row.valid) == ("ST_MultiPolygon", 4326, True)
    assert row.lon == pytest.approx(-88.195) and row.lat == pytest.approx(30.405)
    assert stored(engine, b).population == 8300


def test_reimport_replaces_in_place(engine, tmp_path):
    name = f"Tract {uuid.uuid4().hex[:6]}"
    first = load(engine, write(tmp_path / "t.geojson", collection(
        [feature({"name": name, "population": 10}, square(-88.0, 30.0))])), kind="tract")
    old = stored(engine, name)
    again = load(engine, write(tmp_path / "t2.geojson", collection(
        [feature({"name": name, "population": 20}, square(-88.0, 30.0))])), kind="tract")
    assert (first.inserted, again.inserted, again.updated) == (1, 0, 1)
    new = stored(engine, name)
    assert new.id == old.id and new.population == 20


def test_self_intersecting_polygon_is_repaired(engine, tmp_path):
    name = f"Bowtie {uuid.uuid4().hex[:6]}"
    bowtie = [[[-88.0, 30.0], [-87.99, 30.01], [-87.99, 30.0], [-88.0, 30.01], [-88.0, 30.0]]]
    load(engine, write(tmp_path / "b.geojson", collection([feature({"name": name}, bowtie)])),
         kind="district")
    row = stored(engine, name)
    assert row.valid and row.type == "ST_MultiPolygon" and row.population is None


@needs_gdal
def test_geopackage_in_utm_is_reprojected(engine, tmp_path):
    name = f"Harbor {uuid.uuid4().hex[:6]}"
    # A 1 km square in UTM 16N whose centre is at a known longitude/latitude.
    x0, y0 = 384_000.0, 3_360_000.0
    utm = write(tmp_path / "utm.geojson", collection([feature(
        {"NAME": name, "POP2020": 4321},
        [[[x0, y0], [x0 + 1000, y0], [x0 + 1000, y0 + 1000], [x0, y0 + 1000], [x0, y0]]],
    )], crs="urn:ogc:def:crs:EPSG::32616"))
    gpkg = tmp_path / "districts.gpkg"
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(gpkg), str(utm)], check=True)
    load(engine, gpkg, kind="district", population_field="POP2020")
    row = stored(engine, name)
    assert row.population == 4321 and row.properties["NAME"] == name
    # pyproj (installed with the dev tools) gives the reference centre.
    pyproj = pytest.importorskip("pyproj")
    lon, lat = pyproj.Transformer.from_crs(32616, 4326, always_xy=True).transform(
        x0 + 500, y0 + 500)
    assert row.lon == pytest.approx(lon, abs=1e-5) and row.lat == pytest.approx(lat, abs=1e-5)


@needs_gdal
def test_shapefile_with_named_fields(engine, tmp_path):
    name = f"Mill {uuid.uuid4().hex[:4]}"
    src = write(tmp_path / "src.geojson", collection(
        [feature({"DISTNAME": name, "RESIDENTS": 900}, square(-88.1, 30.2))], crs="EPSG:4326"))
    shp = tmp_path / "shp" / "districts.shp"
    shp.parent.mkdir()
    subprocess.run(["ogr2ogr", "-f", "ESRI Shapefile", str(shp), str(src)], check=True)
    load(engine, shp, kind="district", name_field="DISTNAME", population_field="RESIDENTS")
    assert stored(engine, name).population == 900


@needs_gdal
def test_shapefile_without_prj_is_refused_clearly(engine, tmp_path):
    src = write(tmp_path / "src.geojson", collection([feature({"name": "x"}, square(0, 0))]))
    shp = tmp_path / "noprj" / "d.shp"
    shp.parent.mkdir()
    subprocess.run(["ogr2ogr", "-f", "ESRI Shapefile", str(shp), str(src)], check=True)
    shp.with_suffix(".prj").unlink()
    with pytest.raises(BoundaryFileError, match="no coordinate reference system"):
        load(engine, shp, kind="district")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("not json", "not valid JSON"),
        ({"type": "Feature"}, "expected a GeoJSON FeatureCollection"),
        (collection([]), "holds no features"),
        (collection([feature({"name": "ok"}, square(0, 0)),
                     feature({"name": "pt"}, [0, 0], "Point")]),
         "feature 1.geometry: must be a Polygon or MultiPolygon, not Point"),
        (collection([feature({"label_x": "a"}, square(0, 0))]), "choose a name field"),
        (collection([feature({"name": "a", "population": "many"}, square(0, 0))]),
         "feature 0.population: 'many' is not a number"),
        (collection([feature({"name": "a", "population": -3}, square(0, 0))]),
         "not a whole number"),
        (collection([feature({"name": "a"}, square(0, 0)), feature({"name": "a"}, square(1, 1))]),
         "feature 1.name: 'a' also names feature 0"),
        (collection([feature({"name": "a"}, square(500000, 3000000, 1000))]),
         "not longitude/latitude"),
    ],
)
def test_bad_files_name_the_problem_and_write_nothing(engine, tmp_path, doc, message):
    path = tmp_path / "bad.geojson"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM boundaries")).scalar_one()
    with pytest.raises(BoundaryFileError) as info:
        load(engine, path, kind="district")
    assert message in str(info.value)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM boundaries")).scalar_one() == before


def test_population_field_must_exist_when_named(engine, tmp_path):
    path = write(tmp_path / "p.geojson", collection([feature({"name": "a"}, square(0, 0))]))
    with pytest.raises(BoundaryFileError, match="feature 0.POP: missing"):
        load(engine, path, kind="district", population_field="POP")
