"""The evidence-pack city: four districts, about 1,060 reports with secrets, a run.

Every report carries contact details, a device id, an address and a description
that name a resident: the pack must contain none of them.

The run is published by hand (:func:`tests.cities.publish_run`) with a plain Gi*
and no FDR: the pack only reads what a run stores, so the engine is not needed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field

import h3
import numpy as np
from sqlalchemy import Engine, text

from geo.h3cells import cell_of
from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult
from geo.hotspots.runs import STANDING
from geo.reports.intake import device_hash
from tests.cities import SECRET, Boundary, City, Place, Report, build, new_tag
from tests.cities import publish_run as publish_cells

HALF_M = 2200.0  # the city is a square 4.4 km wide
SINCE, UNTIL = dt.date(2025, 1, 1), dt.date(2026, 1, 1)
SERVICES = ("flooding", "lead_paint")
POPULATIONS = {"North-West": 12000, "North-East": 8000, "South-West": 15000, "South-East": None}
_QUADS = {"North-West": (-1, 0), "North-East": (0, 0), "South-West": (-1, -1),
          "South-East": (0, -1)}


@dataclass
class PrairieCity(City):
    """Ids and secrets of the prairie city, and its report rows for expected values."""

    city_id: int = 0
    district_ids: dict[str, int] = field(default_factory=dict)
    run_id: int = 0
    secrets: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)


def build_city(engine: Engine, place: Place, seed: int = 5) -> PrairieCity:
    """Boundaries, about 1,060 reports over 2025 with seeded secrets, and a published run."""
    rng = np.random.default_rng(seed)
    tag = new_tag()
    boundaries = [Boundary("city", f"Prairie City {tag}", (-HALF_M, -HALF_M, HALF_M, HALF_M),
                           population=35000, code="EVC")]
    for name, (qx, qy) in _QUADS.items():
        boundaries.append(Boundary(
            "district", name, (qx * HALF_M, qy * HALF_M, (qx + 1) * HALF_M, (qy + 1) * HALF_M),
            population=POPULATIONS[name], code=name[:2] + name.split("-")[1][0],
        ))
    reports, rows, secrets = _reports(place, rng, tag)
    built = build(engine, place, boundaries=boundaries, reports=reports)
    city = PrairieCity(**vars(built), city_id=built.boundaries[f"Prairie City {tag}"],
                       district_ids={n: built.boundaries[n] for n in POPULATIONS},
                       secrets=secrets, rows=rows)
    city.run_id = publish_run(engine, city)
    return city


def _reports(place: Place, rng: np.random.Generator,
             tag: str) -> tuple[list[Report], list[dict], list[str]]:
    """Background flooding, two flooding clusters (NE growing, SW steady), sparse lead paint."""
    reports: list[Report] = []
    rows: list[dict] = []
    secrets: list[str] = []
    days = (UNTIL - SINCE).days

    def add(north: float, east: float, service: str, day: int, device: str,
            status: str = "open", located: bool = True) -> None:
        i = len(reports)
        name, email, phone = f"Zebedee{tag}{i}", f"zeb.{tag}.{i}@example.org", f"+1555{i:07d}"
        address, device_id = f"{i} Secret Lane {tag}", f"DEVICE-{tag}-{device}"
        hashed = device_hash(SECRET, device_id).hex()
        secrets.extend([name, email, phone, address, device_id, hashed])
        when = dt.datetime.combine(SINCE + dt.timedelta(days=day), dt.time(13, 30), tzinfo=dt.UTC)
        lat, lng = place.at(north, east) if located else (None, None)
        reports.append(Report(
            service, lat, lng, when, device=device_id, status=status,
            description=f"Please call {name} on {phone}", address=address,
            contact={"first_name": name, "last_name": f"Quux{tag}", "email": email,
                     "phone": phone},
            account_id=f"acct-{tag}-{i}",
        ))
        rows.append({"service_code": service, "status": status, "device_hash": hashed,
                     "h3_cell": cell_of(lat, lng) if lat is not None and lng is not None
                     else None})

    for k in range(500):  # background, within 1.8 km of the centre (well inside the city)
        x, y = rng.uniform(-1800, 1800, 2)
        add(y, x, "flooding", int(rng.integers(0, days)), f"bg{k}")
    for k in range(300):  # the cluster, growing through the year
        x, y = rng.normal(900, 120, 2)
        day = int(days * math.sqrt(rng.uniform(0, 1)))
        add(y, x, "flooding", day, f"cl{k % 120}")
    for k in range(160):  # a smaller, steady cluster in the south-west
        x, y = rng.normal(-1000, 100, 2)
        add(y, x, "flooding", int(rng.integers(0, days)), f"sw{k % 70}")
    for _ in range(30):  # repeats: one phone, one spot, one day
        add(900, 900, "flooding", 200, "repeater")
    for k in range(60):  # lead paint, some lone reporters (cells to suppress)
        x, y = rng.uniform(-1500, 1500, 2)
        add(y, x, "lead_paint", int(rng.integers(0, days)), f"lp{k % 45}")
    for k in range(5):  # duplicates marked by staff and reports without a point: not counted
        add(0, 0, "flooding", 50, f"dup{k}", status="duplicate")
        add(0, 0, "flooding", 60, f"nol{k}", located=False)
    return reports, rows, secrets


def publish_run(engine: Engine, city: PrairieCity, res: int = 9) -> int:
    """Publish a run over the city's cells computed from its rows (plain Gi*, k = 1)."""
    place = city.place
    ring = [place.at(y, x) for x, y in
            ((-HALF_M, -HALF_M), (HALF_M, -HALF_M), (HALF_M, HALF_M), (-HALF_M, HALF_M))]
    study = sorted(h3.str_to_int(c) for c in h3.polygon_to_cells(h3.LatLngPoly(ring), res))
    index = {c: i for i, c in enumerate(study)}
    n = len(study)
    reports = np.zeros(n, dtype=np.int64)
    devices: dict[int, set] = defaultdict(set)
    for r in city.rows:
        if r["h3_cell"] is None or r["status"] == "duplicate":
            continue
        cell = h3.str_to_int(h3.cell_to_parent(h3.int_to_str(r["h3_cell"]), res))
        if cell in index:
            reports[index[cell]] += 1
            devices[index[cell]].add(r["device_hash"])
    reporters = np.array([len(devices[i]) for i in range(n)], dtype=np.int64)
    neigh = [[index[h3.str_to_int(c)] for c in h3.grid_disk(h3.int_to_str(cell), 1)
              if h3.str_to_int(c) in index] for cell in study]
    x = reports.astype(float)
    xbar, s = x.mean(), x.std()
    z = np.zeros(n)
    for i, nb in enumerate(neigh):
        w = len(nb)
        z[i] = (x[nb].sum() - xbar * w) / (s * math.sqrt((n * w - w * w) / (n - 1)))
    p = np.array([math.erfc(abs(v) / math.sqrt(2)) for v in z])
    bins = np.where(p < 0.01, 3, np.where(p < 0.05, 2, np.where(p < 0.1, 1, 0))) * np.sign(z)
    no_data = np.array([reports[nb].sum() == 0 for nb in neigh])
    bins[no_data] = 0
    area_id = np.full(n, -1)
    areas: list[list[int]] = []
    for i in range(n):  # contiguous hot cells (95 %+) form areas
        if bins[i] >= 2 and area_id[i] < 0:
            stack, members = [i], []
            area_id[i] = len(areas)
            while stack:
                j = stack.pop()
                members.append(j)
                for k in neigh[j]:
                    if bins[k] >= 2 and area_id[k] < 0:
                        area_id[k] = len(areas)
                        stack.append(k)
            areas.append(sorted(members))
    order = sorted(range(len(areas)), key=lambda a: (-reports[areas[a]].sum(), areas[a][0]))
    results, new_id = [], np.full(n, -1)
    for rank, a in enumerate(order, start=1):
        members = areas[a]
        new_id[members] = rank
        sig = float(np.clip(z[members], 0, 3.29).mean() / 3.29)
        results.append(AreaResult(
            area_id=rank, cells=[study[m] for m in members], reports=int(reports[members].sum()),
            weight=float(reports[members].sum() * 2.0), priority_score=round(0.9 / rank, 6),
            priority_rank=rank, population=300.0 * len(members), trend="intensifying hot spot",
            components={"significance": round(sig, 6), "reports": round(1.0 / rank, 6)},
        ))
    score = np.clip(z, 0, None) / max(1.0, z.max())
    cells = CellResult(
        h3=np.array(study, dtype=np.int64), reports=reports, weight=reports * 2.0,
        reporters=reporters, gi_z=z, gi_p=p, gi_bin=bins.astype(np.int8),
        n_neighbors=np.array([len(nb) for nb in neigh]), no_data=no_data,
        trend=["intensifying hot spot" if b >= 2 else None for b in bins], area_id=new_id,
        priority_score=score, priority_rank=np.argsort(np.argsort(-score, kind="stable")) + 1,
        components=[{"significance": round(float(v), 6)} for v in score],
    )
    params = RunParams(services=SERVICES, since=SINCE, until=UNTIL, resolution=res,
                       time_step="month")
    return publish_cells(
        engine, city, cells, results, params=params,
        counts={"cells": n, "reports": int(reports.sum()), "since": SINCE.isoformat(),
                "until": UNTIL.isoformat(), "time_bins": 12, "suppressed_few_reporters": 0,
                "priority_weights": {"significance": 0.6, "reports": 0.4}},
    )


