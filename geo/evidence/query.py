"""Every number of an evidence pack, read from PostGIS in set-based SQL.

Where things are counted: a report belongs to the export area (and to a
district) when the centre of its H3 cell at the run's resolution lies inside it —
the rule the hotspot engine uses for its study area, so the map, the cells and
the totals agree, and no count depends on a report's exact point. Counts come
from the per-cell-day aggregate (``report_cell_days``) like the run's, or from
the reports grouped by cell when the run is finer than the aggregate.

Run everything in one REPEATABLE READ transaction so that every table of the
pack describes the same snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import h3
from sqlalchemy import Connection, text

from geo.evidence import periods
from geo.h3cells import parent_sql
from geo.hotspots import public
from geo.hotspots.params import RunParams
from geo.hotspots.runs import get_run
from geo.hotspots.schema import AGGREGATE_RESOLUTION
from geo.privacy import GENERALISED_RESOLUTION, MIN_REPORTERS


@dataclass
class Evidence:
    """What the PDF and the data files show (plain values, ready to render)."""

    params: dict[str, Any]
    run: dict[str, Any]
    services: list[dict[str, Any]]
    area_name: str
    area_km2: float
    since: dt.date
    until: dt.date
    months: list[dt.date]
    totals: dict[str, int]
    by_service: dict[str, dict[str, int]]
    monthly: list[dict[str, Any]]
    districts: list[dict[str, Any]]
    cells: list[dict[str, Any]]
    areas: list[dict[str, Any]]
    run_summary: dict[str, Any]
    privacy_applies: bool
    map_layers: dict[str, Any] = field(default_factory=dict)

    @property
    def resolution(self) -> int:
        """The run's H3 resolution."""
        return int(self.run["params"].get("resolution", 9))


def load(conn: Connection, params: dict[str, Any]) -> Evidence:
    """Read everything a pack shows for resolved ``params`` (see ``geo.evidence.params``)."""
    run = get_run(conn, int(params["run_id"]))
    if run is None or run["status"] != "succeeded":
        raise LookupError(f"hotspot run {params['run_id']} is not available")
    res = int((run["params"] or {}).get("resolution", 9))
    # A pack is made to be forwarded: it shows the run as the public sees it, the
    # public twin when the run has one (geo.hotspots.public), with the counts of
    # the same reports at the same resolution.
    twin = bool((run.get("counts") or {}).get("public_twin"))
    cells_table = "hotspot_public_cells" if twin else "hotspot_cells"
    areas_table = "hotspot_public_areas" if twin else "hotspot_areas"
    since, until = dt.date.fromisoformat(params["since"]), dt.date.fromisoformat(params["until"])
    services = [
        dict(r._mapping)
        for r in conn.execute(
            text(
                "SELECT code, name, privacy, severity FROM services "
                "WHERE code = ANY(:codes) ORDER BY code"
            ),
            {"codes": params["services"]},
        )
    ]
    run_services = (run["params"] or {}).get("services") or []
    privacy_applies = bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM services WHERE privacy = 'aggregated' AND "
                "(code = ANY(:codes) OR cardinality(CAST(:run AS text[])) = 0 "
                "OR code = ANY(:run)))"
            ),
            {"codes": params["services"], "run": run_services},
        ).scalar()
    )
    held = None
    if twin:
        res = min(res, GENERALISED_RESOLUTION)
        held = public.withheld(conn, RunParams(services=tuple(params["services"])), since, until)
    area_km2 = _area_table(conn, params["area"])
    _counts_table(conn, res, params["services"], since, until, held)
    _cells_table(conn, int(run["id"]), cells_table)
    run_id = int(run["id"])
    # Counts of the twin come from the reports the public may see: nothing to blank.
    blank = privacy_applies and not twin

    by_service = {s["code"]: {"reports": 0, "incidents": 0} for s in services}
    for row in conn.execute(
        text(
            "SELECT k.service_code, sum(k.reports)::bigint AS reports, "
            "sum(k.incidents)::bigint AS incidents FROM ev_counts k "
            "JOIN ev_cells e ON e.cell = k.cell AND e.in_area GROUP BY 1"
        )
    ):
        by_service[row.service_code] = {
            "reports": int(row.reports), "incidents": int(row.incidents)}
    reports = sum(v["reports"] for v in by_service.values())
    incidents = sum(v["incidents"] for v in by_service.values())
    outside_study = conn.execute(
        text(
            "SELECT coalesce(sum(k.reports), 0) FROM ev_counts k "
            "JOIN ev_cells e ON e.cell = k.cell AND e.in_area "
            f"LEFT JOIN {cells_table} c ON c.run_id = :run AND c.h3 = k.cell WHERE c.h3 IS NULL"
        ),
        {"run": run_id},
    ).scalar_one()
    unlocated = conn.execute(
        text(
            "SELECT count(*) FROM reports WHERE geom IS NULL AND status <> 'duplicate' "
            "AND service_code = ANY(:codes) AND requested_at >= :since AND requested_at < :until"
        ),
        {"codes": params["services"], "since": _utc(since), "until": _utc(until)},
    ).scalar_one()

    months = periods.months(since, until)
    counted = {
        (r.service_code, r.month): (int(r.reports), int(r.incidents))
        for r in conn.execute(
            text(
                "SELECT k.service_code, k.month, sum(k.reports)::bigint AS reports, "
                "sum(k.incidents)::bigint AS incidents FROM ev_counts k "
                "JOIN ev_cells e ON e.cell = k.cell AND e.in_area GROUP BY 1, 2"
            )
        )
    }
    monthly = [
        {"service_code": s["code"], "month": m, "days": periods.days_in_period(m, since, until),
         "reports": counted.get((s["code"], m), (0, 0))[0],
         "incidents": counted.get((s["code"], m), (0, 0))[1]}
        for s in services for m in months
    ]

    cells = [dict(r._mapping) for r in conn.execute(
        text(_CELLS_SQL.format(cells=cells_table)), {"run": run_id})]
    for cell in cells:
        cell["h3"] = h3.int_to_str(int(cell["h3"]))
        cell["suppressed"] = _suppressed(blank, cell["reporters"])
    areas = _areas(conn, run_id, blank, cells_table, areas_table)
    summary = _run_summary(cells)
    summary["reports_outside_study_area"] = int(outside_study)
    summary["reports_without_location"] = int(unlocated)

    return Evidence(
        params=params, run=run, services=services,
        area_name=params["area"].get("name") or "the area", area_km2=area_km2,
        since=since, until=until, months=months,
        totals={"reports": reports, "incidents": incidents, "repeats_merged": reports - incidents,
                "cells_suppressed": sum(1 for c in cells if c["suppressed"])},
        by_service=by_service, monthly=monthly, districts=_districts(conn),
        cells=cells, areas=areas, run_summary=summary, privacy_applies=privacy_applies,
        map_layers=_map_layers(conn),
    )


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def _suppressed(applies: bool, reporters: int | None) -> bool:
    # The public rule (geo.privacy): a cell with one or two reporters of a
    # non-public service could point at a household, so its counts are withheld,
    # and so are an empty cell's: "suppressed" must not mean "one or two people".
    return applies and (reporters is None or int(reporters) < MIN_REPORTERS)


