"""What a hotspot run reads from the database: per-cell totals, the study area, the cube.

All aggregation is SQL over ``report_cell_days`` (resolution 9, see
``geo.aggregate``): coarser resolutions derive parents by bit arithmetic, finer
ones read the reports themselves (slower, and said so in the run's timings).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, text

from geo.aggregate import _GROUPS
from geo.h3cells import descendants_range_sql, parent_sql
from geo.hotspot_params import RunParams
from geo.hotspot_schema import AGGREGATE_RESOLUTION


@dataclass
class CellTotals:
    """Per-cell totals of the reports a run analyses (cells with reports only)."""

    cells: NDArray[np.int64]
    reports: NDArray[np.int64]
    incidents: NDArray[np.int64]
    weight: NDArray[np.float64]
    reporters: NDArray[np.int64]
    severity: NDArray[np.float64]


def period(params: RunParams, today: dt.date) -> tuple[dt.date, dt.date]:
    """The half-open day range ``[since, until)`` a run covers (default: the last year)."""
    until = params.until or today + dt.timedelta(days=1)
    since = params.since or until - dt.timedelta(days=365)
    return since, until


def _source(res: int) -> tuple[str, str]:
    """The rows to aggregate and the cell expression, for a run resolution."""
    if res <= AGGREGATE_RESOLUTION:
        return "report_cell_days d", parent_sql("d.cell", res)
    # Finer than the aggregate: group the reports at the stored resolution first.
    rows = "(" + _GROUPS.format(where="") + ") d"
    return rows.replace(parent_sql("r.h3_cell", AGGREGATE_RESOLUTION), "r.h3_cell"), parent_sql(
        "d.cell", res
    )


def load_totals(conn: Connection, params: RunParams, today: dt.date) -> CellTotals:
    """Reports, incidents, weighted incidents and reporters per cell for the run."""
    since, until = period(params, today)
    source, cell = _source(params.resolution)
    decay = (
        "power(0.5, (CAST(:until AS date) - 1 - d.day)::float8 / :half_life)"
        if params.half_life_days
        else "1.0"
    )
    rows = conn.execute(
        text(
            f"SELECT {cell} AS cell, sum(d.reports) AS reports, sum(d.incidents) AS incidents, "
            f"sum(d.incidents * s.severity * {decay}) AS weight, sum(d.reporters) AS reporters, "
            "sum(d.incidents * s.severity) / sum(d.incidents) AS severity "
            f"FROM {source} JOIN services s ON s.code = d.service_code "
            "WHERE d.day >= :since AND d.day < :until "
            "AND (cardinality(CAST(:services AS text[])) = 0 OR d.service_code = ANY(:services)) "
            "GROUP BY 1 ORDER BY 1"
        ),
        {
            "since": since, "until": until, "services": list(params.services),
            "half_life": params.half_life_days,
        },
    ).all()
    if not rows:
        empty = np.zeros(0)
        return CellTotals(empty.astype(np.int64), empty.astype(np.int64),
                          empty.astype(np.int64), empty, empty.astype(np.int64), empty)
    cols = list(zip(*rows, strict=True))
    return CellTotals(
        cells=np.array(cols[0], dtype=np.int64),
        reports=np.array(cols[1], dtype=np.int64),
        incidents=np.array(cols[2], dtype=np.int64),
        weight=np.array(cols[3], dtype=np.float64),
        reporters=np.array(cols[4], dtype=np.int64),
        severity=np.array(cols[5], dtype=np.float64),
    )


def unlocated_reports(conn: Connection, params: RunParams, today: dt.date) -> int:
    """Reports in the period without a point (address-only): left out, but counted."""
    since, until = period(params, today)
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM reports WHERE geom IS NULL AND status <> 'duplicate' "
                "AND requested_at >= :since AND requested_at < :until "
                "AND (cardinality(CAST(:services AS text[])) = 0 OR service_code = ANY(:services))"
            ),
            {"since": since, "until": until, "services": list(params.services)},
        ).scalar_one()
    )


def study_boundary(conn: Connection, params: RunParams) -> dict[str, Any] | None:
    """GeoJSON of the study area: the run's boundary, else the city's, else None."""
    if params.boundary_id is not None:
        geojson = conn.execute(
            text("SELECT ST_AsGeoJSON(geom) FROM boundaries WHERE id = :id"),
            {"id": params.boundary_id},
        ).scalar()
        if geojson is None:
            raise LookupError(f"boundary {params.boundary_id} does not exist")
        return json.loads(geojson)
    geojson = conn.execute(
        text("SELECT ST_AsGeoJSON(ST_Union(geom)) FROM boundaries WHERE kind = 'city'")
    ).scalar()
    return json.loads(geojson) if geojson else None


def cells_in_boundary(geojson: dict[str, Any], res: int) -> NDArray[np.int64]:
    """Every H3 cell whose centre lies in the boundary, sorted (H3's polygon fill)."""
    cells = h3.geo_to_cells(geojson, res)
    return np.sort(np.fromiter((h3.str_to_int(c) for c in cells), dtype=np.int64, count=len(cells)))


def cell_population(conn: Connection, cells: NDArray[np.int64]) -> NDArray[np.float64] | None:
    """People per cell, spreading each district's population over its area.

    A cell takes the population density of the district holding its centre times
    its own area. None when no district has a population.
    """
    if not conn.execute(
        text("SELECT EXISTS (SELECT 1 FROM boundaries WHERE kind = 'district' AND population > 0)")
    ).scalar():
        return None
    latlng = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells])
    areas = np.array([h3.cell_area(h3.int_to_str(int(c)), "m^2") for c in cells])
    density = conn.execute(
        text(
            "SELECT coalesce(d.population / ST_Area(d.geom::geography), 0) FROM "
            "unnest(CAST(:lat AS float8[]), CAST(:lng AS float8[])) WITH ORDINALITY AS p(lat, lng, i) "
            "LEFT JOIN LATERAL (SELECT population, geom FROM boundaries b "
            "WHERE b.kind = 'district' AND b.population IS NOT NULL "
            "AND ST_Contains(b.geom, ST_SetSRID(ST_MakePoint(p.lng, p.lat), 4326)) LIMIT 1) d "
            "ON true "
            "ORDER BY p.i"
        ),
        {"lat": latlng[:, 0].tolist(), "lng": latlng[:, 1].tolist()},
    ).scalars().all()
    return np.asarray(density, dtype=np.float64) * areas


