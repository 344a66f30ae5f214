"""The planners' map page city: a city and two wards, runs A and B over 61 hexagons.

Run B is run A changed a little (the rim of the hot cluster cools, two quiet cells
warm), so the page's comparison has known answers. Reports stand in the hot
cluster for the reports layer.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass, field

import h3
import numpy as np
from sqlalchemy import Engine

from geo.hotspots.publish import AreaResult, CellResult, publish
from tests.cities import Boundary, City, Place, Report, build
from tests.cities import publish_run as publish_cells


@dataclass
class MapPageCity(City):
    """What the page tests look for: run ids, cell ids by kind, expected comparison counts."""

    run_a: int = 0
    run_b: int = 0
    hot_cell: str = ""
    cold_cell: str = ""
    no_data_cells: list[str] = field(default_factory=list)
    bins_a: dict[str, int] = field(default_factory=dict)
    bins_b: dict[str, int] = field(default_factory=dict)

    def hotter(self) -> int:
        """Cells whose gi_bin went up from run A to run B."""
        return sum(self.bins_b[c] > self.bins_a[c] for c in self.bins_a)

    def cooler(self) -> int:
        """Cells whose gi_bin went down from run A to run B."""
        return sum(self.bins_b[c] < self.bins_a[c] for c in self.bins_a)


def _bins(cells: list[str], centre: str, hot: str, cold: str) -> tuple[dict[str, int], set[str]]:
    """gi_bin per cell: hot around ``hot``, cold around ``cold``, some no-data at the rim."""
    bins: dict[str, int] = {}
    no_data: set[str] = set()
    for i, cell in enumerate(cells):
        d_hot, d_cold = h3.grid_distance(cell, hot), h3.grid_distance(cell, cold)
        if d_hot <= 2:
            bins[cell] = 3 - d_hot
        elif d_cold <= 2:
            bins[cell] = -(3 - d_cold)
        else:
            bins[cell] = 0
            if h3.grid_distance(cell, centre) == 4 and i % 2 == 0:
                no_data.add(cell)
    return bins, no_data


def _cell_result(cells: list[str], bins: dict[str, int], no_data: set[str]) -> CellResult:
    """Arrays for publish(): counts and z-scores that agree with the bins."""
    b = np.array([bins[c] for c in cells], dtype=np.int8)
    reports = np.where(b > 0, 5 + 3 * b, np.where(b < 0, 0, 1)).astype(np.int64)
    nd = np.array([c in no_data for c in cells])
    reports[nd] = 0
    in_area = b >= 2
    area_id = np.where(in_area, 1, -1).astype(np.int64)
    return CellResult(
        h3=np.array([h3.str_to_int(c) for c in cells], dtype=np.int64),
        reports=reports,
        weight=reports.astype(float),
        reporters=reports,
        gi_z=b * 1.3 + 0.05,
        gi_p=np.where(b != 0, 0.001 * (4 - np.abs(b)), 0.5),
        gi_bin=b,
        n_neighbors=np.full(len(cells), 7),
        no_data=nd,
        trend=["intensifying" if x > 0 else None for x in b],
        area_id=area_id,
        priority_score=np.where(in_area, 0.5 + 0.1 * b, 0.0),
        priority_rank=np.where(in_area, 1, 0).astype(np.int64),
        components=[{"significance": 0.6, "reports": 0.4} if a else None for a in in_area],
    )


def _result(cells: list[str], bins: dict[str, int],
            no_data: set[str]) -> tuple[CellResult, list[AreaResult]]:
    """Synthetic cells and one priority area (the bin ≥ 2 cells)."""
    result = _cell_result(cells, bins, no_data)
    hot = result.gi_bin >= 2
    area = AreaResult(
        1, [h3.str_to_int(c) for c in cells if bins[c] >= 2],
        reports=int(result.reports[hot].sum()), weight=float(result.weight[hot].sum()),
        priority_score=0.8, priority_rank=1, components={"significance": 0.6, "reports": 0.4},
    )
    return result, [area]


def publish_like_run_a(engine: Engine, run: int, city: MapPageCity) -> None:
    """Finish ``run`` (queued by the page) with run A's result, as a worker would."""
    cells, areas = _result(sorted(city.bins_a), city.bins_a, set(city.no_data_cells))
    with engine.begin() as conn:
        publish(conn, run, cells, areas, counts={"cells": len(cells.h3)},
                fingerprint=f"planner-test-{run}", rings=1)


def _metres(place: Place, lat: float, lng: float) -> tuple[float, float]:
    """``(east, north)`` in metres of a point from the place's centre."""
    return ((lng - place.lng) * 111_320 * math.cos(math.radians(place.lat)),
            (lat - place.lat) * 111_320)


def build_city(engine: Engine, place: Place) -> MapPageCity:
    """A city and two wards, runs A and B (B changed a little), and reports in the hot cells."""
    centre = h3.latlng_to_cell(*place.centre, 9)
    cells = sorted(h3.grid_disk(centre, 4))
    ring2 = sorted(h3.grid_ring(centre, 2))
    hot = ring2[0]
    cold = max(ring2, key=lambda c: h3.grid_distance(c, hot))
    bins_a, no_data = _bins(cells, centre, hot, cold)
    # Run B: the rim of the hot cluster cools to not significant; two quiet cells turn hot.
    bins_b = dict(bins_a)
    quiet = [c for c in cells if bins_a[c] == 0 and c not in no_data]
    for cell in quiet[:2]:
        bins_b[cell] = 1
    for cell in [c for c in cells if bins_a[c] == 1][:3]:
        bins_b[cell] = 0

    # Boxes around the cells' centres with ~330 m to spare on each side.
    corners = [_metres(place, *h3.cell_to_latlng(c)) for c in cells]
    west, east = min(x for x, _ in corners) - 330, max(x for x, _ in corners) + 330
    south, north = min(y for _, y in corners) - 330, max(y for _, y in corners) + 330
    middle = (west + east) / 2
    boundaries = [
        Boundary("city", "Test City", (west, south, east, north), population=1000, code="T"),
        Boundary("district", "West Ward", (west, south, middle, north), population=1000,
                 code="W"),
        Boundary("district", "East Ward", (middle, south, east, north), population=1000,
                 code="E"),
    ]
    # Reports in the hot cluster, for the reports layer (tiles of real reports).
    when = dt.datetime.combine(dt.date.today() - dt.timedelta(days=10), dt.time(12, 0),
                               tzinfo=dt.UTC)
    reports = [Report("pothole", *h3.cell_to_latlng(c), when, device=str(uuid.uuid4()))
               for c in cells if bins_a[c] >= 2 for _ in range(2)]
    built = build(engine, place, boundaries=boundaries, reports=reports)
    city = MapPageCity(**vars(built), hot_cell=hot, cold_cell=cold,
                       no_data_cells=sorted(no_data), bins_a=bins_a, bins_b=bins_b)
    city.run_a, city.run_b = (
        publish_cells(engine, city, *_result(cells, bins, no_data)) for bins in (bins_a, bins_b)
    )
    return city
