"""Interventions: check, record, change and delete what the city did.

Every write bumps the intervention's ``version`` and queues its evaluation
through the outbox in the same transaction (:func:`geo.evaluation.records.queue`),
so the answer to "did it work?" always describes the intervention as it is now.

A footprint is a GeoJSON Polygon or MultiPolygon, or a Point or MultiPoint with
``radius_m``: points are buffered on the sphere (PostGIS geography, 8 segments a
quarter circle), so a radius is metres wherever the city is. Either way the
stored geometry is one valid MultiPolygon.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from sqlalchemy import Connection, text

from geo.errors import FieldError, NotFound
from geo.evaluation import records
from geo.geojson import check_geometry, check_position

MAX_TEXT = 200
MAX_NOTES = 10_000
MAX_SERVICES = 50
MAX_POINTS = 100
MAX_RADIUS_M = 5_000.0
MAX_COST = 1e12
FIELDS = (
    "name", "programme", "services", "geometry", "radius_m", "start_date", "end_date", "cost",
    "funding_source", "notes", "pre_months", "post_months",
)

_GEOM_SQL = """
CASE WHEN CAST(:radius AS float8) IS NULL THEN
    ST_Multi(ST_CollectionExtract(ST_MakeValid(
        ST_SetSRID(ST_GeomFromGeoJSON(:geometry), 4326)), 3))
ELSE
    ST_Multi(ST_CollectionExtract(ST_MakeValid(CAST(ST_Buffer(
        CAST(ST_SetSRID(ST_GeomFromGeoJSON(:geometry), 4326) AS geography),
        CAST(:radius AS float8), 'quad_segs=8') AS geometry)), 3))
END
"""
_COLUMNS = (
    "i.id, i.name, i.programme, i.services, i.start_date, i.end_date, i.cost, "
    "i.funding_source, i.notes, i.pre_months, i.post_months, i.version, i.created_at, "
    "i.updated_at, CAST(ST_AsGeoJSON(i.geom, 7) AS json) AS geometry"
)


def _text(data: dict[str, Any], field: str, limit: int, *, required: bool = False) -> str | None:
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise FieldError(field, "required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise FieldError(field, "a non-empty text" if required else "a text")
    if len(value) > limit:
        raise FieldError(field, f"at most {limit} characters")
    return value.strip()


def _day(data: dict[str, Any], field: str) -> dt.date:
    value = data.get(field)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise FieldError(field, "required: an ISO date (YYYY-MM-DD)" if value is None
                     else "an ISO date (YYYY-MM-DD)")


def _number(data: dict[str, Any], field: str, low: float, high: float) -> float | None:
    value = data.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise FieldError(field, "a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FieldError(field, "a number")
    if not low <= value <= high:
        raise FieldError(field, f"between {low:g} and {high:g}")
    return float(value)


def _months(data: dict[str, Any], field: str, low: int) -> int | None:
    value = _number(data, field, low, 60)
    if value is None:
        return None
    if value != int(value):
        raise FieldError(field, "a whole number of months")
    return int(value)


def _services(conn: Connection, value: Any) -> list[str]:
    if isinstance(value, str):  # a CSV or GeoPackage cell: "flooding;pothole"
        value = [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise FieldError("services", "required: a non-empty list of service codes")
    if len(value) > MAX_SERVICES:
        raise FieldError("services", f"at most {MAX_SERVICES} service codes")
    known = set(conn.execute(text("SELECT code FROM services")).scalars())
    for code in value:
        if code not in known:
            raise FieldError("services", f"unknown service code {code!r}")
    return sorted(set(value))


def _footprint(geometry: Any, radius: float | None) -> dict[str, Any]:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind in ("Point", "MultiPoint"):
        if radius is None:
            raise FieldError("radius_m", "required for a Point or MultiPoint geometry")
        coords = geometry.get("coordinates")
        points = [coords] if kind == "Point" else coords
        if not isinstance(points, list) or not points:
            raise FieldError("geometry.coordinates", "a position or a list of positions")
        if len(points) > MAX_POINTS:
            raise FieldError("geometry.coordinates", f"at most {MAX_POINTS} points")
        clean = [check_position(p, "geometry") for p in points]
        return {"type": "MultiPoint", "coordinates": clean}
    if radius is not None:
        raise FieldError("radius_m", "only for a Point or MultiPoint geometry")
    if kind is None:
        raise FieldError("geometry", "required: a GeoJSON Polygon, MultiPolygon, Point or "
                         "MultiPoint (points with radius_m)")
    return check_geometry(geometry, "geometry")


def prepare(conn: Connection, data: dict[str, Any]) -> dict[str, Any]:
    """Check a whole intervention and return its column values (geometry as GeoJSON text).

    Errors are :class:`~geo.errors.FieldError` naming the field.

    Example, on a database connection (not run as a doctest)::

        prepare(conn, {"name": "Drain clearing", "services": ["flooding"],
                       "geometry": {"type": "Point", "coordinates": [-80.19, 25.76]},
                       "radius_m": 300, "start_date": "2026-03-01",
                       "end_date": "2026-03-31"})
    """
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise FieldError(unknown[0], "unknown field")
    radius = _number(data, "radius_m", 1, MAX_RADIUS_M)
    start, end = _day(data, "start_date"), _day(data, "end_date")
    if end < start:
        raise FieldError("end_date", "must be on or after start_date")
    row: dict[str, Any] = {
        "name": _text(data, "name", MAX_TEXT, required=True),
        "programme": _text(data, "programme", MAX_TEXT),
        "services": _services(conn, data.get("services")),
        "geometry": json.dumps(_footprint(data.get("geometry"), radius)),
        "radius": radius,
        "start_date": start,
        "end_date": end,
        "cost": _number(data, "cost", 0, MAX_COST),
        "funding_source": _text(data, "funding_source", MAX_TEXT),
        "notes": _text(data, "notes", MAX_NOTES),
        "pre_months": _months(data, "pre_months", 3),
        "post_months": _months(data, "post_months", 1),
    }
    return row


def _check_area(conn: Connection, intervention_id: int) -> None:
    empty = conn.execute(
        text("SELECT ST_IsEmpty(geom) FROM interventions WHERE id = :id"), {"id": intervention_id}
    ).scalar()
    if empty:
        raise FieldError("geometry", "has no area once repaired")


def create(conn: Connection, data: dict[str, Any], *, created_by: int | None = None) -> int:
    """Record an intervention and queue its evaluation; returns its id."""
    row = prepare(conn, data)
    new_id = conn.execute(
        text(
            "INSERT INTO interventions (name, programme, services, geom, start_date, end_date, "
            "cost, funding_source, notes, pre_months, post_months, created_by_key_id) "
            f"VALUES (:name, :programme, :services, {_GEOM_SQL}, :start_date, :end_date, :cost, "
            ":funding_source, :notes, :pre_months, :post_months, :by) RETURNING id"
        ),
        {**row, "by": created_by},
    ).scalar_one()
    _check_area(conn, int(new_id))
    records.queue(conn, int(new_id))
    return int(new_id)


def get(conn: Connection, intervention_id: int) -> dict[str, Any] | None:
    """One intervention with its geometry as GeoJSON, or None."""
    found = conn.execute(
        text(f"SELECT {_COLUMNS} FROM interventions i WHERE i.id = :id"), {"id": intervention_id}
    ).first()
    return _out(found._mapping) if found else None


def list_all(conn: Connection, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Interventions, newest start first."""
    rows = conn.execute(
        text(f"SELECT {_COLUMNS} FROM interventions i ORDER BY i.start_date DESC, i.id DESC "
             "LIMIT :limit OFFSET :offset"),
        {"limit": limit, "offset": offset},
    )
    return [_out(r._mapping) for r in rows]