def _area_table(conn: Connection, area: dict[str, Any]) -> float:
    conn.execute(text("DROP TABLE IF EXISTS ev_area"))
    if "boundary_id" in area:
        conn.execute(
            text(
                "CREATE TEMP TABLE ev_area ON COMMIT DROP AS "
                "SELECT ST_Multi(geom) AS geom FROM boundaries WHERE id = :id"
            ),
            {"id": area["boundary_id"]},
        )
    else:
        conn.execute(
            text(
                "CREATE TEMP TABLE ev_area ON COMMIT DROP AS SELECT "
                "ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326)) AS geom"
            ),
            {"g": json.dumps(area["geometry"])},
        )
    km2 = conn.execute(text("SELECT ST_Area(geom::geography) / 1e6 FROM ev_area")).scalar()
    if km2 is None:
        raise LookupError("the export's area no longer exists")
    return float(km2)


def _counts_table(
    conn: Connection, res: int, services: list[str], since: dt.date, until: dt.date,
    held: public.Withheld | None = None,
) -> None:
    """``ev_counts``: reports and incidents per (run-resolution cell, service, month).

    ``held`` groups are left out, as the public twin leaves them out (resolution ≤ 8).
    """
    if res <= AGGREGATE_RESOLUTION:
        source = (
            f"SELECT {parent_sql('d.cell', res)} AS cell, d.service_code, d.day, d.reports, "
            "d.incidents FROM report_cell_days d "
            "WHERE d.service_code = ANY(:codes) AND d.day >= :since AND d.day < :until AND "
            + public.withheld_sql("d.service_code", "d.cell", placeholders=(":ws", ":wc"))
        )
    else:
        # One row per reporter, cell and day (an incident) holding its report count:
        # two hash aggregations instead of a sort for count(DISTINCT) over 10⁶ rows.
        # The reporter is the device hash, else the report itself (bytes, not hex).
        source = (
            f"SELECT {parent_sql('r.h3_cell', res)} AS cell, r.service_code, "
            "(r.requested_at AT TIME ZONE 'UTC')::date AS day, count(*) AS reports, "
            "1 AS incidents FROM reports r "
            "WHERE r.h3_cell IS NOT NULL AND r.status <> 'duplicate' "
            "AND r.service_code = ANY(:codes) AND r.requested_at >= :since_ts "
            "AND r.requested_at < :until_ts "
            "GROUP BY 1, 2, 3, coalesce(r.device_hash, int8send(r.id))"
        )
    conn.execute(text("DROP TABLE IF EXISTS ev_counts"))
    # Grouping up to 10⁶ rows sorts in memory instead of spilling (this transaction only).
    conn.execute(text("SET LOCAL work_mem = '64MB'"))
    conn.execute(
        text(
            "CREATE TEMP TABLE ev_counts ON COMMIT DROP AS "
            "SELECT s.cell, s.service_code, date_trunc('month', s.day)::date AS month, "
            "sum(s.reports)::bigint AS reports, sum(s.incidents)::bigint AS incidents "
            f"FROM ({source}) s GROUP BY 1, 2, 3"
        ),
        {"codes": services, "since": since, "until": until,
         "since_ts": _utc(since), "until_ts": _utc(until), **public.bind(held)},
    )


