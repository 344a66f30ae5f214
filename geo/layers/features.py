"""Feature collections as GeoJSON text assembled by PostGIS, one source per family.

Every page is one statement: PostgreSQL filters, counts (``numberMatched``),
pages and builds each Feature with ``json_build_object``/``ST_AsGeoJSON``; Python
only wraps the resulting array in its envelope, so a 1,000-feature page never
becomes 1,000 Python objects. Families: hotspot cells and areas of one run,
reports (privacy-filtered, in :mod:`geo.layers.report_features`) and boundaries.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h3
from sqlalchemy import Connection, text

from geo.errors import FieldError
from geo.hotspots.outputs import AREAS_SQL, CELL_PARAMS, CELL_PROPERTIES, CELLS_SQL

BOUNDARY_KINDS = ("city", "district", "tract")
#: A run's period: ``since`` to ``until`` (exclusive dates, UTC), an open start
#: without ``since``, and the run's finish when it had no ``until``.
RUN_PERIOD_SQL = (
    "tstzrange(CAST(h.params->>'since' AS date)::timestamp AT TIME ZONE 'UTC', "
    "coalesce(CAST(h.params->>'until' AS date)::timestamp AT TIME ZONE 'UTC', "
    "greatest(CAST(h.params->>'since' AS date)::timestamp AT TIME ZONE 'UTC', h.finished_at)), "
    "'[)')"
)
@dataclass(frozen=True)
class Interval:
    """A time interval, ``start`` inclusive and ``end`` exclusive; None is open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None


@dataclass(frozen=True)
class FeatureQuery:
    """A validated items request: bbox (lon/lat, CRS84), interval, property filters, page."""

    bbox: tuple[float, float, float, float] | None = None
    interval: Interval | None = None
    filters: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class Page:
    """One page: the features as a JSON array text, and the exact counts."""

    features: str
    matched: int
    returned: int


@dataclass(frozen=True)
class Filter:
    """A property filter: the SQL it compares and how a value is checked."""

    sql: str
    parse: Callable[[str], Any]
    kind: str = "string"  # the JSON type, for the API description


@dataclass(frozen=True)
class Source:
    """One family as SQL: its rows, how a row becomes a Feature, and what filters it."""

    from_sql: str  # one table or derived table, aliased ``alias``
    alias: str
    feature_sql: str
    order_sql: str
    key_sql: str
    geom_sql: str
    time_sql: str | None  # a timestamptz column, or None
    period_sql: str | None = None  # a condition on the run's period (hotspot families)
    filters: dict[str, Filter] = field(default_factory=dict)
    where: tuple[str, ...] = ()
    ctes: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    #: the SELECTs ``from_sql`` is the UNION ALL of, each paged on its own (below)
    branches: tuple[str, ...] = ()
    #: an indexed column near ``geom_sql`` (within ``margin_m``) to pre-filter a bbox by
    index_geom_sql: str | None = None
    margin_m: float = 0.0


def filter_parser(
    name: str, choices: tuple[str, ...] = (), bins: bool = False
) -> Callable[[str], Any]:
    """A checker of one filter value: one of ``choices``, a Gi* bin, or a short code."""

    def parse(raw: str) -> Any:
        if bins:
            if raw.lstrip("-").isdigit() and -3 <= int(raw) <= 3:
                return int(raw)
            raise FieldError(name, "must be an integer from -3 to 3", status=400)
        if choices and raw not in choices:
            raise FieldError(name, f"must be one of {', '.join(choices)}", status=400)
        if not 0 < len(raw) <= 64:
            raise FieldError(name, "must be 1 to 64 characters", status=400)
        return raw

    return parse


def parse_filter(filters: dict[str, Filter], name: str, raw: str) -> tuple[Any, ...]:
    """Check a comma-separated filter value (any of the values matches).

    >>> parse_filter(CELL_FILTERS, "gi_bin", "3,2")
    (3, 2)
    """
    return tuple(filters[name].parse(v.strip()) for v in raw.split(","))


