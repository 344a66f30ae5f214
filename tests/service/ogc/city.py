"""A small synthetic city for the OGC and tile tests: boundaries, reports and two runs.

Placed around Zürich, away from the other suites' cities, and each city built in the
same database 0.2° further north: the reporter threshold counts every report in a
cell, so two cities on one spot would lift each other over it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field

import h3
import numpy as np
from sqlalchemy import Engine, text

from geo.h3cells import cell_of
from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.runs import create_run

BASE = (47.3769, 8.5417)
UTC = dt.UTC


@dataclass
class City:
    """What the tests need to know about the synthetic city."""

    centre: tuple[float, float]
    latest_run: int
    older_run: int
    queued_run: int
    cells: list[int]
    hot_cells: list[int]
    small_cells: list[int]  # cells with fewer than 3 reporters
    reports: dict[str, str] = field(default_factory=dict)  # label -> public id
    points: dict[str, tuple[float, float]] = field(default_factory=dict)  # label -> lat, lng
    boundary_ids: list[int] = field(default_factory=list)


def _cells(where: tuple[float, float], run_rings: int, seed: int) -> tuple[CellResult, list[int]]:
    centre = h3.latlng_to_cell(*where, 9)
    disk = sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, run_rings))
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


def _run(engine: Engine, where: tuple[float, float], rings: int, seed: int,
         params: dict) -> tuple[int, list[int]]:
    cells, disk = _cells(where, rings, seed)
    with engine.begin() as conn:
        run = create_run(conn, RunParams.from_dict(params))
    with engine.begin() as conn:
        area = AreaResult(1, disk[:4], reports=40, weight=40.0, priority_score=0.9,
                          priority_rank=1, components={"significance": 1.0}, trend="intensifying")
        publish(conn, run, cells, [area], counts={"cells": len(disk)}, fingerprint="t", rings=1)
    return run, disk


def _offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / 111_320.0, lng + east_m / (111_320.0 * np.cos(np.radians(lat)))


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


def _insert_reports(engine: Engine, city: City, tag: str) -> None:
    with engine.begin() as conn:
        for label, service, (north, east), device, when, status in REPORTS:
            lat, lng = _offset(*city.centre, north, east)
            public_id = f"t{tag}{label}".replace("_", "")[:32]
            rid = conn.execute(
                text(
                    "INSERT INTO reports (public_id, service_code, description, status, geom, "
                    "h3_cell, requested_at, updated_at, address_string, device_hash, source) "
                    "VALUES (:pid, :svc, :desc, :status, "
                    "ST_SetSRID(ST_MakePoint(:lng, :lat), 4326), "
                    ":cell, :when, :when, :addr, :dev, 'import') RETURNING id"
                ),
                {
                    "pid": public_id, "svc": service, "desc": f"{label} at 12 Secret Lane",
                    "status": status, "lng": lng, "lat": lat, "cell": cell_of(lat, lng),
                    "when": dt.datetime.fromisoformat(when).replace(tzinfo=UTC),
                    "addr": "12 Secret Lane",
                    "dev": hashlib.sha256(f"{tag}{device}".encode()).digest(),
                },
            ).scalar_one()
            conn.execute(
                text("INSERT INTO reporter_contacts (report_id, email, phone) "
                     "VALUES (:r, 'resident@example.org', '+41 79 000 00 00')"),
                {"r": rid},
            )
            city.reports[label] = public_id
            city.points[label] = (lat, lng)


def _square(lat: float, lng: float, half_m: float, west: float = -1, east: float = 1) -> str:
    s, w = _offset(lat, lng, -half_m, west * half_m)
    n, e = _offset(lat, lng, half_m, east * half_m)
    return f"MULTIPOLYGON((({w} {s},{e} {s},{e} {n},{w} {n},{w} {s})))"


def build(engine: Engine) -> City:
    """Create the city: an older and a latest run, a queued run, reports and boundaries."""
    tag = uuid.uuid4().hex[:6]
    with engine.connect() as conn:
        earlier = conn.execute(
            text("SELECT count(*) FROM boundaries WHERE name LIKE 'Testcity %'")).scalar_one()
    centre = (BASE[0] + 0.2 * earlier, BASE[1])
    older, _ = _run(engine, centre, 3, 1, {"since": "2023-01-01", "until": "2023-07-01"})
    latest, disk = _run(engine, centre, 8, 2, {"since": "2024-01-01", "until": "2024-07-01"})
    with engine.begin() as conn:
        queued = create_run(conn, RunParams())
    city = City(centre=centre, latest_run=latest, older_run=older, queued_run=queued, cells=disk,
                hot_cells=disk[:4], small_cells=disk[6:10])
    _insert_reports(engine, city, tag)
    with engine.begin() as conn:
        for kind, name, wkt in (
            ("city", f"Testcity {tag}", _square(*centre, 4000)),
            ("district", f"West {tag}", _square(*centre, 4000, east=0)),
            ("district", f"East {tag}", _square(*centre, 4000, west=0)),
        ):
            city.boundary_ids.append(
                conn.execute(
                    text("INSERT INTO boundaries (kind, name, code, population, geom) VALUES "
                         "(:k, :n, :c, 1000, ST_GeomFromText(:g, 4326)) RETURNING id"),
                    {"k": kind, "n": name, "c": name[:3], "g": wkt},
                ).scalar_one()
            )
    return city
