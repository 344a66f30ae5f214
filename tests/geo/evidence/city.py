"""A small synthetic city for evidence-pack tests: districts, reports with secrets, a run.

The city sits on the prairie (44° N, 103° W), far from other tests' data, so the
tests sharing a database never see each other's reports in their area. Every
report carries contact details, a device id, an address and a description that
name a resident: the pack must contain none of them.

The run is published by hand (``geo.hotspots.publish.publish``) with a plain Gi*
and no FDR: the pack only reads what a run stores, so the engine is not needed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import h3
import numpy as np
from sqlalchemy import Engine, text

from geo.h3cells import cell_of
from geo.hotspots import aggregate
from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.runs import create_run
from geo.reports.intake import device_hash

SECRET = "test-secret-key-0123456789"
CENTRE = (44.0, -103.0)
HALF_M = 2200.0  # the city is a square 4.4 km wide
SINCE, UNTIL = dt.date(2025, 1, 1), dt.date(2026, 1, 1)
SERVICES = ("flooding", "lead_paint")
POPULATIONS = {"North-West": 12000, "North-East": 8000, "South-West": 15000, "South-East": None}


@dataclass
class City:
    """Ids and secrets of the synthetic city."""

    city_id: int
    district_ids: dict[str, int]
    run_id: int
    secrets: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)


def _dlat(m: float) -> float:
    return m / 111_320


def _dlng(m: float) -> float:
    return m / (111_320 * math.cos(math.radians(CENTRE[0])))


def _square(x0: float, y0: float, x1: float, y1: float) -> str:
    """EWKT multipolygon of a rectangle given in metres from the centre."""
    lat, lng = CENTRE
    pts = [(lng + _dlng(x), lat + _dlat(y)) for x, y in
           ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]
    return "SRID=4326;MULTIPOLYGON(((" + ",".join(f"{x} {y}" for x, y in pts) + ")))"


def polygon_geojson(x0: float, y0: float, x1: float, y1: float) -> dict:
    """A GeoJSON Polygon of a rectangle in metres from the centre."""
    lat, lng = CENTRE
    ring = [[lng + _dlng(x), lat + _dlat(y)] for x, y in
            ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]
    return {"type": "Polygon", "coordinates": [ring]}


def build(engine: Engine, seed: int = 5) -> City:
    """Boundaries, about 1,060 reports over 2025 with seeded secrets, and a published run."""
    rng = np.random.default_rng(seed)
    tag = uuid.uuid4().hex[:6]
    with engine.begin() as conn:
        city_id = conn.execute(
            text("INSERT INTO boundaries (kind, name, code, population, geom) VALUES "
                 "('city', :n, 'EVC', 35000, ST_GeomFromEWKT(:g)) RETURNING id"),
            {"n": f"Prairie City {tag}", "g": _square(-HALF_M, -HALF_M, HALF_M, HALF_M)},
        ).scalar_one()
        districts = {}
        quads = {"North-West": (-1, 0), "North-East": (0, 0), "South-West": (-1, -1),
                 "South-East": (0, -1)}
        for name, (qx, qy) in quads.items():
            districts[name] = conn.execute(
                text("INSERT INTO boundaries (kind, name, code, population, geom) VALUES "
                     "('district', :n, :c, :p, ST_GeomFromEWKT(:g)) RETURNING id"),
                {"n": name, "c": name[:2] + name.split("-")[1][0], "p": POPULATIONS[name],
                 "g": _square(qx * HALF_M, qy * HALF_M, (qx + 1) * HALF_M, (qy + 1) * HALF_M)},
            ).scalar_one()
    rows, secrets = _reports(rng, tag)
    with engine.begin() as conn:
        conn.execute(text(_INSERT), {"rows": json.dumps(rows)})
        aggregate.refresh(conn)
    run_id = publish_run(engine, rows)
    return City(city_id, districts, run_id, secrets, rows)


def _reports(rng: np.random.Generator, tag: str) -> tuple[list[dict], list[str]]:
    """Background flooding, two flooding clusters (NE growing, SW steady), sparse lead paint."""
    rows, secrets = [], []
    days = (UNTIL - SINCE).days

    def add(lat: float, lng: float, service: str, day: int, device: str, status: str = "open",
            located: bool = True) -> None:
        i = len(rows)
        name, email, phone = f"Zebedee{tag}{i}", f"zeb.{tag}.{i}@example.org", f"+1555{i:07d}"
        address, device_id = f"{i} Secret Lane {tag}", f"DEVICE-{tag}-{device}"
        secrets.extend([name, email, phone, address, device_id,
                        device_hash(SECRET, device_id).hex()])
        when = dt.datetime.combine(SINCE + dt.timedelta(days=day), dt.time(13, 30), tzinfo=dt.UTC)
        rows.append({
            "public_id": f"EV{tag}{i:05d}", "service_code": service, "status": status,
            "description": f"Please call {name} on {phone}", "address_string": address,
            "lat": lat if located else None, "lng": lng if located else None,
            "h3_cell": cell_of(lat, lng) if located else None, "requested_at": when.isoformat(),
            "device_hash": device_hash(SECRET, device_id).hex(), "account_id": f"acct-{tag}-{i}",
            "first_name": name, "last_name": f"Quux{tag}", "email": email, "phone": phone,
        })

    lat0, lng0 = CENTRE
    for k in range(500):  # background, within 1.8 km of the centre (well inside the city)
        x, y = rng.uniform(-1800, 1800, 2)
        add(lat0 + _dlat(y), lng0 + _dlng(x), "flooding", int(rng.integers(0, days)), f"bg{k}")
    for k in range(300):  # the cluster, growing through the year
        x, y = rng.normal(900, 120, 2)
        day = int(days * math.sqrt(rng.uniform(0, 1)))
        add(lat0 + _dlat(y), lng0 + _dlng(x), "flooding", day, f"cl{k % 120}")
    for k in range(160):  # a smaller, steady cluster in the south-west
        x, y = rng.normal(-1000, 100, 2)
        add(lat0 + _dlat(y), lng0 + _dlng(x), "flooding", int(rng.integers(0, days)), f"sw{k % 70}")
    for _ in range(30):  # repeats: one phone, one spot, one day
        add(lat0 + _dlat(900), lng0 + _dlng(900), "flooding", 200, "repeater")
    for k in range(60):  # lead paint, some lone reporters (cells to suppress)
        x, y = rng.uniform(-1500, 1500, 2)
        add(lat0 + _dlat(y), lng0 + _dlng(x), "lead_paint", int(rng.integers(0, days)),
            f"lp{k % 45}")
    for k in range(5):  # duplicates marked by staff and reports without a point: not counted
        add(lat0, lng0, "flooding", 50, f"dup{k}", status="duplicate")
        add(lat0, lng0, "flooding", 60, f"nol{k}", located=False)
    return rows, secrets


_INSERT = """
WITH input AS (
  SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
    public_id text, service_code text, status text, description text, address_string text,
    lat float8, lng float8, h3_cell bigint, requested_at timestamptz, device_hash text,
    account_id text, first_name text, last_name text, email text, phone text)
), ins AS (
  INSERT INTO reports (public_id, service_code, status, description, address_string, geom,
                       h3_cell, requested_at, updated_at, source, device_hash, account_id)
  SELECT public_id, service_code, status, description, address_string,
         CASE WHEN lat IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lng, lat), 4326) END,
         h3_cell, requested_at, requested_at, 'import', decode(device_hash, 'hex'), account_id
  FROM input RETURNING id, public_id
)
INSERT INTO reporter_contacts (report_id, first_name, last_name, email, phone)
SELECT ins.id, i.first_name, i.last_name, i.email, i.phone FROM ins JOIN input i USING (public_id)
"""


def publish_run(engine: Engine, rows: list[dict], res: int = 9) -> int:
    """Publish a run over the city's cells computed from ``rows`` (plain Gi*, k = 1)."""
    lat, lng = CENTRE
    ring = [(lat + _dlat(y), lng + _dlng(x)) for x, y in
            ((-HALF_M, -HALF_M), (HALF_M, -HALF_M), (HALF_M, HALF_M), (-HALF_M, HALF_M))]
    study = sorted(h3.str_to_int(c) for c in h3.polygon_to_cells(h3.LatLngPoly(ring), res))
    index = {c: i for i, c in enumerate(study)}
    n = len(study)
    reports = np.zeros(n, dtype=np.int64)
    devices: dict[int, set] = defaultdict(set)
    for r in rows:
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
    with engine.begin() as conn:
        run_id = create_run(conn, params, trigger="api")
        # Published by hand: the engine's job must not pick it up.
        conn.execute(text("DELETE FROM outbox WHERE job_id = :j"), {"j": f"hotspot-run:{run_id}"})
        publish(conn, run_id, cells, results, rings=1, fingerprint=f"synthetic-{run_id}",
                counts={"cells": n, "reports": int(reports.sum()), "since": SINCE.isoformat(),
                        "until": UNTIL.isoformat(), "time_bins": 12,
                        "suppressed_few_reporters": 0,
                        "priority_weights": {"significance": 0.6, "reports": 0.4}})
    return run_id
