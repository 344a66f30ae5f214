"""Boundary import: a city's own polygons (city limits, districts, tracts) from GIS files.

Plain GeoJSON in longitude/latitude is read directly. Anything else (GeoPackage,
Shapefile, CSV with a WKT column in longitude/latitude, GeoJSON in a projected CRS)
goes through GDAL's ``ogr2ogr`` into GeoJSON in EPSG:4326 first, because GDAL reads
every format and every CRS a city's GIS team may send. PostGIS then repairs each
geometry (``ST_MakeValid``), keeps its polygons and stores them as one MultiPolygon,
all in one transaction.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely.geometry
from sqlalchemy import Connection, text

from geo.errors import FieldError

KINDS = ("city", "district", "tract")
_LONLAT_CRS = {
    "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326",
    "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:EPSG:4326",
}


class BoundaryFileError(FieldError):
    """A boundary file (or one of its features) cannot be imported; names where."""


@dataclass(frozen=True)
class BoundaryResult:
    """What an import did: new boundaries, and existing ones (same kind and name) replaced."""

    inserted: int
    updated: int


def _ogr2ogr(path: Path, layer: str | None) -> dict[str, Any]:
    """Convert any GDAL-readable vector file to a GeoJSON FeatureCollection in EPSG:4326."""
    if shutil.which("ogr2ogr") is None:
        raise BoundaryFileError(
            path.name, "reading this format needs GDAL's ogr2ogr (apt-get install gdal-bin)"
        )
    with tempfile.TemporaryDirectory(prefix="civicpulse-boundaries-") as tmp:
        out = Path(tmp) / "out.geojson"
        argv = ["ogr2ogr", "-f", "GeoJSON", "-t_srs", "EPSG:4326", str(out), str(path)]
        if path.suffix.lower() == ".csv":
            # A CSV has no CRS of its own: its WKT column is read as longitude/latitude.
            argv[1:1] = ["-s_srs", "EPSG:4326", "-oo", "GEOM_POSSIBLE_NAMES=wkt,geometry,geom",
                         "-oo", "KEEP_GEOM_COLUMNS=NO"]
        if layer:
            argv.append(layer)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0 or not out.exists():
            detail = " ".join(done.stderr.split())[:400] or "no output"
            if "no coordinate system" in detail:
                detail = "the file has no coordinate reference system (a Shapefile needs its .prj)"
            raise BoundaryFileError(path.name, f"GDAL could not read it: {detail}")
        return json.loads(out.read_text(encoding="utf-8"))


def _layers(path: Path) -> list[str]:
    """Layer names of a multi-layer source (GeoPackage); one name or none otherwise."""
    if shutil.which("ogrinfo") is None:
        return []
    done = subprocess.run(
        ["ogrinfo", "-ro", "-q", str(path)], capture_output=True, text=True, timeout=60,
        check=False,
    )
    names = []
    for line in done.stdout.splitlines():
        head, _, rest = line.partition(": ")
        if head.strip().isdigit() and rest:
            names.append(rest.split(" (")[0].strip())
    return names


def read_features(path: Path, layer: str | None = None) -> list[dict[str, Any]]:
    """GeoJSON features of ``path`` in longitude/latitude, converting with GDAL when needed."""
    if not path.is_file():
        raise BoundaryFileError(path.name, "no such file")
    doc: Any = None
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BoundaryFileError(path.name, f"not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            raise BoundaryFileError(path.name, "expected a GeoJSON FeatureCollection")
        crs = ((doc.get("crs") or {}).get("properties") or {}).get("name")
        if crs and crs not in _LONLAT_CRS:
            doc = _ogr2ogr(path, None)  # an old-style "crs" member: let GDAL reproject
    else:
        if layer is None:
            layers = _layers(path)
            if len(layers) > 1:
                raise BoundaryFileError(
                    path.name, f"has {len(layers)} layers ({', '.join(layers)}); choose one"
                )
        doc = _ogr2ogr(path, layer)
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise BoundaryFileError(path.name, "holds no features")
    return features


def _find(props: dict[str, Any], wanted: str | None, defaults: Sequence[str]) -> str | None:
    """The property key to use: the one asked for, else the first default present."""
    if wanted:
        return wanted
    lower = {k.lower(): k for k in props}
    return next((lower[d] for d in defaults if d in lower), None)


def _population(where: str, key: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BoundaryFileError(f"{where}.{key}", f"{value!r} is not a number") from None
    if not math.isfinite(number) or number < 0 or number != int(number) or number >= 2**31:
        raise BoundaryFileError(f"{where}.{key}", f"{value!r} is not a whole number of people")
    return int(number)


def _lonlat_ok(geom: shapely.geometry.base.BaseGeometry) -> bool:
    minx, miny, maxx, maxy = geom.bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def prepare_features(
    features: Sequence[dict[str, Any]],
    *,
    name_field: str | None = None,
    population_field: str | None = None,
    code_field: str | None = None,
) -> list[dict[str, Any]]:
    """Check features and return rows (name, code, population, geometry, properties).

    Every feature needs a polygon geometry in longitude/latitude and a name;
    population, when present, must be a whole non-negative number. Names must be
    unique, because a re-import replaces the boundary of the same kind and name.

    >>> prepare_features([{"type": "Feature", "properties": {"name": "A", "pop": 12.0},
    ...     "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]
    ... )[0]["population"]
    12
    """
    rows: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for i, feature in enumerate(features):
        where = f"feature {i}"
        if not isinstance(feature, dict):
            raise BoundaryFileError(where, "not a GeoJSON Feature")
        props = feature.get("properties") or {}
        name_key = _find(props, name_field, ("name", "district", "label"))
        name = props.get(name_key) if name_key else None
        if name is None or str(name).strip() == "":
            hint = f"property {name_key!r} is empty" if name_key else (
                f"no name; choose a name field among {', '.join(props) or '(none)'}"
            )
            raise BoundaryFileError(f"{where}.{name_key or 'name'}", hint)
        name = str(name).strip()[:200]
        if name in seen:
            raise BoundaryFileError(f"{where}.{name_key}", f"{name!r} also names {seen[name]}")
        seen[name] = where
        pop_key = _find(props, population_field, ("population", "pop", "pop_total"))
        if population_field and population_field not in props:
            raise BoundaryFileError(f"{where}.{population_field}", "missing")
        code_key = _find(props, code_field, ("code", "geoid"))
        geometry = feature.get("geometry")
        try:
            shape = shapely.geometry.shape(geometry) if geometry else None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise BoundaryFileError(f"{where}.geometry", f"malformed ({exc})") from None
        if shape is None or shape.geom_type not in ("Polygon", "MultiPolygon") or shape.is_empty:
            kind = shape.geom_type if shape is not None else "null"
            raise BoundaryFileError(
                f"{where}.geometry", f"must be a Polygon or MultiPolygon, not {kind}"
            )
        if not _lonlat_ok(shape):
            raise BoundaryFileError(
                f"{where}.geometry",
                "coordinates are not longitude/latitude; declare the file's CRS or use EPSG:4326",
            )
        rows.append(
            {
                "idx": i,
                "name": name,
                "code": str(props[code_key])[:64] if code_key and props.get(code_key) else None,
                "population": _population(where, pop_key, props.get(pop_key)) if pop_key else None,
                "geometry": json.dumps(geometry),
                "properties": props,
            }
        )
    return rows


_STAGE = """
CREATE TEMP TABLE boundary_staging ON COMMIT DROP AS
SELECT (f->>'idx')::int AS idx, f->>'name' AS name, f->>'code' AS code,
       (f->>'population')::int AS population, (f->'properties')::jsonb AS properties,
       ST_Multi(ST_CollectionExtract(ST_MakeValid(
           ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(f->>'geometry'), 4326))), 3)) AS geom
