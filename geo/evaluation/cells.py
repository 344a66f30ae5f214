"""Which cells an evaluation compares, and their monthly report counts.

- Treated cells are the H3 cells whose centre lies in the footprint (the cell
  holding the footprint's inner point when it is smaller than one cell).
- Control candidates are the cells with reports of the same services in the
  windows, except treated cells, their ``BUFFER_RINGS`` rings (spill-over and
  displacement) and cells inside another intervention for the same services
  whose period overlaps the windows.
- Controls are matched nearest neighbours on the pre-period level
  (``log(1 + mean)``) and trend (slope of ``log(1 + count)`` per month), both
  standardised, ``CONTROLS_PER_TREATED`` per treated cell without replacement,
  within the treated cells' city boundary (when loaded), and within their
  district when it has ``DISTRICT_POOL_PER_TREATED`` candidates per treated cell.

The analysis time of a report is when it was observed where that is given and
plausible (not after the report was filed, at most ``OBSERVED_MAX_DAYS`` before
it), else when it was filed: see :data:`ANALYSIS_TIME_SQL`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, text

from geo.h3cells import parent_sql
from geo.privacy import reporter_identity_sql

BUFFER_RINGS = 2
CONTROLS_PER_TREATED = 3
#: Controls come from the treated cells' district only when it offers this many
#: candidates per treated cell. From a small pool the nearest matches on level are
#: cells whose busy months were luck; they fall back afterwards and the ratio is
#: biased upwards (regression to the mean, Daw & Hatfield 2018). On the demo city a
#: pool of 3-5 per treated cell gave null areas ratios of 1.3-1.7; the whole city 1.0.
DISTRICT_POOL_PER_TREATED = 10
OBSERVED_MAX_DAYS = 30

#: When a report happened, for evaluations: ``observed_at`` if plausible, else filing time.
ANALYSIS_TIME_SQL = (
    "CASE WHEN r.observed_at IS NOT NULL AND r.observed_at <= r.requested_at "
    f"AND r.observed_at >= r.requested_at - interval '{OBSERVED_MAX_DAYS} days' "
    "THEN r.observed_at ELSE r.requested_at END"
)


def footprint_cells(geometry: dict[str, Any], res: int) -> list[int]:
    """H3 cells (as integers) whose centres fall in a GeoJSON (Multi)Polygon.

    >>> sq = {"type": "Polygon", "coordinates": [[[-80.2, 25.7], [-80.19, 25.7],
    ...       [-80.19, 25.71], [-80.2, 25.71], [-80.2, 25.7]]]}
    >>> len(footprint_cells(sq, 9)) > 5
    True
    """
    cells = h3.geo_to_cells(geometry, res)
    return sorted(h3.str_to_int(c) for c in cells)


def treated_cells(conn: Connection, intervention_id: int, res: int) -> list[int]:
    """The intervention's treated cells at ``res``, never empty for a stored footprint."""
    row = conn.execute(
        text("SELECT CAST(ST_AsGeoJSON(geom) AS json) AS g, ST_Y(ST_PointOnSurface(geom)) AS lat, "
             "ST_X(ST_PointOnSurface(geom)) AS lng FROM interventions WHERE id = :id"),
        {"id": intervention_id},
    ).one()
    cells = footprint_cells(row.g, res)
    return cells or [h3.str_to_int(h3.latlng_to_cell(row.lat, row.lng, res))]


def buffer_cells(cells: Sequence[int], rings: int = BUFFER_RINGS) -> set[int]:
    """``cells`` and every cell within ``rings`` of them."""
    out: set[int] = set()
    for c in cells:
        out.update(h3.str_to_int(n) for n in h3.grid_disk(h3.int_to_str(c), rings))
    return out


