"""Publishing a run's result: cells, areas and the status, in one transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, text


@dataclass
class CellResult:
    """Per-cell arrays of one run, all of the same length (contract field names)."""

    h3: NDArray[np.int64]
    reports: NDArray[np.int64]
    weight: NDArray[np.float64]
    reporters: NDArray[np.int64]
    gi_z: NDArray[np.float64]
    gi_p: NDArray[np.float64]
    gi_bin: NDArray[np.int8]
    n_neighbors: NDArray[np.int64]
    no_data: NDArray[np.bool_]
    trend: Sequence[str | None] | None = None
    area_id: NDArray[np.int64] | None = None  # -1 = in no area
    priority_score: NDArray[np.float64] | None = None
    priority_rank: NDArray[np.int64] | None = None
    components: Sequence[dict[str, float] | None] | None = None


@dataclass
class AreaResult:
    """One intervention area: contiguous hot cells merged."""

    area_id: int
    cells: list[int]
    reports: int
    weight: float
    priority_score: float
    priority_rank: int
    components: dict[str, float]
    population: float | None = None
    trend: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def cell_polygon_wkt(cell: int) -> str:
    """The hexagon of an H3 cell as WKT (lng lat order, closed ring)."""
    ring = h3.cell_to_boundary(h3.int_to_str(int(cell)))
    coords = [f"{lng:.7f} {lat:.7f}" for lat, lng in ring]
    coords.append(coords[0])
    return "POLYGON((" + ",".join(coords) + "))"


def _cell_rows(run_id: int, cells: CellResult) -> list[tuple[Any, ...]]:
    n = len(cells.h3)
    rows = []
    for i in range(n):
        rows.append(
            (
                run_id,
                int(cells.h3[i]),
                int(cells.reports[i]),
                float(cells.weight[i]),
                int(cells.reporters[i]),
                float(cells.gi_z[i]),
                float(cells.gi_p[i]),
                int(cells.gi_bin[i]),
                int(cells.n_neighbors[i]),
                bool(cells.no_data[i]),
                cells.trend[i] if cells.trend is not None else None,
                int(cells.area_id[i]) if cells.area_id is not None and cells.area_id[i] >= 0 else None,
                float(cells.priority_score[i]) if cells.priority_score is not None else None,
                int(cells.priority_rank[i]) if cells.priority_rank is not None else None,
                json.dumps(cells.components[i]) if cells.components is not None else None,
                "SRID=4326;" + cell_polygon_wkt(int(cells.h3[i])),
            )
        )
    return rows


def publish(
    conn: Connection,
    run_id: int,
    cells: CellResult,
    areas: Sequence[AreaResult],
    *,
    counts: dict[str, Any],
    fingerprint: str,
    rings: int,
    rings_profile: list[Any] | None = None,
    timings: dict[str, float] | None = None,
) -> None:
    """Replace the run's cells and areas and mark it succeeded, in the caller's transaction.

    Deleting first makes a second delivery of the same job write the same result
    once; committing with the status makes the run visible all at once.
    """
    conn.execute(text("DELETE FROM hotspot_areas WHERE run_id = :r"), {"r": run_id})
    conn.execute(text("DELETE FROM hotspot_cells WHERE run_id = :r"), {"r": run_id})
    raw = conn.connection.driver_connection  # psycopg 3: COPY is the fast path for 10⁴–10⁵ cells
    assert raw is not None
    with raw.cursor() as cur, cur.copy(
        "COPY hotspot_cells (run_id, h3, reports, weight, reporters, gi_z, gi_p, gi_bin, "
        "n_neighbors, no_data, trend, area_id, priority_score, priority_rank, components, geom) "
        "FROM STDIN"
    ) as copy:
        for row in _cell_rows(run_id, cells):
            copy.write_row(row)
    if areas:
        conn.execute(
            text(
                "INSERT INTO hotspot_areas (run_id, area_id, cells, reports, weight, population, "
                "trend, priority_score, priority_rank, components, geom) "
                "SELECT :run, a.area_id, a.n, a.reports, a.weight, a.population, a.trend, "
                "a.score, a.rank, a.components, "
                "(SELECT ST_Multi(ST_Union(c.geom)) FROM hotspot_cells c "
                " WHERE c.run_id = :run AND c.h3 = ANY(a.cells)) "
                "FROM jsonb_to_recordset(CAST(:areas AS jsonb)) AS a(area_id int, n int, "
                "reports int, weight float8, population float8, trend text, score float8, "
                "rank int, components jsonb, cells bigint[])"
            ),
            {
                "run": run_id,
                "areas": json.dumps(
                    [
                        {
                            "area_id": a.area_id, "n": len(a.cells), "reports": a.reports,
                            "weight": a.weight, "population": a.population, "trend": a.trend,
                            "score": a.priority_score, "rank": a.priority_rank,
                            "components": a.components, "cells": a.cells,
                        }
                        for a in areas
                    ]
                ),
            },
        )
    conn.execute(
        text(
            "UPDATE hotspot_runs SET status = 'succeeded', progress = 100, finished_at = now(), "
            "error = NULL, counts = CAST(:counts AS jsonb), fingerprint = :fp, rings = :rings, "
            "rings_profile = CAST(:profile AS jsonb), timings = CAST(:timings AS jsonb) "
            "WHERE id = :r"
        ),
        {
            "r": run_id, "counts": json.dumps(counts), "fp": fingerprint, "rings": rings,
            "profile": json.dumps(rings_profile), "timings": json.dumps(timings or {}),
        },
    )
