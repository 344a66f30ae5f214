"""Mapbox Vector Tiles built in PostGIS, and the data versions their ETags come from.

Every tile is one ``ST_AsMVT`` over rows selected with the GiST index through
the tile's envelope in EPSG:4326 (grown by the MVT buffer), then transformed to
EPSG:3857 and clipped by ``ST_AsMVTGeom``. Layers:

- ``hotspots``: cells (layer ``hotspots``) and areas (``hotspot_areas``) of one run;
- ``reports``: below zoom 14, counts per H3 cell (``report_cells``); from zoom 14,
  points (``report_points``), only of public services unless the caller is staff;
- ``boundaries``: the city, district and tract polygons;
- ``interventions``: what the city did where and when (the public facts only; cost
  and the evaluation are read from the API).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import h3
from sqlalchemy import Connection, text

from geo.errors import NotFound
from geo.h3cells import descendants_range_sql, parent_sql
from geo.hotspots.outputs import AREAS_SQL, CELL_PARAMS, CELL_PROPERTIES, CELLS_SQL
from geo.hotspots.publish import cell_polygon_wkt
from geo.layers.features import expand_bbox, no_jit
from geo.layers.report_features import visible_cells_sql
from geo.privacy import GENERALISED_RESOLUTION

EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
POINTS_ZOOM = 14  # reports are points from this zoom on
_STR, _NUM, _BOOL = "String", "Number", "Boolean"
#: MVT layers per tile layer and their fields (TileJSON ``vector_layers``).
FIELDS: dict[str, dict[str, dict[str, str]]] = {
    "hotspots": {
        "hotspots": {
            "h3": _STR, "run_id": _NUM, "reports": _NUM, "weight": _NUM, "gi_z": _NUM,
            "gi_p": _NUM, "gi_bin": _NUM, "n_neighbors": _NUM, "no_data": _BOOL, "trend": _STR,
            "area_id": _NUM, "priority_score": _NUM, "priority_rank": _NUM,
        },
        "hotspot_areas": {
            "area_id": _NUM, "cells": _NUM, "reports": _NUM, "weight": _NUM, "trend": _STR,
            "priority_score": _NUM, "priority_rank": _NUM,
        },
    },
    "reports": {
        "report_cells": {"h3": _STR, "reports": _NUM, "resolution": _NUM},
        "report_points": {"id": _STR, "service_code": _STR, "status": _STR, "requested_at": _STR},
    },
    "boundaries": {
        "boundaries": {"id": _NUM, "kind": _STR, "name": _STR, "code": _STR, "population": _NUM},
    },
    "interventions": {
        "interventions": {"id": _NUM, "name": _STR, "programme": _STR, "services": _STR,
                          "start_date": _STR, "end_date": _STR},
    },
}


@dataclass(frozen=True)
class TileRequest:
    """One tile as a caller asked for it, already validated."""

    layer: str
    z: int
    x: int
    y: int
    staff: bool = False
    run_id: int | None = None  # hotspots: None = the latest succeeded run
    services: tuple[str, ...] = ()  # reports: only these services
    since: dt.datetime | None = None  # reports: requested_at >= since
    until: dt.datetime | None = None  # reports: requested_at < until
    kind: str | None = None  # boundaries: only this kind


@dataclass(frozen=True)
class Version:
    """The data a tile is built from: ``tag`` changes whenever the tile could."""

    tag: str
    run_id: int | None = None


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The lon/lat box of tile ``z/x/y`` (XYZ scheme, Web Mercator).

    >>> tile_bounds(0, 0, 0)[0], round(tile_bounds(0, 0, 0)[3], 4)
    (-180.0, 85.0511)
    """
    n = 2.0**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return (x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y))


def cell_resolution(z: int, staff: bool) -> int:
    """H3 resolution of the report cells at zoom ``z`` (about 20–30 cells across a tile).

    Non-staff never get cells finer than the privacy rule's resolution 8.

    >>> cell_resolution(13, True), cell_resolution(13, False), cell_resolution(2, False)
    (9, 8, 3)
    """
    res = min(9, max(3, z - 4))
    return res if staff else min(res, GENERALISED_RESOLUTION)


_SERVICES_VERSION = "(SELECT count(*) || '.' || coalesce(max(updated_at)::text, '') FROM services)"


