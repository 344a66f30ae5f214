"""The OGC and tile city: labelled reports, two ad-hoc runs, a standing and a queued run.

Runs are synthetic (seeded random z-scores over a disk of cells): the OGC and tile
surfaces only read what a run stores. Lead-paint reports are placed to test the
privacy rule: three reporters in one resolution-8 cell, two in another, and three
reports by one device.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import h3
import numpy as np
from sqlalchemy import Engine

from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult
from tests.cities import Boundary, City, Place, Report, build, new_tag, publish_run, queue_run

REPORTS = [
    # label, service, (north m, east m), device, requested_at, status
    ("flood1", "flooding", (0, 0), "d1", "2024-02-01T10:00:00", "open"),
    ("flood2", "flooding", (150, 80), "d2", "2024-03-15T10:00:00", "closed"),
    ("flood3", "flooding", (-200, 300), "d3", "2024-05-20T10:00:00", "open"),
    ("pothole1", "pothole", (400, -250), "d4", "2024-04-01T08:00:00", "in_progress"),
    ("pothole2", "pothole", (420, -260), "d5", "2024-04-02T08:00:00", "duplicate"),
    # Three reporters in one resolution-8 cell: visible at the cell centre.
    ("lead_a1", "lead_paint", (1500, 1500), "d6", "2024-02-10T09:00:00", "open"),
    ("lead_a2", "lead_paint", (1510, 1490), "d7", "2024-02-11T09:00:00", "open"),
    ("lead_a3", "lead_paint", (1490, 1520), "d8", "2024-02-12T09:00:00", "open"),
    # Two reporters elsewhere: suppressed for the public.
    ("lead_b1", "lead_paint", (-1800, -1800), "d9", "2024-03-01T09:00:00", "open"),
    ("lead_b2", "lead_paint", (-1810, -1790), "d10", "2024-03-02T09:00:00", "open"),
    # Three reports by one device: one reporter, suppressed.
    ("lead_c1", "lead_paint", (-1500, 2500), "d11", "2024-03-05T09:00:00", "open"),
    ("lead_c2", "lead_paint", (-1505, 2505), "d11", "2024-03-06T09:00:00", "open"),
    ("lead_c3", "lead_paint", (-1495, 2495), "d11", "2024-03-07T09:00:00", "open"),
]


@dataclass
class OgcCity(City):
    """Run ids and cells of the OGC city (``reports``/``points`` hold the labelled reports)."""

    latest_run: int = 0  # the standing city-wide run: what "hotspots" serves
    period_run: int = 0  # an ad-hoc run of 2024's first half, finished just before it
    older_run: int = 0
    queued_run: int = 0
    cells: list[int] = field(default_factory=list)
    hot_cells: list[int] = field(default_factory=list)
    small_cells: list[int] = field(default_factory=list)  # cells with fewer than 3 reporters


def _cells(centre: tuple[float, float], rings: int, seed: int) -> tuple[CellResult, list[int]]:
    middle = h3.latlng_to_cell(*centre, 9)
    disk = sorted(h3.str_to_int(c) for c in h3.grid_disk(middle, rings))
    n = len(disk)
    rng = np.random.default_rng(seed)
    gi_bin = np.zeros(n, dtype=np.int8)
    gi_bin[:4] = 3
    gi_bin[4:6] = -2
    reporters = rng.integers(3, 9, n)
    reporters[6:10] = [0, 1, 2, 2]
    trend = ["intensifying" if i < 4 else None for i in range(n)]
    return CellResult(
        h3=np.array(disk, dtype=np.int64), reports=reporters + 1, weight=rng.random(n) * 10,
        reporters=reporters, gi_z=rng.normal(size=n), gi_p=rng.random(n), gi_bin=gi_bin,
        n_neighbors=np.full(n, 7), no_data=np.zeros(n, dtype=bool), trend=trend,
        area_id=np.array([1 if i < 4 else -1 for i in range(n)]),
        priority_score=rng.random(n), priority_rank=np.arange(1, n + 1),
    ), disk


def synthetic_run(engine: Engine, city: City, rings: int, seed: int,
                  params: dict) -> tuple[int, list[int]]:
    """Publish a run of seeded cells over a disk of ``rings`` around the centre."""
    cells, disk = _cells(city.centre, rings, seed)
    area = AreaResult(1, disk[:4], reports=40, weight=40.0, priority_score=0.9,
                      priority_rank=1, components={"significance": 1.0}, trend="intensifying")
    run = publish_run(engine, city, cells, [area], params=RunParams.from_dict(params),
                      fingerprint="t")
    return run, disk


def build_city(engine: Engine, place: Place) -> OgcCity:
    """Boundaries (a city, two districts), the labelled reports, then the four runs."""
    tag = new_tag()
    boundaries = [
        Boundary("city", f"Testcity {tag}", (-4000, -4000, 4000, 4000), population=1000),
        Boundary("district", f"West {tag}", (-4000, -4000, 0, 4000), population=1000),
        Boundary("district", f"East {tag}", (0, -4000, 4000, 4000), population=1000),
    ]
    reports = [
        Report(service, *place.at(north, east),
               dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC), device=f"{tag}{device}",
               status=status, label=label, description=f"{label} at 12 Secret Lane",
               address="12 Secret Lane",
               contact={"email": "resident@example.org", "phone": "+41 79 000 00 00"})
        for label, service, (north, east), device, when, status in REPORTS
    ]
    built = build(engine, place, boundaries=boundaries, reports=reports)
    city = OgcCity(**vars(built))
    city.older_run, _ = synthetic_run(engine, city, 3, 1,
                                      {"since": "2023-01-01", "until": "2023-07-01"})
    city.period_run, disk = synthetic_run(engine, city, 8, 2,
                                          {"since": "2024-01-01", "until": "2024-07-01"})
    # The standing (all services, city-wide) parameters: "latest" is its newest run.
    city.latest_run, _ = synthetic_run(engine, city, 8, 2, {})
    city.queued_run = queue_run(engine, city)
    city.cells, city.hot_cells, city.small_cells = disk, disk[:4], disk[6:10]
    return city