def time_cube(
    conn: Connection, params: RunParams, today: dt.date, cells: NDArray[np.int64]
) -> tuple[NDArray[np.float64], list[dt.date]]:
    """Weighted incidents per (time bin, study cell): the space-time cube, dense."""
    since, until = period(params, today)
    source, cell = _source(params.resolution)
    step = params.time_step
    rows = conn.execute(
        text(
            f"SELECT date_trunc('{step}', d.day)::date AS bin, {cell} AS cell, "
            "sum(d.incidents * s.severity) AS w "
            f"FROM {source} JOIN services s ON s.code = d.service_code "
            "WHERE d.day >= :since AND d.day < :until "
            "AND (cardinality(CAST(:services AS text[])) = 0 OR d.service_code = ANY(:services)) "
            "GROUP BY 1, 2"
        ),
        {"since": since, "until": until, "services": list(params.services)},
    ).all()
    first = since - dt.timedelta(days=since.weekday()) if step == "week" else since.replace(day=1)
    bins: list[dt.date] = []
    current = first
    while current < until:
        bins.append(current)
        if step == "week":
            current += dt.timedelta(days=7)
        else:
            current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    cube = np.zeros((len(bins), len(cells)), dtype=np.float64)
    if rows:
        bin_index = {b: i for i, b in enumerate(bins)}
        b_col, c_col, w_col = zip(*rows, strict=True)
        c_arr = np.array(c_col, dtype=np.int64)
        pos = np.searchsorted(cells, c_arr)
        pos_ok = (pos < len(cells)) & (cells[np.minimum(pos, len(cells) - 1)] == c_arr)
        t = np.array([bin_index.get(b, -1) for b in b_col])
        keep = pos_ok & (t >= 0)
        np.add.at(cube, (t[keep], pos[keep]), np.array(w_col, dtype=np.float64)[keep])
    return cube, bins


def neighbourhood_reporters(
    conn: Connection,
    params: RunParams,
    today: dt.date,
    centres: NDArray[np.int64],
    members: list[NDArray[np.int64]],
    cap: int = 3,
) -> NDArray[np.int64]:
    """Distinct reporters (up to ``cap``) in each candidate's neighbourhood, exactly.

    Per-cell reporter counts cannot be summed over a neighbourhood — one phone
    reporting in seven adjacent cells would look like seven people — so hot
    candidates are checked against the reports themselves: through the h3_cell
    index, stopping at ``cap`` distinct devices, plus confirmations by others.
    """
    if len(centres) == 0:
        return np.zeros(0, dtype=np.int64)
    since, until = period(params, today)
    res = params.resolution
    lo, hi = descendants_range_sql("n.cell", res)
    pairs_c = np.repeat(centres, [len(m) for m in members])
    pairs_n = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
    rows = conn.execute(
        text(
            "WITH pairs AS (SELECT * FROM unnest(CAST(:c AS bigint[]), CAST(:n AS bigint[])) "
            "AS n(centre, cell)), "
            "hits AS (SELECT n.centre, coalesce(encode(r.device_hash, 'hex'), r.id::text) AS who, "
            "r.confirmations FROM pairs n JOIN reports r "
            f"ON r.h3_cell BETWEEN {lo} AND {hi} "
            "WHERE r.status <> 'duplicate' "
            "AND r.requested_at >= :since AND r.requested_at < :until "
            "AND (cardinality(CAST(:services AS text[])) = 0 "
            "     OR r.service_code = ANY(:services))) "
            "SELECT centre, "
            "least(:cap, count(DISTINCT who) + coalesce(sum(confirmations), 0)) "
            "FROM hits GROUP BY centre"
        ),
        {
            "c": pairs_c.tolist(), "n": pairs_n.tolist(), "since": since, "until": until,
            "services": list(params.services), "cap": cap,
        },
    ).all()
    found = {int(c): int(k) for c, k in rows}
    return np.array([found.get(int(c), 0) for c in centres], dtype=np.int64)
