"""GeoJSON areas drawn by a caller: one check shared by every surface that takes one.

Evidence packs take a drawn area, interventions a drawn footprint; both are
WGS84 Polygons or MultiPolygons with the same vertex limit, checked here once.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry import shape

from geo.errors import FieldError

#: A drawn area is for a neighbourhood, not a coastline: more vertices than this
#: is a mistake or an attempt to make every query slow.
MAX_VERTICES = 10_000


def check_geometry(geom: Any, field: str = "area") -> dict[str, Any]:
    """A valid GeoJSON Polygon or MultiPolygon in WGS84, or a FieldError saying why.

    >>> check_geometry({"type": "Point", "coordinates": [0, 0]})
    Traceback (most recent call last):
    geo.errors.FieldError: area: must be a GeoJSON Polygon or MultiPolygon
    """
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        raise FieldError(field, "must be a GeoJSON Polygon or MultiPolygon")
    polygons = geom.get("coordinates")
    if geom["type"] == "Polygon":
        polygons = [polygons]
    if not isinstance(polygons, list) or not polygons:
        raise FieldError(f"{field}.coordinates", "must be a non-empty list of rings")
    vertices = 0
    clean: list[list[list[list[float]]]] = []
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise FieldError(f"{field}.coordinates", "each polygon is a non-empty list of rings")
        rings = []
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise FieldError(f"{field}.coordinates", "each ring needs at least 4 positions")
            vertices += len(ring)
            if vertices > MAX_VERTICES:
                raise FieldError(f"{field}.coordinates", f"more than {MAX_VERTICES} vertices")
            rings.append([check_position(p, field) for p in ring])
            if rings[-1][0] != rings[-1][-1]:
                raise FieldError(f"{field}.coordinates", "each ring must end where it starts")
        clean.append(rings)
    out = {"type": geom["type"], "coordinates": clean[0] if geom["type"] == "Polygon" else clean}
    shp = shape(out)
    if not shp.is_valid:
        raise FieldError(field, f"not a valid polygon ({shapely.is_valid_reason(shp)})")
    if shp.area == 0:
        raise FieldError(field, "encloses no area")
    return out


def check_position(p: Any, field: str) -> list[float]:
    """A [longitude, latitude] position in WGS84 range, or a FieldError on ``field``.coordinates."""
    if (
        not isinstance(p, list)
        or len(p) not in (2, 3)
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
        or not all(math.isfinite(v) for v in p)
    ):
        raise FieldError(f"{field}.coordinates", "positions are [longitude, latitude]")
    lng, lat = float(p[0]), float(p[1])
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise FieldError(f"{field}.coordinates", "longitude/latitude out of range (WGS84 degrees)")
    return [lng, lat]