def _conditions(source: Source, q: FeatureQuery) -> tuple[list[str], dict[str, Any]]:
    conds = list(source.where)
    params = dict(source.params)
    if q.bbox is not None:
        boxes = []
        for i, (x0, y0, x1, y1) in enumerate(bbox_boxes(q.bbox)):
            env = f"ST_MakeEnvelope(:bx0_{i}, :by0_{i}, :bx1_{i}, :by1_{i}, 4326)"
            geom = source.geom_sql
            boxes.append(f"({geom} && {env} AND ST_Intersects({geom}, {env}))")
            params.update({f"bx0_{i}": x0, f"by0_{i}": y0, f"bx1_{i}": x1, f"by1_{i}": y1})
            if source.index_geom_sql:
                # The shown point is an expression no index covers: the stored point,
                # within the margin of it, lets the GiST index narrow the rows first.
                grown = expand_bbox((x0, y0, x1, y1), source.margin_m)
                params.update({f"gx{j}_{i}": v for j, v in enumerate(grown)})
                boxes[-1] = (
                    f"({source.index_geom_sql} && ST_MakeEnvelope(:gx0_{i}, :gx1_{i}, :gx2_{i}, "
                    f":gx3_{i}, 4326) AND {boxes[-1]})"
                )
        conds.append("(" + " OR ".join(boxes) + ")")
    if q.interval is not None and (q.interval.start or q.interval.end):
        params.update(t0=q.interval.start, t1=q.interval.end)
        if source.time_sql:
            if q.interval.start:
                conds.append(f"{source.time_sql} >= CAST(:t0 AS timestamptz)")
            if q.interval.end:
                conds.append(f"{source.time_sql} < CAST(:t1 AS timestamptz)")
        elif source.period_sql:
            conds.append(source.period_sql)
    for name, values in q.filters.items():
        conds.append(f"{source.filters[name].sql} = ANY(:f_{name})")
        params[f"f_{name}"] = list(values)
    return conds, params


def bbox_boxes(bbox: tuple[float, float, float, float]) -> list[tuple[float, float, float, float]]:
    """One box, or two when ``bbox`` crosses the antimeridian (minx > maxx, as the standard allows).

    >>> bbox_boxes((170.0, -10.0, -170.0, 10.0))
    [(170.0, -10.0, 180.0, 10.0), (-180.0, -10.0, -170.0, 10.0)]
    """
    x0, y0, x1, y1 = bbox
    if x0 <= x1:
        return [bbox]
    return [(x0, y0, 180.0, y1), (-180.0, y0, x1, y1)]


def collect(conn: Connection, source: Source, q: FeatureQuery) -> Page:
    """One page of ``source`` matching ``q``, with the exact number matched."""
    sql, params = page_sql(source, q)
    no_jit(conn)
    row = conn.execute(text(sql), params).one()
    return Page(features=row.features, matched=int(row.matched), returned=int(row.returned))


def page_sql(source: Source, q: FeatureQuery) -> tuple[str, dict[str, Any]]:
    """The statement (and parameters) of :func:`collect`: counts and the features array."""
    conds, params = _conditions(source, q)
    where = " AND ".join(conds) or "true"
    with_sql = ("WITH " + ", ".join(source.ctes) + " ") if source.ctes else ""
    # The page is cut from plain columns and only its rows become JSON (building
    # the feature while paging would also build it for every skipped row).
    a, order = source.alias, source.order_sql
    rows = source.from_sql
    if source.branches:
        # PostgreSQL sorts a whole UNION to page it; the first offset + limit rows of
        # each branch, each from its own index, hold the page.
        rows = "(" + " UNION ALL ".join(
            f"(SELECT {a}.* FROM ({b}) {a} WHERE {where} ORDER BY {order} LIMIT :upto)"
            for b in source.branches
        ) + f") {a}"
    sql = (
        f"{with_sql}SELECT (SELECT count(*) FROM {source.from_sql} WHERE {where}) AS matched, "
        "count(*) AS returned, '[' || coalesce(string_agg("
        f"{source.feature_sql}, ',' ORDER BY {order}), '') || ']' AS features "
        f"FROM (SELECT {a}.* FROM {rows} WHERE {where} "
        f"ORDER BY {order} LIMIT :limit OFFSET :offset) {a}"
    )
    params.update(limit=q.limit, offset=q.offset, upto=q.limit + q.offset)
    return sql, params


def no_jit(conn: Connection) -> None:
    """Turn off JIT for the rest of this transaction.

    A count over a million reports costs enough to trigger it, and compiling then
    takes longer (≈0.5 s measured) than running the query.
    """
    conn.execute(text("SET LOCAL jit = off"))


def get(conn: Connection, source: Source, key: Any) -> str | None:
    """One Feature of ``source`` by its id, as GeoJSON text, or None."""
    conds = [*source.where, f"{source.key_sql} = :key"]
    with_sql = ("WITH " + ", ".join(source.ctes) + " ") if source.ctes else ""
    sql = (
        f"{with_sql}SELECT {source.feature_sql} FROM {source.from_sql} "
        f"WHERE {' AND '.join(conds)} LIMIT 1"
    )
    return conn.execute(text(sql), {**source.params, "key": key}).scalar()