def version(conn: Connection, req: TileRequest) -> Version:
    """The data version of ``req``'s layer, from cheap indexed reads only (no tile SQL).

    Services are part of every version: a change of a service's privacy changes
    what the public may see. Raises :class:`NotFound` for a run that did not succeed.
    """
    if req.layer == "hotspots":
        row = conn.execute(
            text(
                "SELECT (SELECT id FROM hotspot_runs WHERE status = 'succeeded' "
                "AND (CAST(:run AS bigint) IS NULL OR id = :run) "
                f"ORDER BY finished_at DESC, id DESC LIMIT 1) AS run, {_SERVICES_VERSION} AS sv"
            ),
            {"run": req.run_id},
        ).one()
        if row.run is None and req.run_id is not None:
            raise NotFound(f"run {req.run_id}")
        return Version(f"run{row.run}.{row.sv}", row.run)
    if req.layer == "reports":
        # Both maxima come from indexes; a deleted report alone is not noticed
        # (reports are closed, not deleted).
        tag = conn.execute(
            text(
                "SELECT coalesce((SELECT max(changed_at)::text FROM reports), '') || '.' || "
                f"coalesce((SELECT max(id) FROM reports), 0) || '.' || {_SERVICES_VERSION}"
            )
        ).scalar_one()
        return Version(tag)
    # Boundaries and interventions are few: xmin changes with any update of a row.
    table = "interventions" if req.layer == "interventions" else "boundaries"
    tag = conn.execute(
        text("SELECT count(*) || '.' || coalesce(max(id), 0) || '.' || "
             f"coalesce(max(xmin::text::bigint), 0) FROM {table}")
    ).scalar_one()
    return Version(tag)


_ENV = (
    "env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e, "
    "ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS f)"
)


def _mvt(layer: str, select: str) -> str:
    """``ST_AsMVT`` of ``select`` (which yields a ``geom`` column) as layer ``layer``."""
    return (
        f"coalesce((SELECT ST_AsMVT(t, '{layer}', {EXTENT}, 'geom') FROM ({select}) t "
        "WHERE t.geom IS NOT NULL), '')"
    )


def _geom(column: str) -> str:
    return f"ST_AsMVTGeom(ST_Transform({column}, 3857), env.e, {EXTENT}, {BUFFER}, true) AS geom"


def render(conn: Connection, req: TileRequest, ver: Version) -> bytes:
    """The tile's MVT bytes (empty when nothing is in it) for the data at ``ver``."""
    statement = tile_sql(req, ver)
    if req.layer == "reports":
        no_jit(conn)  # counts over many reports cost enough to trigger a slow JIT
    if statement is None:
        return _report_cells(conn, req)
    data = conn.execute(text(statement[0]), statement[1]).scalar_one()
    return bytes(data or b"")


def tile_sql(req: TileRequest, ver: Version) -> tuple[str, dict[str, object]] | None:
    """The one statement (and its parameters) building ``req``'s tile.

    None for report cells below zoom 14, which need H3 hexagons between two statements.
    """
    params: dict[str, object] = {"z": req.z, "x": req.x, "y": req.y, "margin": BUFFER / EXTENT}
    if req.layer == "hotspots":
        props = ", ".join(f"{sql} AS {name}" for name, sql in CELL_PROPERTIES.items())
        area_props = ", ".join(f"a.{name}" for name in FIELDS["hotspots"]["hotspot_areas"])
        cells = (
            f"SELECT {props}, {_geom('c.geom')} FROM {CELLS_SQL}, env "
            "WHERE c.run_id = :run AND c.geom && env.f"
        )
        # Areas are few per run and have no spatial index: the run's key finds them.
        areas = (
            f"SELECT {area_props}, {_geom('a.geom')} FROM {AREAS_SQL}, env "
            "WHERE a.run_id = :run AND a.geom && env.f"
        )
        sql = f"WITH {_ENV} SELECT {_mvt('hotspots', cells)} || {_mvt('hotspot_areas', areas)}"
        params.update(run=ver.run_id or 0, public=not req.staff, **CELL_PARAMS)
    elif req.layer == "boundaries":
        # Clipping in 4326 first spares transforming a whole city outline per tile.
        sql = (
            f"WITH {_ENV} SELECT " + _mvt(
                "boundaries",
                "SELECT b.id, b.kind, b.name, b.code, b.population, "
                f"{_geom('ST_ClipByBox2D(b.geom, env.f)')} FROM boundaries b, env "
                "WHERE b.geom && env.f AND (CAST(:kind AS text) IS NULL OR b.kind = :kind)",
            )
        )
        params["kind"] = req.kind
    elif req.layer == "interventions":
        sql = (
            f"WITH {_ENV} SELECT " + _mvt(
                "interventions",
                "SELECT i.id, i.name, i.programme, array_to_string(i.services, ',') AS services, "
                "i.start_date::text AS start_date, i.end_date::text AS end_date, "
                f"{_geom('ST_ClipByBox2D(i.geom, env.f)')} FROM interventions i, env "
                "WHERE i.geom && env.f",
            )
        )
    elif req.z >= POINTS_ZOOM:
        sql = f"WITH {_ENV} SELECT " + _mvt(
            "report_points",
            "SELECT r.public_id AS id, r.service_code, r.status, "
            "to_char(r.requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
            f"AS requested_at, {_geom('r.geom')} FROM reports r "
            "JOIN services s ON s.code = r.service_code, env "
            f"WHERE r.geom && env.f AND {_report_filters()} "
            "AND (:staff OR s.privacy = 'public')",
        )
        params.update(_report_params(req))
    else:
        return None
    return sql, params