def _cells_table(conn: Connection, run_id: int, cells_table: str) -> None:
    """``ev_cells``: each relevant cell, whether its centre is in the area, its district."""
    cells = conn.execute(
        text(
            "SELECT DISTINCT cell FROM ev_counts UNION "
            f"SELECT c.h3 FROM {cells_table} c, ev_area a "
            "WHERE c.run_id = :run AND c.geom && a.geom"
        ),
        {"run": run_id},
    ).scalars().all()
    conn.execute(text("DROP TABLE IF EXISTS ev_points"))
    conn.execute(text("CREATE TEMP TABLE ev_points (cell bigint, lng float8, lat float8) "
                      "ON COMMIT DROP"))
    raw = conn.connection.driver_connection  # psycopg 3: COPY beats 10⁴ INSERT parameters
    assert raw is not None
    with raw.cursor() as cur, cur.copy("COPY ev_points (cell, lng, lat) FROM STDIN") as copy:
        for cell in cells:
            lat, lng = h3.cell_to_latlng(h3.int_to_str(int(cell)))
            copy.write_row((int(cell), lng, lat))
    conn.execute(text("DROP TABLE IF EXISTS ev_cells"))
    conn.execute(
        text(
            "CREATE TEMP TABLE ev_cells ON COMMIT DROP AS "
            "SELECT p.cell, ST_Intersects(a.geom, pt) AS in_area, "
            "(SELECT b.id FROM boundaries b WHERE b.kind = 'district' "
            " AND ST_Intersects(b.geom, pt) ORDER BY b.id LIMIT 1) AS district_id "
            "FROM ev_points p CROSS JOIN ev_area a "
            "CROSS JOIN LATERAL ST_SetSRID(ST_MakePoint(p.lng, p.lat), 4326) AS pt"
        )
    )
    conn.execute(text("CREATE UNIQUE INDEX ON ev_cells (cell)"))
    conn.execute(text("ANALYZE ev_cells"))
    conn.execute(text("ANALYZE ev_counts"))


_CELLS_SQL = """
SELECT c.h3, c.reports, c.weight, c.reporters, c.gi_z, c.gi_p, c.gi_bin, c.n_neighbors,
       c.no_data, c.trend, c.area_id, c.priority_score, c.priority_rank, c.components,
       b.name AS district
FROM {cells} c
JOIN ev_cells e ON e.cell = c.h3 AND e.in_area
LEFT JOIN boundaries b ON b.id = e.district_id
WHERE c.run_id = :run
ORDER BY c.h3
"""


def _districts(conn: Connection) -> list[dict[str, Any]]:
    """Districts overlapping the area: reports there and the population living inside the area."""
    rows = conn.execute(
        text(
            "WITH d AS ("
            " SELECT b.id, b.name, b.code, b.population,"
            "  ST_Area(ST_Intersection(b.geom, a.geom)::geography)"
            "   / NULLIF(ST_Area(b.geom::geography), 0) AS share"
            " FROM boundaries b, ev_area a WHERE b.kind = 'district'"
            " AND ST_Intersects(b.geom, a.geom) AND NOT ST_Touches(b.geom, a.geom)),"
            " r AS (SELECT e.district_id, sum(k.reports)::bigint AS reports,"
            "  sum(k.incidents)::bigint AS incidents FROM ev_counts k"
            "  JOIN ev_cells e ON e.cell = k.cell AND e.in_area GROUP BY 1)"
            " SELECT d.id, d.name, d.code, d.population, d.share,"
            "  coalesce(r.reports, 0) AS reports, coalesce(r.incidents, 0) AS incidents"
            " FROM d LEFT JOIN r ON r.district_id = d.id"
            " UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, r.reports, r.incidents"
            " FROM r WHERE r.district_id IS NULL"
            " ORDER BY 2 NULLS LAST, 1"
        )
    )
    out = []
    for r in rows:
        people = None if r.population is None else round(r.population * min(1.0, r.share or 0))
        out.append(
            {
                "district": r.name if r.id is not None else "(outside every district)",
                "code": r.code or "",
                "population": r.population,
                "population_in_area": people,
                "reports": int(r.reports),
                "incidents": int(r.incidents),
                "per_1000": round(1000 * r.reports / people, 2) if people else None,
            }
        )
    return out


