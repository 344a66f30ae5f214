"""``data/README.txt``: what each file and every column means, written from the pack itself."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from geo.evidence.effects import COLUMNS as EFFECT_COLUMNS
from geo.evidence.query import Evidence

CELL_COLUMNS = {
    "h3": "H3 cell id (hexadecimal string) at the run's resolution; the cell is the location",
    "district": "district holding the cell's centre (empty if none)",
    "reports": "reports in the cell analysed by the hotspot run (its services and period)",
    "weight": "weighted problems analysed: severity x recency decay, repeats merged",
    "reporters": "distinct reporters: people behind the reports and their confirmations",
    "gi_z": "Getis-Ord Gi* z-score",
    "gi_p": "two-sided p-value of gi_z",
    "gi_bin": "-3..3: cold/hot spot at 99/95/90 % after FDR correction; 0 not significant",
    "n_neighbors": "cells in the neighbourhood, the cell itself included",
    "no_data": "true when no report lies in the cell's neighbourhood (not 'cold')",
    "trend": "emerging hot spot category over the run's period (empty when too few time steps)",
    "area_id": "priority area the cell belongs to (contiguous hot cells), empty if none",
    "priority_score": "cell priority score, 0-1",
    "priority_rank": "cell rank by priority score (1 = highest)",
    "suppressed": "true when counts are withheld for privacy (0-2 reporters, non-public service)",
}
AREA_COLUMNS = {
    "priority_rank": "rank of the area by priority score (1 = highest)",
    "area_id": "area id within the hotspot run",
    "districts": "districts the area overlaps",
    "cells": "number of H3 cells in the area",
    "reports": "reports in the area for this pack's services and period",
    "population": "estimated residents: district populations spread by area (empty = unknown)",
    "trend": "most common emerging hot spot category of the area's cells",
    "priority_score": "area priority score, 0-1",
    "estimated_cost": "problems x unit cost per service, in dollars (empty = not costed)",
    "funded": "true when the budget's greedy choice (priority per dollar) includes the area",
    "suppressed": "true when counts are withheld for privacy",
}
MONTH_COLUMNS = {
    "service_code": "service (report category) code",
    "service_name": "service name",
    "month": "calendar month, YYYY-MM (UTC)",
    "days_in_period": "days of the month inside the period (fewer at its edges)",
    "reports": "reports in the area that month",
    "problems": "reports after merging repeats (one per reporter per cell per day)",
}
DISTRICT_COLUMNS = {
    "district": "district name ('(outside every district)' for reports in no district)",
    "code": "district code",
    "population": "district population as loaded with the boundary (empty = unknown)",
    "population_in_area": "population x share of the district's area inside this pack's area",
    "reports": "reports in the district within the area",
    "problems": "reports after merging repeats",
    "reports_per_1000": "reports per 1,000 residents living in the area (empty = unknown)",
}


def _columns(title: str, columns: dict[str, str]) -> list[str]:
    width = max(len(k) for k in columns)
    return [title] + [f"  {k.ljust(width)}  {v}" for k, v in columns.items()] + [""]


def _component_columns(components: Sequence[str]) -> dict[str, str]:
    return {f"component_{c}": f"priority component '{c}', normalised 0-1" for c in components}


def cell_columns(components: Sequence[str]) -> dict[str, str]:
    """hotspot_cells columns in file order, with their descriptions."""
    cols = {k: v for k, v in CELL_COLUMNS.items() if k != "suppressed"}
    cols.update(_component_columns(components))
    cols["suppressed"] = CELL_COLUMNS["suppressed"]
    return cols


def area_columns(services: Sequence[dict[str, Any]], components: Sequence[str]) -> dict[str, str]:
    """priority_areas columns in file order, with their descriptions."""
    rest = dict(AREA_COLUMNS)
    cols = {k: rest.pop(k) for k in ("priority_rank", "area_id", "districts", "cells", "reports")}
    cols.update({f"problems_{s['code']}": f"{s['name']}: problems (repeats merged) in the period"
                 for s in services})
    cols.update({k: rest.pop(k) for k in ("population", "trend", "priority_score")})
    cols.update(_component_columns(components))
    cols.update(rest)
    return cols


def readme_text(ev: Evidence, components: Sequence[str], files: Sequence[str]) -> str:
    """The README for this pack (deterministic: no generation time)."""
    last = ev.until - dt.timedelta(days=1)
    ordered = area_columns(ev.services, components)
    cell_cols = cell_columns(components)
    params = dict(ev.params)
    if "geometry" in params.get("area", {}):
        params["area"] = {"name": params["area"]["name"], "geometry": "GeoJSON, see the export"}
    lines = [
        "CivicPulse evidence pack - data files",
        "",
        f"Area: {ev.area_name}",
        f"Period: {ev.since.isoformat()} to {last.isoformat()} inclusive (UTC days)",
        f"Services: {', '.join(s['code'] for s in ev.services)}",
        f"Hotspot run: {ev.run['id']} (H3 resolution {ev.resolution}), data fingerprint "
        f"{ev.run.get('fingerprint') or 'not recorded'}",
        f"Parameters: {json.dumps(params, sort_keys=True)}",
        "",
        "Files:",
        *[f"  {f}" for f in files],
        "",
        "Coordinates are WGS84 longitude/latitude (EPSG:4326). Empty CSV values (null in",
        "GeoJSON/GeoPackage) mean unknown or withheld. The GeoPackage holds the layers",
        "hotspot_cells and, when there are any, priority_areas.",
        "",
        "Privacy: no file holds a report's point, text, contact or device. A report is",
        "placed only by its H3 cell. Runs covering a non-public service are shown as the",
        "public sees them: at H3 resolution 8 at most, without the reports of cells where",
        "that service has fewer than 3 distinct reporters. Runs without that public",
        "analysis withhold the counts of every cell with fewer than 3 (empty ones too).",
        "",
        "Counting rule: a report belongs to the area and to a district when the centre of",
        "its H3 cell lies inside it. Reports marked duplicate by staff are excluded.",
        "",
        *_columns("hotspot_cells.csv / .geojson / .gpkg (one row per cell of the run in the "
                  "area):", cell_cols),
        *_columns("priority_areas.csv / .geojson (one row per area, by rank):", ordered),
        *_columns("monthly_counts.csv (one row per service and month):", MONTH_COLUMNS),
        *_columns("districts.csv (districts overlapping the area):", DISTRICT_COLUMNS),
        *_columns("intervention_effects.csv (interventions in the area for these services, "
                  "by start; 'Did it work?'):", EFFECT_COLUMNS),
        "Caveat: reports show where residents report. Reporting rates differ between",
        "neighbourhoods, so a cold or no-data cell is not evidence that there is no problem.",
        "",
    ]
    return "\n".join(lines)

