"""Synthetic cities for evaluation tests: a hexagon of H3 cells with monthly reports.

Each city sits at its own centre with its own service code, so cities built in
one database never see each other's reports. Every cell has a base rate drawn
from a gamma distribution; each month's count is negative-binomial (gamma-Poisson,
over-dispersed like real reports) around it. Cells within ``treated_rings`` of the
centre are the intervention's footprint; after ``START`` their rate is multiplied
by ``effect``. Reports are placed at their cell's centre and filed at a random
time in their month.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import h3
import numpy as np
from sqlalchemy import Engine, text

from geo.h3cells import cell_of
from geo.services import load_services

RES = 9
FIRST = dt.date(2023, 1, 1)
MONTHS = 36
START, END = dt.date(2025, 1, 1), dt.date(2025, 1, 31)
AS_OF = dt.date(2026, 1, 1)


@dataclass
class City:
    """What a test needs to know about its city."""

    service: str
    centre: tuple[float, float]
    treated: list[int]
    footprint: dict
    city_id: int


def month_start(k: int) -> dt.date:
    y, m = divmod(FIRST.month - 1 + k, 12)
    return dt.date(FIRST.year + y, m + 1, 1)


def build(engine: Engine, *, name: str, centre: tuple[float, float], effect: float = 1.0,
          seed: int = 1, rings: int = 8, treated_rings: int = 2, mean: float = 2.0,
          report_cells: str = "all", privacy: str = "public") -> City:
    """Write the city's service, boundary and reports; returns where the footprint is.

    ``report_cells="treated"`` files reports only inside the footprint (a city
    with no possible controls).
    """
    rng = np.random.default_rng(seed)
    service = f"ev_{name}"
    with engine.begin() as conn:
        load_services(conn, [{"service_code": service, "service_name": f"Evaluation {name}",
                              "privacy": privacy}])
    centre_cell = h3.latlng_to_cell(*centre, RES)
    cells = sorted(h3.grid_disk(centre_cell, rings))
    treated = {c for c in h3.grid_disk(centre_cell, treated_rings)}
    outline = h3.cells_to_h3shape(list(treated))
    footprint = json.loads(json.dumps(outline.__geo_interface__))  # tuples → lists
    city_outline = h3.cells_to_h3shape(cells).__geo_interface__
    base = rng.gamma(2.0, mean / 2.0, size=len(cells))
    shocks = np.exp(rng.normal(0, 0.05, MONTHS))  # city-wide month effects
    rows = []
    for i, c in enumerate(cells):
        if report_cells == "treated" and c not in treated:
            continue
        lat, lng = h3.cell_to_latlng(c)
        stored = cell_of(lat, lng)
        for k in range(MONTHS):
            rate = base[i] * shocks[k]
            if c in treated and month_start(k) >= START:
                rate *= effect
            n = rng.poisson(rng.gamma(2.0, rate / 2.0)) if rate > 0 else 0
            first = month_start(k)
            days = (month_start(k + 1) - first).days
            for _ in range(n):
                when = dt.datetime.combine(first, dt.time(0), tzinfo=dt.UTC) + dt.timedelta(
                    seconds=float(rng.uniform(0, days * 86400)))
                rows.append({"s": service, "lat": lat, "lng": lng, "h3": stored,
                             "t": when.isoformat()})
    with engine.begin() as conn:
        city_id = conn.execute(
            text("INSERT INTO boundaries (kind, name, geom) VALUES ('city', :n, "
                 "ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326))) RETURNING id"),
            {"n": f"Evaluation city {name}", "g": json.dumps(city_outline)},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO reports (public_id, service_code, geom, h3_cell, requested_at, "
                "updated_at, source) SELECT 'EV-' || left(md5(random()::text), 24), x.s, "
                "ST_SetSRID(ST_MakePoint(x.lng, x.lat), 4326), x.h3, x.t, x.t, 'import' "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(s text, lat float8, "
                "lng float8, h3 bigint, t timestamptz)"
            ),
            {"rows": json.dumps(rows)},
        )
    return City(service=service, centre=centre,
                treated=sorted(h3.str_to_int(c) for c in treated), footprint=footprint,
                city_id=int(city_id))
