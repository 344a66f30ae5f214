"""What a hotspot run reads from the database: per-cell totals, the study area, the cube.

All aggregation is SQL over ``report_cell_days`` (resolution 9, see
``geo.hotspots.aggregate``): coarser resolutions derive parents by bit arithmetic, finer
ones read the reports themselves (slower, and said so in the run's timings).

The per-cell totals and the time series of a run come from one pass over the
aggregate (:func:`read_cells`): at a million reports the aggregate still holds
~650k (service, cell, day) rows, and reading them is most of a run's time.
Week-binned runs without a half-life read whole weeks from ``report_cell_weeks``
instead and only the partial weeks at either end day by day (:func:`_weekly_source`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import h3
import numpy as np
import shapely
from h3.api import basic_int as h3i
from numpy.typing import NDArray
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, text

from geo.h3cells import descendants_range_sql, parent_sql
from geo.hotspots.aggregate import GROUPS_SQL, PEOPLE_SQL
from geo.hotspots.params import RunParams
from geo.hotspots.public import Withheld, bind, withheld_sql
from geo.hotspots.schema import AGGREGATE_RESOLUTION


@dataclass
class CellTotals:
    """Per-cell totals of the reports a run analyses (cells with reports only)."""

    cells: NDArray[np.int64]
    reports: NDArray[np.int64]
    incidents: NDArray[np.int64]
    weight: NDArray[np.float64]
    reporters: NDArray[np.int64]
    severity: NDArray[np.float64]
    #: The most reporters of any single (service, cell, day) group: a lower bound of
    #: the distinct reporters of every neighbourhood holding the cell.
    best_group_reporters: NDArray[np.int64] | None = None


@dataclass
class TimeSeries:
    """Weighted incidents per (time bin, cell), sparse: the space-time cube's entries."""

    bins: list[dt.date]
    bin_index: NDArray[np.int64]
    cells: NDArray[np.int64]
    weight: NDArray[np.float64]

    def dense(self, cells: NDArray[np.int64]) -> NDArray[np.float64]:
        """The cube ``[time bin, cell]`` over sorted study ``cells`` (others left out)."""
        cube = np.zeros((len(self.bins), len(cells)), dtype=np.float64)
        if len(cells) and len(self.cells):
            pos = np.searchsorted(cells, self.cells)
            ok = (pos < len(cells)) & (cells[np.minimum(pos, len(cells) - 1)] == self.cells)
            # (bin, cell) pairs are distinct, so plain assignment places every entry.
            cube[self.bin_index[ok], pos[ok]] = self.weight[ok]
        return cube


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
    rows = "(" + GROUPS_SQL.format(where="") + ") d"
    return rows.replace(parent_sql("r.h3_cell", AGGREGATE_RESOLUTION), "r.h3_cell"), parent_sql(
        "d.cell", res
    )


def _weekly_source(params: RunParams, since: dt.date, until: dt.date) -> str | None:
    """The run's rows as whole weeks plus the days of partial end weeks, or None.

    Every count of a week is the sum of its days' (``geo.hotspots.aggregate``), and the
    per-day peak of reporters is kept, so a week-binned run reads the same sums
    from ~half the rows. Not for a half-life (the decay is per day), month bins
    (weeks straddle months), finer resolutions (read from the reports), or a
    period without a whole week. The days before the first Monday and from the
    last Monday come from ``report_cell_days``, so nothing depends on reports
    never being dated after ``until``.
    """
    if (
        params.half_life_days
        or params.time_step != "week"
        or params.resolution > AGGREGATE_RESOLUTION
    ):
        return None
    first = since + dt.timedelta(days=-since.weekday() % 7)  # Monday on or after since
    last = until - dt.timedelta(days=until.weekday())  # Monday on or before until
    if first >= last:
        return None
    # The (service_code, day) index serves the end days only with the codes listed
    # (no skip scans before PostgreSQL 18); without them it read every day row.
    days = (
        "SELECT service_code, cell, day, reports, incidents, reporters, reporters AS best"
        " FROM report_cell_days WHERE service_code = ANY(ARRAY(SELECT code FROM services))"
        " AND day >= DATE '{0}' AND day < DATE '{1}'"
    )
    return (
        f"({days.format(since, first)} UNION ALL "
        "SELECT service_code, cell, week AS day, reports, incidents, reporters,"
        " peak_day_reporters AS best FROM report_cell_weeks"
        f" WHERE week >= DATE '{first}' AND week < DATE '{last}' UNION ALL "
        f"{days.format(last, until)}) d"
    )