@dataclass(frozen=True)
class Window:
    """Monthly period edges: ``pre`` ends where the intervention starts, ``post`` after it ends."""

    pre: list[dt.date]
    post: list[dt.date]

    @property
    def lo(self) -> dt.date:
        """First day counted."""
        return self.pre[0]

    @property
    def hi(self) -> dt.date:
        """Day after the last counted."""
        return self.post[-1] if len(self.post) > 1 else self.pre[-1]


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clipped to the month's last day.

    >>> add_months(dt.date(2026, 1, 31), 1)
    datetime.date(2026, 2, 28)
    """
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def panel(conn: Connection, services: Sequence[str], window: Window, res: int
          ) -> dict[int, NDArray[np.int64]]:
    """Monthly report counts per cell: ``cell → counts`` over pre then post periods.

    Only cells with at least one report in the windows appear; a cell absent
    from the result has zeros throughout. Duplicates are not counted.
    """
    edges = [*window.pre, *window.post]
    n_pre = len(window.pre) - 1
    n_post = max(len(window.post) - 1, 0)
    rows = conn.execute(
        text(
            f"SELECT {parent_sql('r.h3_cell', res)} AS cell, "
            f"width_bucket({ANALYSIS_TIME_SQL}, CAST(:edges AS timestamptz[])) AS bucket, "
            "count(*) AS n FROM reports r "
            "WHERE r.service_code = ANY(:services) AND r.status <> 'duplicate' "
            "AND r.h3_cell IS NOT NULL AND r.requested_at >= CAST(:lo AS timestamptz) "
            f"AND r.requested_at < CAST(:hi AS timestamptz) + interval '{OBSERVED_MAX_DAYS} days' "
            "GROUP BY 1, 2"
        ),
        {"edges": [f"{d.isoformat()}T00:00:00Z" for d in edges], "services": list(services),
         "lo": f"{window.lo.isoformat()}T00:00:00Z", "hi": f"{window.hi.isoformat()}T00:00:00Z"},
    )
    out: dict[int, NDArray[np.int64]] = {}
    for cell, bucket, n in rows:
        # Buckets 1..n_pre are pre months, n_pre+1 the intervention itself, then post.
        if 1 <= bucket <= n_pre:
            idx = bucket - 1
        elif n_pre + 2 <= bucket <= n_pre + 1 + n_post:
            idx = bucket - 2
        else:
            continue
        out.setdefault(int(cell), np.zeros(n_pre + n_post, dtype=np.int64))[idx] += n
    return out


def reporters(conn: Connection, services: Sequence[str], window: Window, res: int,
              groups: dict[str, Sequence[int]]) -> dict[str, dict[str, int]]:
    """Distinct reporters (:func:`geo.privacy.reporter_identity_sql`) of each group and period.

    ``groups`` maps a name to its cells; the answer maps each name to
    ``{"pre": n, "post": n}`` over the same reports :func:`panel` counts.
    """
    names = [g for g, ids in groups.items() for _ in ids]
    cells = [int(c) for ids in groups.values() for c in ids]
    n_pre = len(window.pre) - 1
    n_post = max(len(window.post) - 1, 0)
    rows = conn.execute(
        text(
            "SELECT grp, CASE WHEN bucket <= :n_pre THEN 'pre' ELSE 'post' END AS period, "
            "count(DISTINCT who) AS n FROM ("
            f"SELECT g.grp, width_bucket({ANALYSIS_TIME_SQL}, CAST(:edges AS timestamptz[])) "
            f"AS bucket, {reporter_identity_sql('r')} AS who FROM reports r "
            "JOIN unnest(CAST(:cells AS bigint[]), CAST(:names AS text[])) AS g(cell, grp) "
            f"ON g.cell = {parent_sql('r.h3_cell', res)} "
            "WHERE r.service_code = ANY(:services) AND r.status <> 'duplicate' "
            "AND r.h3_cell IS NOT NULL AND r.requested_at >= CAST(:lo AS timestamptz) "
            f"AND r.requested_at < CAST(:hi AS timestamptz) + interval '{OBSERVED_MAX_DAYS} days'"
            ") x WHERE bucket BETWEEN 1 AND :n_pre OR bucket BETWEEN :n_pre + 2 AND :last "
            "GROUP BY 1, 2"
        ),
        {"edges": [f"{d.isoformat()}T00:00:00Z" for d in [*window.pre, *window.post]],
         "services": list(services), "cells": cells, "names": names, "n_pre": n_pre,
         "last": n_pre + 1 + n_post,
         "lo": f"{window.lo.isoformat()}T00:00:00Z", "hi": f"{window.hi.isoformat()}T00:00:00Z"},
    )
    out = {g: {"pre": 0, "post": 0} for g in groups}
    for grp, period, n in rows:
        out[grp][period] = int(n)
    return out


def other_intervention_cells(conn: Connection, intervention_id: int, services: Sequence[str],
                             lo: dt.date, hi: dt.date, res: int) -> list[dict[str, Any]]:
    """Other interventions for any of ``services`` active in ``[lo, hi)``, with their cells."""
    rows = conn.execute(
        text(
            "SELECT o.id, o.name, o.start_date, o.end_date, "
            "CAST(ST_AsGeoJSON(o.geom) AS json) AS g, "
            "ST_Intersects(o.geom, i.geom) AS overlaps "
            "FROM interventions o, interventions i "
            "WHERE i.id = :id AND o.id <> i.id AND o.services && CAST(:services AS varchar[]) "
            "AND o.start_date < :hi AND o.end_date >= :lo ORDER BY o.id"
        ),
        {"id": intervention_id, "services": list(services), "lo": lo, "hi": hi},
    )
    return [
        {"id": r.id, "name": r.name, "start_date": r.start_date.isoformat(),
         "end_date": r.end_date.isoformat(), "overlaps": bool(r.overlaps),
         "cells": footprint_cells(r.g, res)}
        for r in rows
    ]


def boundary_cells(conn: Connection, kind: str, treated: Sequence[int],
                   candidates: Sequence[int]) -> tuple[str | None, list[int]]:
    """The boundary of ``kind`` holding most treated cells' centres, and the candidates in it.

    ``(None, [])`` when no boundary of that kind holds a treated cell's centre.
    """
    if not candidates:
        return None, []
    points = [h3.cell_to_latlng(h3.int_to_str(c)) for c in treated]
    row = conn.execute(
        text(
            "SELECT b.id, b.name FROM boundaries b, "
            "json_array_elements(CAST(:pts AS json)) p "
            "WHERE b.kind = :kind AND ST_Contains(b.geom, ST_SetSRID(ST_MakePoint("
            "(p->>1)::float8, (p->>0)::float8), 4326)) "
            "GROUP BY b.id, b.name ORDER BY count(*) DESC, b.id LIMIT 1"
        ),
        {"pts": json.dumps(points), "kind": kind},
    ).first()
    if row is None:
        return None, []
    cand_points = [[c, *h3.cell_to_latlng(h3.int_to_str(c))] for c in candidates]
    inside = conn.execute(
        text(
            "SELECT (p->>0)::bigint FROM json_array_elements(CAST(:pts AS json)) p, boundaries b "
            "WHERE b.id = :bid AND ST_Contains(b.geom, ST_SetSRID(ST_MakePoint("
            "(p->>2)::float8, (p->>1)::float8), 4326))"
        ),
        {"pts": json.dumps(cand_points), "bid": row.id},
    ).scalars()
    return str(row.name), sorted(int(c) for c in inside)


def features(counts: NDArray[np.int64]) -> tuple[float, float]:
    """Matching features of a cell's pre-period counts: level and monthly trend (logs).

    >>> [round(v, 4) for v in features(np.array([0, 1, 3, 7]))]
    [1.3218, 0.6931]
    """
    logs = np.log1p(counts.astype(float))
    months = np.arange(counts.size, dtype=float)
    slope = float(np.polyfit(months, logs, 1)[0]) if counts.size > 1 else 0.0
    return float(np.log1p(counts.mean())), slope


def match(treated: dict[int, NDArray[np.int64]], candidates: dict[int, NDArray[np.int64]],
          per_treated: int = CONTROLS_PER_TREATED) -> list[int]:
    """Nearest candidates on standardised (level, trend), ``per_treated`` each, no reuse.

    Treated cells are served busiest first, so the cells that drive the estimate
    get the closest controls.

    >>> t = {1: np.array([5, 5, 5])}
    >>> c = {2: np.array([5, 5, 6]), 3: np.array([0, 0, 1]), 4: np.array([9, 9, 9])}
    >>> match(t, c, per_treated=1)
    [2]
    """
    if not candidates or not treated:
        return []
    cand_ids = np.array(sorted(candidates))
    cand = np.array([features(candidates[c]) for c in cand_ids])
    treat = np.array([features(treated[c]) for c in sorted(treated)])
    scale = np.concatenate([cand, treat]).std(axis=0)
    scale[scale == 0] = 1.0
    cand, treat = cand / scale, treat / scale
    free = np.ones(cand_ids.size, dtype=bool)
    chosen: list[int] = []
    for t in treat[np.argsort(-treat[:, 0], kind="stable")]:
        dist = np.where(free, ((cand - t) ** 2).sum(axis=1), np.inf)
        for i in np.argsort(dist, kind="stable")[:per_treated]:
            if free[i]:
                free[i] = False
                chosen.append(int(cand_ids[i]))
    return sorted(chosen)
