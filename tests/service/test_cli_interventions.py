"""``civicpulse interventions import``: GeoJSON, GeoPackage and CSV with WKT, all or nothing."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from service.cli import main

SQUARE = [[[-81.0, 30.0], [-80.99, 30.0], [-80.99, 30.01], [-81.0, 30.01], [-81.0, 30.0]]]


@pytest.fixture
def env(settings, services_loaded):
    return {"DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
            "CIVICPULSE_ENV": "test", "CIVICPULSE_SECRET_KEY": settings.secret_key}


def invoke(env, *args):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def feature(name, geometry, **props):
    return {"type": "Feature", "geometry": geometry,
            "properties": {"name": name, "services": "flooding;pothole",
                           "start_date": "2025-05-01", "end_date": "2025-05-20", **props}}


def stored(engine, prefix):
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT name, services, cost, ST_GeometryType(geom) AS kind FROM interventions "
            "WHERE name LIKE :p ORDER BY id"), {"p": prefix + "%"}).all()


def test_geojson_with_a_polygon_and_a_point_with_radius(env, engine, tmp_path):
    path = tmp_path / "programme.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feature("GJ drains", {"type": "Polygon", "coordinates": SQUARE}, cost=9000,
                colour="ignored"),
        feature("GJ pump", {"type": "Point", "coordinates": [-80.98, 30.0]}, radius_m=300),
    ]}))
    result = invoke(env, "interventions", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 2 interventions" in result.output
    rows = stored(engine, "GJ ")
    assert [r.name for r in rows] == ["GJ drains", "GJ pump"]
    assert rows[0].services == ["flooding", "pothole"] and float(rows[0].cost) == 9000
    assert {r.kind for r in rows} == {"ST_MultiPolygon"}
    with engine.connect() as conn:
        queued = conn.execute(text("SELECT count(*) FROM intervention_evaluations e JOIN "
                                   "interventions i ON i.id = e.intervention_id "
                                   "WHERE i.name LIKE 'GJ %'")).scalar()
    assert queued == 2


def test_csv_with_wkt(env, engine, tmp_path):
    path = tmp_path / "programme.csv"
    path.write_text('name,services,start_date,end_date,cost,WKT\n'
                    '"CSV sweep",flooding,2025-06-01,2025-06-01,1500,'
                    '"POLYGON((-81 30,-80.99 30,-80.99 30.01,-81 30.01,-81 30))"\n')
    result = invoke(env, "interventions", "import", str(path))
    assert result.exit_code == 0, result.output
    rows = stored(engine, "CSV ")
    assert len(rows) == 1 and float(rows[0].cost) == 1500


def test_geopackage(env, engine, tmp_path):
    src = tmp_path / "src.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feature("GPKG lead sweep", {"type": "Polygon", "coordinates": SQUARE})]}))
    gpkg = tmp_path / "programme.gpkg"
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(gpkg), str(src)], check=True)
    result = invoke(env, "interventions", "import", str(gpkg))
    assert result.exit_code == 0, result.output
    assert [r.name for r in stored(engine, "GPKG ")] == ["GPKG lead sweep"]


def test_a_bad_feature_names_itself_and_keeps_nothing(env, engine, tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feature("BAD first", {"type": "Polygon", "coordinates": SQUARE}),
        feature("BAD second", {"type": "Polygon", "coordinates": SQUARE}, end_date="2025-01-01"),
    ]}))
    result = invoke(env, "interventions", "import", str(path))
    assert result.exit_code == 1
    assert "feature 1.end_date" in result.output and "nothing was imported" in result.output
    assert stored(engine, "BAD ") == []
