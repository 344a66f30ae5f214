"""A small synthetic city for the map page: districts, and two finished runs over 61 hexagons."""

from __future__ import annotations

from dataclasses import dataclass

import h3
import numpy as np
from sqlalchemy import Connection, Engine, text

from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.runs import create_run
from tests.geo.hotspots.fixtures import add_reports

CENTRE = (41.05, -73.54)


@dataclass
class PlannerCity:
    """What the page tests look for: run ids, cell ids by kind, expected comparison counts."""

    run_a: int
    run_b: int
    boundary_ids: list[int]
    reports_after: int  # reports with a larger id are this city's
    hot_cell: str
    cold_cell: str
    no_data_cells: list[str]
    bins_a: dict[str, int]
    bins_b: dict[str, int]

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


def _publish(conn: Connection, run: int, cells: list[str], bins: dict[str, int],
             no_data: set[str]) -> None:
    """Publish synthetic cells and one priority area (the bin ≥ 2 cells) for ``run``."""
    result = _cell_result(cells, bins, no_data)
    hot = result.gi_bin >= 2
    area = AreaResult(
        1, [h3.str_to_int(c) for c in cells if bins[c] >= 2],
        reports=int(result.reports[hot].sum()), weight=float(result.weight[hot].sum()),
        priority_score=0.8, priority_rank=1, components={"significance": 0.6, "reports": 0.4},
    )
    publish(conn, run, result, [area], counts={"cells": len(cells)},
            fingerprint=f"planner-test-{run}", rings=1)


def publish_like_run_a(engine: Engine, run: int, city: PlannerCity) -> None:
    """Finish ``run`` (queued by the page) with run A's result, as a worker would."""
    with engine.begin() as conn:
        _publish(conn, run, sorted(city.bins_a), city.bins_a, set(city.no_data_cells))


def build_city(engine: Engine) -> PlannerCity:
    """Insert a city and two districts, runs A and B (B changed a little), and some reports."""
    centre = h3.latlng_to_cell(*CENTRE, 9)
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

    lats = [h3.cell_to_latlng(c)[0] for c in cells]
    lngs = [h3.cell_to_latlng(c)[1] for c in cells]
    west, east = min(lngs) - 0.004, max(lngs) + 0.004
    south, north = min(lats) - 0.003, max(lats) + 0.003
    middle = (west + east) / 2
    boxes = [("city", "Test City", west, east), ("district", "West Ward", west, middle),
             ("district", "East Ward", middle, east)]
    with engine.begin() as conn:
        boundary_ids = [
            conn.execute(
                text("INSERT INTO boundaries (kind, name, code, population, geom) VALUES "
                     "(:kind, :name, :code, 1000, ST_Multi(ST_MakeEnvelope(:w, :s, :e, :n, 4326))) "
                     "RETURNING id"),
                {"kind": kind, "name": name, "code": name[:1], "w": w, "s": south, "e": e,
                 "n": north},
            ).scalar_one()
            for kind, name, w, e in boxes
        ]
        reports_after = conn.execute(text("SELECT coalesce(max(id), 0) FROM reports")).scalar_one()
        runs = []
        for bins in (bins_a, bins_b):
            run = create_run(conn, RunParams(), trigger="api", enqueue=False)
            _publish(conn, run, cells, bins, no_data)
            runs.append(run)
    # Reports in the hot cluster, for the reports layer (tiles of real reports).
    hot_cells = [c for c in cells if bins_a[c] >= 2]
    add_reports(engine, [h3.cell_to_latlng(c) for c in hot_cells for _ in range(2)])
    return PlannerCity(
        run_a=runs[0], run_b=runs[1], boundary_ids=boundary_ids, reports_after=reports_after,
        hot_cell=hot, cold_cell=cold,
        no_data_cells=sorted(no_data), bins_a=bins_a, bins_b=bins_b,
    )


def remove_city(engine: Engine, city: PlannerCity) -> None:
    """Delete what build_city() inserted (cells and areas go with their runs)."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM hotspot_runs WHERE id = ANY(:ids)"),
                     {"ids": [city.run_a, city.run_b]})
        conn.execute(text("DELETE FROM boundaries WHERE id = ANY(:ids)"),
                     {"ids": city.boundary_ids})
        # Each test process has its own database, so every newer report is ours.
        conn.execute(text("DELETE FROM reports WHERE id > :id"), {"id": city.reports_after})