def _report_filters() -> str:
    """Conditions of the optional service and time filters (and no duplicates: one problem)."""
    return (
        "r.status <> 'duplicate' "
        "AND (CAST(:services AS text[]) IS NULL OR r.service_code = ANY(:services)) "
        "AND (CAST(:since AS timestamptz) IS NULL OR r.requested_at >= :since) "
        "AND (CAST(:until AS timestamptz) IS NULL OR r.requested_at < :until)"
    )


def _report_params(req: TileRequest) -> dict[str, object]:
    return {
        "staff": req.staff, "services": list(req.services) or None,
        "since": req.since, "until": req.until,
    }


def _report_cells(conn: Connection, req: TileRequest) -> bytes:
    """Report counts per H3 cell over the tile: counted in SQL, drawn as hexagons.

    PostGIS has no H3, so the hexagons come from h3 in Python and go back as WKT for
    ``ST_AsMVT``. Reports are read from the tile grown by 2.5 cell edges, which holds
    every cell touching the tile whole, so each count is the cell's full count. For
    non-staff an aggregated service counts only in resolution-8 cells that pass the
    reporter threshold (:func:`geo.layers.report_features.visible_cells_sql`): exactly the reports
    the public may already see as points, so no zoom level reveals more.
    """
    res = cell_resolution(req.z, req.staff)
    edge = h3.average_hexagon_edge_length(res, "m")
    grown = expand_bbox(tile_bounds(req.z, req.x, req.y), 2.5 * edge)
    near = "r.geom && ST_MakeEnvelope(:gx0, :gy0, :gx1, :gy1, 4326)"
    cell = parent_sql("r.h3_cell", res)
    counted = f"FROM reports r WHERE {near} AND {_report_filters()}"
    if req.staff:
        sql = f"SELECT {cell} AS cell, count(*) AS n {counted} GROUP BY 1"
    else:
        # Public services counted as they are; aggregated ones only from visible cells,
        # each read by its descendants' range on the h3_cell index (OFFSET 0 keeps it so).
        lo, hi = descendants_range_sql("v.cell", GENERALISED_RESOLUTION)
        sql = (
            f"WITH vis AS MATERIALIZED ({visible_cells_sql(near)}) "
            "SELECT cell, sum(n) AS n FROM ("
            f"SELECT {cell} AS cell, count(*) AS n {counted} AND r.service_code IN "
            "(SELECT code FROM services WHERE privacy = 'public') GROUP BY 1 UNION ALL "
            f"SELECT {cell}, count(*) FROM vis v CROSS JOIN LATERAL (SELECT r.h3_cell "
            f"FROM reports r WHERE r.service_code = v.service_code AND r.h3_cell BETWEEN {lo} "
            f"AND {hi} AND {_report_filters()} OFFSET 0) r GROUP BY 1) x GROUP BY 1"
        )
    rows = conn.execute(
        text(sql),
        {**_report_params(req), **dict(zip(("gx0", "gy0", "gx1", "gy1"), grown, strict=True))},
    ).all()
    if not rows:
        return b""
    data = conn.execute(
        text(
            f"WITH {_ENV} SELECT " + _mvt(
                "report_cells",
                f"SELECT u.h3, u.reports, {res} AS resolution, "
                f"{_geom('ST_GeomFromText(u.wkt, 4326)')} FROM env, "
                "unnest(CAST(:ids AS text[]), CAST(:counts AS int[]), CAST(:wkts AS text[])) "
                "AS u(h3, reports, wkt) WHERE ST_GeomFromText(u.wkt, 4326) && env.f",
            )
        ),
        {
            "z": req.z, "x": req.x, "y": req.y, "margin": BUFFER / EXTENT,
            "ids": [h3.int_to_str(int(r.cell)) for r in rows],
            "counts": [int(r.n) for r in rows],
            "wkts": [cell_polygon_wkt(int(r.cell)) for r in rows],
        },
    ).scalar_one()
    return bytes(data or b"")
