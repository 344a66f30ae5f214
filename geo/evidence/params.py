"""What an evidence pack covers: checked once and resolved when it is requested.

Resolving turns ``run: "latest"`` into a run id and fills the period and the
services from that run, so the stored parameters alone decide the pack: rendering
them again gives the same numbers however many runs were published since.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import Connection, text

from geo.errors import FieldError
from geo.geojson import MAX_VERTICES, check_geometry
from geo.hotspots.runs import get_run, latest_run_id

FORMATS = ("pdf", "csv", "geojson", "gpkg")
__all__ = ["MAX_VERTICES", "check_geometry", "resolve"]
_ALLOWED = {"area", "services", "since", "until", "run", "budget", "unit_costs", "formats"}


def resolve(
    conn: Connection, data: dict[str, Any], *, default_unit_costs: dict[str, float] | None = None
) -> dict[str, Any]:
    """Check a request and return its resolved, JSON-ready parameters.

    Errors are :class:`~geo.errors.FieldError` naming the field; a run that is
    missing or not finished is a 409 (the request may succeed later as it is).

    Example, on a database connection (not run as a doctest)::

        resolve(conn, {"area": {"boundary_id": 1}, "run": "latest"})
        {'area': {'boundary_id': 1, 'name': 'Springfield'}, 'run_id': 7, ...}
    """
    unknown = sorted(set(data) - _ALLOWED)
    if unknown:
        raise FieldError(unknown[0], "unknown field")
    run = _run(conn, data.get("run", "latest"))
    area = _area(conn, data.get("area"))
    services = _services(conn, data.get("services"), run)
    counts = run.get("counts") or {}
    run_params = run.get("params") or {}
    since = _date(data.get("since"), "since") or _date(
        counts.get("since") or run_params.get("since"), "since"
    )
    until = _date(data.get("until"), "until") or _date(
        counts.get("until") or run_params.get("until"), "until"
    )
    if since is None:
        raise FieldError("since", f"required: run {run['id']} does not state its period")
    if until is None:
        raise FieldError("until", f"required: run {run['id']} does not state its period")
    if since >= until:
        raise FieldError("until", "must be after since")
    budget = data.get("budget")
    if budget is not None:
        budget = _money(budget, "budget")
    costs = {k: v for k, v in (default_unit_costs or {}).items() if k in services}
    given = data.get("unit_costs") or {}
    if not isinstance(given, dict):
        raise FieldError("unit_costs", "an object of service code → dollars")
    for code, value in given.items():
        if code not in services:
            raise FieldError(f"unit_costs.{code}", "not one of the services of this export")
        costs[code] = _money(value, f"unit_costs.{code}")
    formats = data.get("formats") or list(FORMATS)
    if not isinstance(formats, list) or not all(f in FORMATS for f in formats):
        raise FieldError("formats", f"a list of {', '.join(FORMATS)}")
    return {
        "area": area,
        "services": services,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "run_id": int(run["id"]),
        "budget": budget,
        "unit_costs": dict(sorted(costs.items())),
        "formats": sorted(set(formats)),
    }


def _run(conn: Connection, value: Any) -> dict[str, Any]:
    if value in (None, "latest"):
        run_id = latest_run_id(conn)
        if run_id is None:
            raise FieldError(
                "run",
                "no hotspot run has succeeded yet for the standing city-wide configuration "
                "(\"latest\"); name a run's id, or start a city-wide run (POST "
                "/api/v1/hotspot-runs with no parameters, or `civicpulse hotspots run --wait`) "
                "and request the pack when it has finished",
                status=409,
            )
    elif isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63:
        run_id = value
    else:
        raise FieldError("run", 'a run id or "latest"')
    run = get_run(conn, run_id)
    if run is None:
        raise FieldError("run", f"hotspot run {run_id} does not exist")
    if run["status"] != "succeeded":
        raise FieldError(
            "run", f"hotspot run {run_id} is {run['status']}; only a succeeded run can be "
            "exported", status=409,
        )
    return run


def _area(conn: Connection, area: Any) -> dict[str, Any]:
    if not isinstance(area, dict):
        raise FieldError("area", "required: {\"boundary_id\": …} or a GeoJSON Polygon/MultiPolygon")
    if "boundary_id" in area:
        if set(area) - {"boundary_id"}:
            raise FieldError("area", "give either boundary_id or a GeoJSON geometry, not both")
        bid = area["boundary_id"]
        if isinstance(bid, bool) or not isinstance(bid, int) or not 0 < bid < 2**31:
            raise FieldError("area.boundary_id", "a boundary id")
        row = conn.execute(
            text("SELECT id, name, kind FROM boundaries WHERE id = :id"), {"id": bid}
        ).first()
        if row is None:
            raise FieldError("area.boundary_id", f"boundary {bid} does not exist")
        return {"boundary_id": row.id, "name": row.name, "kind": row.kind}
    name = "the area drawn for this request"
    if area.get("type") == "Feature":
        props = area.get("properties") or {}
        if isinstance(props.get("name"), str) and props["name"].strip():
            name = props["name"].strip()[:200]
        area = area.get("geometry") or {}
    return {"geometry": check_geometry(area), "name": name}


def _services(conn: Connection, value: Any, run: dict[str, Any]) -> list[str]:
    known: dict[str, str] = {
        r.code: r.privacy for r in conn.execute(text("SELECT code, privacy FROM services"))}
    analysed = list((run.get("params") or {}).get("services") or [])
    if value in (None, []):
        return sorted(analysed or known)
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise FieldError("services", "a list of service codes")
    for code in value:
        if code not in known:
            raise FieldError("services", f"unknown service code {code!r}")
        if analysed and code not in analysed:
            raise FieldError(
                "services", f"{code!r} was not analysed by hotspot run {run['id']} "
                f"(it covers {', '.join(analysed)})",
            )
    return sorted(set(value))


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise FieldError(field, "an ISO date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise FieldError(field, "an ISO date (YYYY-MM-DD)") from None


def _money(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FieldError(field, "a number of dollars")
    if value < 0:
        raise FieldError(field, "must be zero or more")
    return float(value)