def time_bins(params: RunParams, today: dt.date) -> tuple[list[dt.date], str]:
    """First day of every time bin of the run, and SQL giving ``d.day``'s bin number.

    Weeks start on Mondays, months on the 1st; the first bin holds ``since``. The
    bin number is integer arithmetic on the date: ``date_trunc`` converts every
    row to a timestamp and cost 0.2 s over the aggregate of 1M reports.
    """
    since, until = period(params, today)
    bins: list[dt.date] = []
    if params.time_step == "week":
        current = since - dt.timedelta(days=since.weekday())
        while current < until:
            bins.append(current)
            current += dt.timedelta(days=7)
        return bins, f"((d.day - DATE '{bins[0].isoformat()}') / 7)"
    current = since.replace(day=1)
    while current < until:
        bins.append(current)
        current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    first = bins[0].year * 12 + bins[0].month
    return bins, (
        f"((EXTRACT(YEAR FROM d.day)::int * 12 + EXTRACT(MONTH FROM d.day)::int) - {first})"
    )


def read_cells(
    conn: Connection, params: RunParams, today: dt.date, withheld: Withheld | None = None
) -> tuple[CellTotals, TimeSeries]:
    """Per-cell totals and the weighted time series of the run, in one pass.

    ``withheld`` groups are left out (a run's public twin, :mod:`geo.hotspots.public`).

    One grouping by (time bin, cell) feeds both: the series directly, the totals
    by summing it over bins in SQL. Results come back as one row of arrays
    (row by row, 94k bins × cells took 0.3 s in Python objects).
    """
    since, until = period(params, today)
    source, cell = _source(params.resolution)
    best = "d.reporters"
    weekly = _weekly_source(params, since, until)
    if weekly is not None:
        source, best = weekly, "d.best"
    bins, bin_sql = time_bins(params, today)
    # Without a half-life the analysed weight is the cube's weight ``w``: one sum fewer.
    decayed = (
        "sum(d.incidents * s.severity"
        " * power(0.5, (CAST(%(until)s AS date) - 1 - d.day)::float8 / %(half_life)s))"
        if params.half_life_days
        else "NULL::float8"
    )
    weight = "weight" if params.half_life_days else "w"
    held = (withheld_sql("d.service_code", "d.cell", placeholders=("%(ws)s", "%(wc)s"))
            if withheld else "true")
    # The grouping hashes ~650k rows into ~94k groups at 1M reports: with the
    # default 4 MB it sorted on disk (0.9 s), and parallel workers each see nearly
    # every group, so their partial sums barely shrink the rows (measured slower).
    conn.execute(text("SET LOCAL work_mem = '64MB'"))
    conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    query = (
        "WITH g AS MATERIALIZED ("
        f" SELECT {bin_sql} AS bin, {cell} AS cell, sum(d.reports) AS reports,"
        "  sum(d.incidents) AS incidents, sum(d.incidents * s.severity) AS w,"
        f"  {decayed} AS weight, sum(d.reporters) AS reporters, max({best}) AS best"
        f" FROM {source} JOIN services s ON s.code = d.service_code"
        " WHERE d.day >= %(since)s AND d.day < %(until)s"
        " AND (cardinality(CAST(%(services)s AS text[])) = 0"
        "      OR d.service_code = ANY(%(services)s))"
        f" AND {held}"
        " GROUP BY 1, 2), "
        "c AS (SELECT cell, sum(reports)::bigint AS reports,"
        " sum(incidents)::bigint AS incidents,"
        f" sum({weight}) AS weight, sum(reporters)::bigint AS reporters,"
        " sum(w) / sum(incidents) AS severity, max(best) AS best FROM g GROUP BY cell) "
        "SELECT * FROM (SELECT array_agg(bin) AS bins, array_agg(cell) AS cells,"
        " array_agg(w) AS w FROM g) s, "
        "(SELECT ARRAY[array_agg(cell), array_agg(reports), array_agg(incidents),"
        "  array_agg(reporters), array_agg(best::bigint)] AS counts,"
        " ARRAY[array_agg(weight), array_agg(severity)] AS weights FROM c) t"
    )
    # Straight on the driver, in the same transaction, for binary results: the
    # arrays then arrive as machine numbers (formatting and parsing 10^5 floats
    # as text cost ~25 ms).
    raw = conn.connection.driver_connection
    assert raw is not None, "the connection is open: SET LOCAL ran on it"
    with raw.cursor(binary=True, row_factory=namedtuple_row) as cur:
        row = cur.execute(
            query,
            {
                "since": since, "until": until, "services": list(params.services),
                "half_life": params.half_life_days, **bind(withheld),
            },
        ).fetchone()
    if not row.counts:  # no reports in the period (ARRAY[] of NULLs is empty)
        empty = np.zeros(0, dtype=np.int64)
        totals = CellTotals(empty, empty, empty, empty.astype(np.float64), empty,
                            empty.astype(np.float64), empty)
        return totals, TimeSeries(bins, empty, empty, empty.astype(np.float64))
    series = TimeSeries(
        bins, np.array(row.bins, dtype=np.int64), np.array(row.cells, dtype=np.int64),
        np.array(row.w, dtype=np.float64),
    )
    counts = np.array(row.counts, dtype=np.int64)
    weights = np.array(row.weights, dtype=np.float64)
    order = np.argsort(counts[0])
    counts, weights = counts[:, order], weights[:, order]
    totals = CellTotals(
        cells=counts[0], reports=counts[1], incidents=counts[2], weight=weights[0],
        reporters=counts[3], severity=weights[1], best_group_reporters=counts[4],
    )
    return totals, series


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
    its own area (the first district by id where districts overlap). None when no
    district has a population.

    Cities have tens of districts and thousands of cells: the districts are read
    once and the centres tested against them in one vectorised call each
    (GEOS, as PostGIS's ST_Contains), not one database lookup per cell.
    """
    districts = conn.execute(
        text(
            "SELECT population, population / NULLIF(ST_Area(geom::geography), 0) AS density, "
            "ST_AsBinary(geom) AS wkb FROM boundaries "
            "WHERE kind = 'district' AND population IS NOT NULL ORDER BY id"
        )
    ).all()
    if not any(d.population > 0 for d in districts):
        return None
    ids = cells.tolist()
    latlng = np.array([h3i.cell_to_latlng(c) for c in ids], dtype=np.float64).reshape(-1, 2)
    areas = np.array([h3i.cell_area(c, "m^2") for c in ids], dtype=np.float64)
    density = np.zeros(len(ids))
    unplaced = np.ones(len(ids), dtype=bool)
    for district in districts:
        if district.density is None:  # no area, holds no centre
            continue
        inside = unplaced & shapely.contains_xy(
            shapely.from_wkb(bytes(district.wkb)), latlng[:, 1], latlng[:, 0]
        )
        density[inside] = district.density
        unplaced &= ~inside
    return density * areas


def time_cube(
    conn: Connection, params: RunParams, today: dt.date, cells: NDArray[np.int64]
) -> tuple[NDArray[np.float64], list[dt.date]]:
    """Weighted incidents per (time bin, study cell): the space-time cube, dense."""
    series = read_cells(conn, params, today)[1]
    return series.dense(cells), series.bins


def neighbourhood_reporters(
    conn: Connection,
    params: RunParams,
    today: dt.date,
    centres: NDArray[np.int64],
    members: list[NDArray[np.int64]],
    withheld: Withheld | None = None,
    cap: int = 3,
) -> NDArray[np.int64]:
    """Distinct reporters (up to ``cap``) in each candidate's neighbourhood, exactly.

    Per-cell reporter counts cannot be summed over a neighbourhood — one phone
    reporting in seven adjacent cells would look like seven people — so hot
    candidates are checked against the reports themselves: through the h3_cell
    index, the distinct people behind the reports and their confirmations
    (:func:`geo.privacy.reporter_identity_sql`). That reads every report of the
    neighbourhoods, so the engine asks only about the candidates the aggregate's
    bounds cannot settle (see :func:`geo.stats.hotspots.analyse`).
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
            "hits AS (SELECT n.centre, who.id AS who FROM pairs n JOIN reports r "
            f"ON r.h3_cell BETWEEN {lo} AND {hi} {PEOPLE_SQL} "
            "WHERE r.status <> 'duplicate' "
            # UTC days, as the aggregate the run analysed (and bounds, see the engine).
            "AND r.requested_at >= (CAST(:since AS date)::timestamp AT TIME ZONE 'UTC') "
            "AND r.requested_at < (CAST(:until AS date)::timestamp AT TIME ZONE 'UTC') "
            "AND (cardinality(CAST(:services AS text[])) = 0 "
            "     OR r.service_code = ANY(:services)) "
            f"AND {withheld_sql('r.service_code', 'r.h3_cell', placeholders=(':ws', ':wc'))}) "
            "SELECT centre, "
            "least(:cap, count(DISTINCT who)) "
            "FROM hits GROUP BY centre"
        ),
        {
            "c": pairs_c.tolist(), "n": pairs_n.tolist(), "since": since, "until": until,
            "services": list(params.services), "cap": cap, **bind(withheld),
        },
    ).all()
    found = {int(c): int(k) for c, k in rows}
    return np.array([found.get(int(c), 0) for c in centres], dtype=np.int64)
