"""Reports placed where a hotspot test wants them, around the ``hotspots`` place.

These tests run the engine over every report in the database, so each starts
from :func:`tests.cities.empty`: its city is the only one there.
"""

from __future__ import annotations

import datetime as dt
import uuid

import h3
import numpy as np
from sqlalchemy import Engine

from tests.cities import PLACES, Report
from tests.cities import add_reports as insert_reports

CENTRE = PLACES["hotspots"].centre


def add_reports(
    engine: Engine,
    points: list[tuple[float, float]],
    *,
    service: str = "pothole",
    devices: list[str] | None = None,
    days_ago: list[int] | None = None,
    today: dt.date | None = None,
) -> None:
    """Insert reports at ``points`` through the real intake path, at noon UTC."""
    today = today or dt.date.today()
    insert_reports(engine, [
        Report(service, lat, lng,
               dt.datetime.combine(today - dt.timedelta(days=(days_ago[i] if days_ago else 10)),
                                   dt.time(12, 0), tzinfo=dt.UTC),
               device=devices[i] if devices else str(uuid.uuid4()))
        for i, (lat, lng) in enumerate(points)
    ])


def scatter(rng: np.random.Generator, n: int, centre=CENTRE, spread_m=3000.0):
    """``n`` points uniformly in a square of ``spread_m`` around ``centre``."""
    dlat = spread_m / 111_320
    dlng = spread_m / (111_320 * np.cos(np.radians(centre[0])))
    lat = centre[0] + rng.uniform(-dlat, dlat, n)
    lng = centre[1] + rng.uniform(-dlng, dlng, n)
    return list(zip(lat.tolist(), lng.tolist(), strict=True))


def cell_centre(cell: int) -> tuple[float, float]:
    """Centre of an integer H3 cell."""
    return h3.cell_to_latlng(h3.int_to_str(int(cell)))
