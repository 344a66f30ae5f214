"""Collection metadata for the feature families: readable runs, extents in space and time.

Kept apart from :mod:`geo.layers.features` (which builds the features themselves): these
are the cheap reads a collection's description needs, never a scan of its features.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from geo.hotspots.outputs import CELL_PARAMS, CELLS_SQL
from geo.layers.features import RUN_PERIOD_SQL


@dataclass(frozen=True)
class Extent:
    """A collection's extent: lon/lat box and time interval (None: unknown or open)."""

    bbox: tuple[float, float, float, float] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None


def _box(row: Any) -> tuple[float, float, float, float] | None:
    return None if row.x0 is None else (row.x0, row.y0, row.x1, row.y1)


def succeeded_runs(conn: Connection, limit: int) -> list[int]:
    """Ids of the most recently finished succeeded runs, newest first."""
    return list(
        conn.execute(
            text(
                "SELECT id FROM hotspot_runs WHERE status = 'succeeded' "
                "ORDER BY finished_at DESC, id DESC LIMIT :n"
            ),
            {"n": limit},
        ).scalars()
    )


def is_succeeded(conn: Connection, run_id: int) -> bool:
    """True when run ``run_id`` exists and succeeded (only those are readable)."""
    return bool(
        conn.execute(
            text("SELECT EXISTS (SELECT 1 FROM hotspot_runs "
                 "WHERE id = :r AND status = 'succeeded')"),
            {"r": run_id},
        ).scalar()
    )


def run_extents(
    conn: Connection, run_ids: list[int], *, public: bool = True
) -> dict[int, Extent]:
    """Each run's cell extent and period (see :data:`RUN_PERIOD_SQL`), in one statement.

    The box is of the cells ``public`` callers see (:mod:`geo.hotspots.outputs`): the
    extent of a study area built around reports must not outline one.
    """
    rows = conn.execute(
        text(
            "SELECT h.id, ST_XMin(e.b) AS x0, ST_YMin(e.b) AS y0, ST_XMax(e.b) AS x1, "
            "ST_YMax(e.b) AS y1, lower(p.period) AS t0, upper(p.period) AS t1 "
            "FROM hotspot_runs h "
            "CROSS JOIN LATERAL (SELECT ST_Extent(c.geom) AS b FROM "
            f"{CELLS_SQL.replace(':run', 'h.id')} WHERE c.run_id = h.id) e "
            f"CROSS JOIN LATERAL (SELECT {RUN_PERIOD_SQL} AS period) p "
            "WHERE h.id = ANY(:ids)"
        ),
        {"ids": list(run_ids), "public": public, **CELL_PARAMS},
    )
    return {r.id: Extent(_box(r), r.t0, r.t1) for r in rows}


def reports_extent(conn: Connection) -> Extent:
    """Where and when reports were made, coarsely, from nothing the public may not see.

    The box is the boundaries' when any are loaded (a city has them: no scan of
    millions of points), else the box of public services' reports, rounded outward
    to 0.01°; the times are those of public services' reports (one index probe per
    service). A hidden lead-paint report must not move the extent, or its time and
    edge would show: the planner's statistics (``ST_EstimatedExtent``) sample every
    report, hidden ones too, so they are not used.
    """
    row = conn.execute(
        text(
            "WITH e AS (SELECT coalesce((SELECT ST_Extent(geom) FROM boundaries), "
            "(SELECT ST_Extent(r.geom) FROM reports r "
            "JOIN services s ON s.code = r.service_code AND s.privacy = 'public')) AS b), "
            "t AS (SELECT min(x.t0) AS t0, max(x.t1) AS t1 FROM services s CROSS JOIN LATERAL ("
            "SELECT min(requested_at) AS t0, max(requested_at) AS t1 FROM reports r "
            "WHERE r.service_code = s.code) x WHERE s.privacy = 'public') "
            "SELECT floor(ST_XMin(b) * 100) / 100 AS x0, floor(ST_YMin(b) * 100) / 100 AS y0, "
            "ceil(ST_XMax(b) * 100) / 100 AS x1, ceil(ST_YMax(b) * 100) / 100 AS y1, "
            "t.t0, t.t1 FROM e, t"
        )
    ).one()
    return Extent(_box(row), row.t0, row.t1)


def boundaries_extent(conn: Connection) -> Extent:
    """The box around every boundary (no time: boundaries have no temporal property)."""
    row = conn.execute(
        text(
            "SELECT ST_XMin(b) AS x0, ST_YMin(b) AS y0, ST_XMax(b) AS x1, ST_YMax(b) AS y1 "
            "FROM (SELECT ST_Extent(geom) AS b FROM boundaries) e"
        )
    ).one()
    return Extent(_box(row))