def feature_json_sql(id_sql: str, geometry_sql: str, props: dict[str, str]) -> str:
    """SQL for a Feature as text: ``ST_AsGeoJSON`` is spliced in, not re-parsed as json
    (about twice as fast for a 1,000-cell page); ``to_json`` escapes the id."""
    pairs = ", ".join(f"'{k}', {v}" for k, v in props.items())
    return (
        f"'{{\"type\":\"Feature\",\"id\":' || to_json({id_sql})::text "
        f"|| ',\"geometry\":' || coalesce({geometry_sql}, 'null') "
        f"|| ',\"properties\":' || json_build_object({pairs})::text || '}}'"
    )


def h3_key(feature_id: str) -> int | None:
    """The BIGINT of an H3 string id, or None when it is not a valid cell.

    >>> h3_key("8944a112847ffff") == h3.str_to_int("8944a112847ffff")
    True
    """
    try:
        return h3.str_to_int(feature_id) if h3.is_valid_cell(feature_id) else None
    except (ValueError, TypeError, OverflowError):  # "-1" and 2**64+ overflow a uint64
        return None


CELL_FILTERS = {
    "gi_bin": Filter("c.gi_bin", filter_parser("gi_bin", bins=True), "integer"),
    "trend": Filter("c.trend", filter_parser("trend")),
}
AREA_FILTERS = {"trend": Filter("a.trend", filter_parser("trend"))}
BOUNDARY_FILTERS = {"kind": Filter("b.kind", filter_parser("kind", BOUNDARY_KINDS))}
_PERIOD_COND = (
    f"EXISTS (SELECT 1 FROM hotspot_runs h WHERE h.id = :run AND {RUN_PERIOD_SQL} "
    "&& tstzrange(CAST(:t0 AS timestamptz), CAST(:t1 AS timestamptz), '[)'))"
)


def hotspot_cells_source(run_id: int, *, public: bool) -> Source:
    """The cells of run ``run_id`` as ``public`` callers or staff see them.

    What each sees is decided in :mod:`geo.hotspots.outputs`.

    The feature id (and ``h3``) is the cell's H3 string: the hex of its BIGINT.
    """
    return Source(
        from_sql=CELLS_SQL, alias="c",
        feature_sql=feature_json_sql("to_hex(c.h3)", "ST_AsGeoJSON(c.geom, 7)", CELL_PROPERTIES),
        order_sql="c.h3", key_sql="c.h3", geom_sql="c.geom", time_sql=None,
        period_sql=_PERIOD_COND,
        filters=CELL_FILTERS,
        where=("c.run_id = :run",),
        params={"run": run_id, "public": public, **CELL_PARAMS},
    )


AREA_PROPERTIES = {
    "area_id": "a.area_id", "run_id": "a.run_id", "cells": "a.cells", "reports": "a.reports",
    "weight": "a.weight", "population": "a.population", "trend": "a.trend",
    "priority_score": "a.priority_score", "priority_rank": "a.priority_rank",
    "components": "a.components",
}


def hotspot_areas_source(run_id: int, *, public: bool = True) -> Source:
    """The candidate intervention areas of run ``run_id`` (id: ``area_id``).

    As ``public`` callers or staff see them (:mod:`geo.hotspots.outputs`).
    """
    return Source(
        from_sql=AREAS_SQL, alias="a",
        feature_sql=feature_json_sql("a.area_id", "ST_AsGeoJSON(a.geom, 7)", AREA_PROPERTIES),
        order_sql="a.area_id", key_sql="a.area_id", geom_sql="a.geom", time_sql=None,
        period_sql=_PERIOD_COND,
        filters=AREA_FILTERS,
        where=("a.run_id = :run",),
        params={"run": run_id, "public": public},
    )


BOUNDARY_PROPERTIES = {
    "id": "b.id", "kind": "b.kind", "name": "b.name", "code": "b.code",
    "population": "b.population",
}


def boundaries_source() -> Source:
    """The city, district and tract polygons (no temporal property: any datetime matches)."""
    return Source(
        from_sql="boundaries b", alias="b",
        feature_sql=feature_json_sql("b.id", "ST_AsGeoJSON(b.geom, 7)", BOUNDARY_PROPERTIES),
        order_sql="b.id", key_sql="b.id", geom_sql="b.geom", time_sql=None,
        filters=BOUNDARY_FILTERS,
    )


def expand_bbox(bbox: tuple[float, float, float, float], metres: float) -> tuple[float, ...]:
    """``bbox`` grown by at least ``metres`` on every side (degrees from the worst latitude)."""
    x0, y0, x1, y1 = bbox
    dy = metres / 110_540.0
    worst = min(89.0, max(abs(y0), abs(y1)) + dy)
    dx = metres / (111_320.0 * math.cos(math.radians(worst)))
    return (x0 - dx, max(-90.0, y0 - dy), x1 + dx, min(90.0, y1 + dy))