def count(conn: Connection) -> int:
    """How many interventions there are."""
    return int(conn.execute(text("SELECT count(*) FROM interventions")).scalar_one())


def _out(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["cost"] = float(out["cost"]) if out["cost"] is not None else None
    return out


def update(conn: Connection, intervention_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply ``changes`` (fields to set; None clears an optional one), re-queue the evaluation.

    The merged intervention is checked as a whole, so a new ``end_date`` before
    the stored ``start_date`` is refused naming ``end_date``.
    """
    current = get(conn, intervention_id)
    if current is None:
        raise NotFound(f"intervention {intervention_id}")
    merged = {k: current[k] for k in FIELDS if k in current}
    if "geometry" in changes or "radius_m" in changes:
        merged.pop("geometry")
    merged.update(changes)
    if "geometry" not in merged:
        raise FieldError("geometry", "give the geometry again when changing radius_m")
    row = prepare(conn, {k: v for k, v in merged.items() if v is not None or k == "geometry"})
    conn.execute(
        text(
            "UPDATE interventions SET name = :name, programme = :programme, services = :services, "
            f"geom = {_GEOM_SQL}, start_date = :start_date, end_date = :end_date, cost = :cost, "
            "funding_source = :funding_source, notes = :notes, pre_months = :pre_months, "
            "post_months = :post_months, version = version + 1, updated_at = now() "
            "WHERE id = :id"
        ),
        {**row, "id": intervention_id},
    )
    _check_area(conn, intervention_id)
    records.queue(conn, intervention_id)
    found = get(conn, intervention_id)
    assert found is not None
    return found


def delete(conn: Connection, intervention_id: int) -> None:
    """Delete an intervention and its evaluation; NotFound if there is none."""
    gone = conn.execute(
        text("DELETE FROM interventions WHERE id = :id RETURNING id"), {"id": intervention_id}
    ).first()
    if gone is None:
        raise NotFound(f"intervention {intervention_id}")