FROM json_array_elements(CAST(:rows AS json)) AS f
"""

_UPSERT = """
WITH updated AS (
    UPDATE boundaries b SET geom = s.geom, code = s.code, population = s.population,
           properties = s.properties
    FROM boundary_staging s WHERE b.kind = :kind AND b.name = s.name
    RETURNING b.name
), inserted AS (
    INSERT INTO boundaries (kind, name, code, population, geom, properties)
    SELECT :kind, s.name, s.code, s.population, s.geom, s.properties
    FROM boundary_staging s WHERE s.name NOT IN (SELECT name FROM updated)
    ORDER BY s.idx
    RETURNING id
)
SELECT (SELECT count(*) FROM inserted) AS inserted,
       (SELECT count(DISTINCT name) FROM updated) AS updated
"""


def load_boundaries(conn: Connection, rows: Sequence[dict[str, Any]], kind: str) -> BoundaryResult:
    """Write rows from :func:`prepare_features` as boundaries of ``kind``, in one statement each.

    A boundary of the same kind and name is replaced in place (its id, which runs
    and exports refer to, stays). A polygon that ``ST_MakeValid`` reduces to nothing
    is an error naming its feature; the caller's transaction then keeps nothing.
    """
    if kind not in KINDS:
        raise BoundaryFileError("kind", f"must be one of {', '.join(KINDS)}")
    conn.execute(text(_STAGE), {"rows": json.dumps(list(rows))})
    empty = conn.execute(
        text("SELECT idx FROM boundary_staging WHERE ST_IsEmpty(geom) ORDER BY idx LIMIT 1")
    ).scalar()
    if empty is not None:
        raise BoundaryFileError(f"feature {empty}.geometry", "has no area once repaired")
    counts = conn.execute(text(_UPSERT), {"kind": kind}).one()
    conn.execute(text("DROP TABLE boundary_staging"))
    return BoundaryResult(inserted=counts.inserted, updated=counts.updated)


def import_boundaries(
    conn: Connection,
    path: Path,
    *,
    kind: str,
    name_field: str | None = None,
    population_field: str | None = None,
    code_field: str | None = None,
    layer: str | None = None,
) -> BoundaryResult:
    """Import the polygons of a GeoJSON, GeoPackage or Shapefile as boundaries of ``kind``.

    Example, on a database connection (not run as a doctest)::

        import_boundaries(conn, Path("districts.gpkg"), kind="district",
                          population_field="POP2020")
        BoundaryResult(inserted=21, updated=0)
    """
    if kind not in KINDS:
        raise BoundaryFileError("kind", f"must be one of {', '.join(KINDS)}")
    features = read_features(path, layer)
    try:
        rows = prepare_features(
            features, name_field=name_field, population_field=population_field,
            code_field=code_field,
        )
    except BoundaryFileError as exc:
        raise BoundaryFileError(f"{path.name}: {exc.field}", exc.message) from None
    return load_boundaries(conn, rows, kind)


def list_boundaries(conn: Connection, kind: str | None = None) -> list[dict[str, Any]]:
    """Boundaries (``id``, ``kind``, ``name``, ``code``) by kind then name, for pickers."""
    rows = conn.execute(
        text("SELECT id, kind, name, code FROM boundaries "
             "WHERE CAST(:kind AS text) IS NULL OR kind = :kind ORDER BY kind, name, id"),
        {"kind": kind},
    )
    return [dict(r._mapping) for r in rows]
