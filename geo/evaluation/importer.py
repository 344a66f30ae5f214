"""Interventions from a GIS file: GeoJSON, GeoPackage, Shapefile or CSV with a WKT column.

Files are read by the same path as boundaries (:func:`geo.boundaries.read_features`:
GDAL for anything but plain GeoJSON, reprojected to longitude/latitude). Each
feature's properties carry the intervention's fields under their API names
(``services`` may be one text, ``"flooding;pothole"``); other properties are
ignored. Every feature is checked like an API request, and one bad feature
keeps nothing: the caller's transaction rolls back.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from geo.boundaries import read_features
from geo.errors import FieldError
from geo.evaluation import interventions


def import_interventions(conn: Connection, path: Path, *, layer: str | None = None,
                         created_by: int | None = None) -> list[int]:
    """Create one intervention per feature of ``path``; returns their ids in file order.

    Example, on a database connection (not run as a doctest)::

        import_interventions(conn, Path("programmes.gpkg"))
        [12, 13]
    """
    ids: list[int] = []
    for i, feature in enumerate(read_features(path, layer)):
        props = feature.get("properties") if isinstance(feature, dict) else None
        data = {k: v for k, v in (props or {}).items()
                if k in interventions.FIELDS and k != "geometry" and v not in (None, "")}
        data["geometry"] = feature.get("geometry") if isinstance(feature, dict) else None
        try:
            ids.append(interventions.create(conn, data, created_by=created_by))
        except FieldError as exc:
            raise FieldError(f"{path.name}: feature {i}.{exc.field}", exc.message) from None
    return ids