def _areas(
    conn: Connection, run_id: int, privacy_applies: bool, cells_table: str, areas_table: str
) -> list[dict[str, Any]]:
    """Priority areas with a cell in the export area, in rank order, with period counts."""
    rows = conn.execute(
        text(
            f"WITH ids AS (SELECT DISTINCT c.area_id FROM {cells_table} c"
            " JOIN ev_cells e ON e.cell = c.h3 AND e.in_area"
            " WHERE c.run_id = :run AND c.area_id IS NOT NULL)"
            " SELECT a.area_id, a.priority_rank, a.priority_score, a.cells, a.population,"
            "  a.trend, a.components, ST_AsGeoJSON(a.geom, 7) AS geojson,"
            "  (SELECT string_agg(b.name, ', ' ORDER BY b.name) FROM boundaries b"
            "   WHERE b.kind = 'district' AND ST_Intersects(b.geom, a.geom)"
            "   AND NOT ST_Touches(b.geom, a.geom)) AS districts,"
            f"  (SELECT sum(c.reporters) FROM {cells_table} c"
            "   WHERE c.run_id = a.run_id AND c.area_id = a.area_id) AS reporters"
            f" FROM {areas_table} a JOIN ids USING (area_id)"
            " WHERE a.run_id = :run ORDER BY a.priority_rank, a.area_id"
        ),
        {"run": run_id},
    ).all()
    per_service: dict[int, dict[str, tuple[int, int]]] = {}
    for r in conn.execute(
        text(
            "SELECT c.area_id, k.service_code, sum(k.reports)::bigint AS reports,"
            " sum(k.incidents)::bigint AS incidents FROM ev_counts k"
            f" JOIN {cells_table} c ON c.run_id = :run AND c.h3 = k.cell"
            " WHERE c.area_id IS NOT NULL GROUP BY 1, 2"
        ),
        {"run": run_id},
    ):
        per_service.setdefault(r.area_id, {})[r.service_code] = (int(r.reports), int(r.incidents))
    out = []
    for r in rows:
        counts = per_service.get(r.area_id, {})
        out.append(
            {
                "area_id": r.area_id,
                "rank": r.priority_rank,
                "score": r.priority_score,
                "cells": r.cells,
                "population": r.population,
                "trend": r.trend,
                "components": r.components or {},
                "districts": r.districts or "",
                "reports": sum(v[0] for v in counts.values()),
                "incidents": {s: v[1] for s, v in sorted(counts.items())},
                "suppressed": _suppressed(privacy_applies, r.reporters),
                "geometry": json.loads(r.geojson),
            }
        )
    return out


def _run_summary(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """How the run's cells in the area split between hot, cold, not significant and no data."""
    bins = {b: 0 for b in range(-3, 4)}
    for c in cells:
        bins[int(c["gi_bin"])] += 1
    total = sum(c["reports"] for c in cells)
    hot95 = [c for c in cells if c["gi_bin"] >= 2]
    return {
        "cells": len(cells),
        "bins": bins,
        "hot_cells": sum(n for b, n in bins.items() if b > 0),
        "hot95_cells": len(hot95),
        "cold_cells": sum(n for b, n in bins.items() if b < 0),
        "no_data_cells": sum(1 for c in cells if c["no_data"]),
        "run_reports": int(total),
        "hot95_reports": int(sum(c["reports"] for c in hot95)),
    }


def _map_layers(conn: Connection) -> dict[str, Any]:
    """Simplified outlines for the map: the area and the districts overlapping it."""
    # A tolerance of 1/2000 of the area's extent is below a printed line's width.
    tol = conn.execute(
        text(
            "SELECT greatest(ST_XMax(geom) - ST_XMin(geom), ST_YMax(geom) - ST_YMin(geom)) / 2000 "
            "FROM ev_area"
        )
    ).scalar_one()
    area = conn.execute(
        text("SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :t), 6) FROM ev_area"),
        {"t": tol},
    ).scalar_one()
    districts = conn.execute(
        text(
            "SELECT b.name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(b.geom, :t), 6) "
            "FROM boundaries b, ev_area a WHERE b.kind = 'district' "
            "AND ST_Intersects(b.geom, a.geom) AND NOT ST_Touches(b.geom, a.geom) ORDER BY b.id"
        ),
        {"t": tol},
    ).all()
    return {
        "area": json.loads(area),
        "districts": [(name, json.loads(g)) for name, g in districts],
    }
