"""A small basemap of Port Ellis as one PMTiles file: streets, water, parks, district names.

``make demo`` writes it so that the maps show the demo city's streets with no
download. The city's layout (:mod:`geo.demo.city`) has a coast, a creek and two
named roads; the street grid between them is made up here, in the same km frame.
Tiles are Mapbox Vector Tiles cut by PostGIS (``ST_AsMVT``) from a temporary table,
in the layer names of the Protomaps basemap schema (``earth``, ``water``,
``landuse``, ``roads``, ``places``), gzipped, and written with the ``pmtiles``
package. Example (not run as a doctest)::

    with engine.begin() as conn:
        summary = write_basemap(conn, "var/basemap.pmtiles")
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from sqlalchemy import Connection, text

from geo.demo.city import CITY_NAME, DISTRICTS, LANDMARKS, city_outline, coast_y, to_lonlat

MIN_ZOOM = 10
MAX_ZOOM = 15
#: Street spacing of the made-up grid, and how far it is turned from north.
_BLOCK_KM = 0.35
_GRID_DEGREES = 12.0
_LAYERS = ("earth", "water", "landuse", "roads", "places")


@dataclass(frozen=True)
class Basemap:
    """What was written: where, how many tiles and bytes, the bounds in degrees."""

    path: str
    tiles: int
    bytes: int
    bounds: tuple[float, float, float, float]


def _lonlat(geom: shapely.Geometry) -> shapely.Geometry:
    """A km-frame geometry in longitude/latitude."""
    return shapely.transform(geom, lambda xy: np.column_stack(to_lonlat(xy[:, 0], xy[:, 1])))


def _street_grid(land: shapely.Geometry) -> list[tuple[str, str, shapely.Geometry]]:
    """Made-up streets every block, turned a little, cut to the land."""
    turn = math.radians(_GRID_DEGREES)
    cos, sin = math.cos(turn), math.sin(turn)
    out = []
    steps = np.arange(-9.0, 9.0 + 1e-9, _BLOCK_KM)
    for i, offset in enumerate(steps):
        for direction, name in ((0, "Street"), (1, "Avenue")):
            a, b = (offset, -9.0), (offset, 9.0)
            if direction:
                a, b = (-9.0, offset), (9.0, offset)
            ends = [(x * cos - y * sin, x * sin + y * cos) for x, y in (a, b)]
            street = shapely.LineString(ends).intersection(land)
            if street.is_empty:
                continue
            kind = "medium_road" if i % 5 == 0 else "minor_road"
            out.append((kind, f"{i + 1} {name}", street))
    return out


def features() -> list[tuple[str, str, str, shapely.Geometry]]:
    """``(layer, kind, name, geometry in lon/lat)`` of everything the basemap draws."""
    outline = city_outline()
    x = np.linspace(-12.0, 12.0, 241)
    sea = shapely.Polygon([(-12.0, -12.0), *zip(x, np.asarray(coast_y(x)), strict=True),
                           (12.0, -12.0)]).buffer(0)
    land = shapely.box(-12.0, -12.0, 12.0, 12.0).difference(sea)
    out: list[tuple[str, str, str, shapely.Geometry]] = [
        ("earth", "earth", "", land),
        ("water", "ocean", "Gulf of Mexico", sea),
        ("water", "stream", "Mill Creek", shapely.LineString(LANDMARKS.creek)),
        ("landuse", "park", "Summit Park", shapely.Point(-0.5, 6.0).buffer(0.55)),
        ("landuse", "park", "Greenway", shapely.LineString(LANDMARKS.creek).buffer(0.12)),
        ("landuse", "park", "Lighthouse Point Park", shapely.Point(3.2, -4.1).buffer(0.35)),
        ("landuse", "park", "Market Square", shapely.box(0.35, -1.55, 0.65, -1.25)),
        ("roads", "major_road", "Harbor Boulevard", shapely.LineString(LANDMARKS.main_road)),
        ("roads", "major_road", "Westgate Avenue",
         shapely.LineString(LANDMARKS.light_corridor)),
    ]
    out += [("roads", kind, name, geom) for kind, name, geom in _street_grid(outline)]
    out += [("places", "neighbourhood", d.name, shapely.Point(d.x, d.y)) for d in DISTRICTS]
    out.append(("places", "locality", CITY_NAME, shapely.Point(0.0, 1.0)))
    return [(layer, kind, name, _lonlat(geom)) for layer, kind, name, geom in out]


def _tile_range(bounds: tuple[float, float, float, float], z: int) -> tuple[range, range]:
    """Tile columns and rows of zoom ``z`` covering ``bounds`` (west, south, east, north)."""
    n = 2**z
    w, s, e, north = bounds

    def col(lon: float) -> int:
        return min(n - 1, int((lon + 180.0) / 360.0 * n))

    def row(lat: float) -> int:
        rad = math.radians(lat)
        return min(n - 1, int((1 - math.asinh(math.tan(rad)) / math.pi) / 2 * n))

    return range(col(w), col(e) + 1), range(row(north), row(s) + 1)


_TILE_SQL = " || ".join(
    f"""coalesce((SELECT ST_AsMVT(t, '{layer}', 4096, 'geom') FROM (
        SELECT kind, name, ST_AsMVTGeom(geom, ST_TileEnvelope(:z, :x, :y), 4096, 64, true) AS geom
        FROM basemap_features WHERE layer = '{layer}'
          AND geom && ST_TileEnvelope(:z, :x, :y, margin => 64.0 / 4096)) t
        WHERE geom IS NOT NULL), ''::bytea)"""
    for layer in _LAYERS
)


def write_basemap(conn: Connection, path: str | Path) -> Basemap:
    """Cut the demo city's basemap into vector tiles (zoom 10–15) and write ``path``."""
    drawn = features()
    conn.execute(text("CREATE TEMP TABLE basemap_features (layer text, kind text, name text, "
                      "geom geometry)"))
    conn.execute(
        text("INSERT INTO basemap_features SELECT layer, kind, name, "
             "ST_Transform(ST_SetSRID(ST_GeomFromWKB(wkb), 4326), 3857) "
             "FROM unnest(CAST(:layers AS text[]), CAST(:kinds AS text[]), "
             "CAST(:names AS text[]), CAST(:wkbs AS bytea[])) AS f(layer, kind, name, wkb)"),
        {"layers": [f[0] for f in drawn], "kinds": [f[1] for f in drawn],
         "names": [f[2] for f in drawn], "wkbs": [shapely.to_wkb(f[3]) for f in drawn]},
    )
    conn.execute(text("CREATE INDEX ON basemap_features USING gist (geom)"))
    city = _lonlat(city_outline().buffer(1.5))
    w, s, e, n = (float(v) for v in city.bounds)
    tiles: dict[int, bytes] = {}
    for z in range(MIN_ZOOM, MAX_ZOOM + 1):
        cols, rows = _tile_range((w, s, e, n), z)
        for tx in cols:
            for ty in rows:
                data = conn.execute(text(f"SELECT {_TILE_SQL}"), {"z": z, "x": tx, "y": ty})
                mvt = bytes(data.scalar_one())
                if mvt:
                    tiles[zxy_to_tileid(z, tx, ty)] = gzip.compress(mvt, 6, mtime=0)
    conn.execute(text("DROP TABLE basemap_features"))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    with partial.open("wb") as handle:
        writer = Writer(handle)
        for tile_id in sorted(tiles):
            writer.write_tile(tile_id, tiles[tile_id])
        writer.finalize(
            {"tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
             "min_zoom": MIN_ZOOM, "max_zoom": MAX_ZOOM,
             "min_lon_e7": int(w * 1e7), "min_lat_e7": int(s * 1e7),
             "max_lon_e7": int(e * 1e7), "max_lat_e7": int(n * 1e7),
             "center_zoom": 13, "center_lon_e7": int((w + e) / 2 * 1e7),
             "center_lat_e7": int((s + n) / 2 * 1e7)},
            {"name": f"{CITY_NAME} basemap", "attribution": "CivicPulse demo city (synthetic)",
             "vector_layers": [{"id": layer, "fields": {"kind": "String", "name": "String"}}
                               for layer in _LAYERS]},
        )
    partial.replace(target)
    return Basemap(str(target), len(tiles), target.stat().st_size, (w, s, e, n))