def copy_run(engine: Engine, city: PrairieCity, params: RunParams = STANDING) -> int:
    """A run finished now with the city's run's results and ``params`` (default: standing).

    A standing copy is what "latest" resolves to; a copy keeps the original's counts.
    """
    with engine.begin() as conn:
        new_id = conn.execute(text(
            "INSERT INTO hotspot_runs (status, progress, params, params_key, rings, counts, "
            "fingerprint, trigger, started_at, finished_at) SELECT status, progress, "
            "CAST(:params AS jsonb), 'copy-' || id, rings, counts, fingerprint, "
            "'refresh', now(), clock_timestamp() FROM hotspot_runs WHERE id = :r RETURNING id"),
            {"r": city.run_id, "params": json.dumps(params.as_json())}).scalar_one()
        conn.execute(text(
            "INSERT INTO hotspot_cells SELECT :n, h3, reports, weight, reporters, gi_z, gi_p, "
            "gi_bin, n_neighbors, no_data, trend, area_id, priority_score, priority_rank, "
            "components, geom FROM hotspot_cells WHERE run_id = :r"),
            {"n": new_id, "r": city.run_id})
        conn.execute(text(
            "INSERT INTO hotspot_areas SELECT :n, area_id, cells, reports, weight, population, "
            "trend, priority_score, priority_rank, components, geom FROM hotspot_areas "
            "WHERE run_id = :r"), {"n": new_id, "r": city.run_id})
    city.runs.append(int(new_id))
    return int(new_id)
