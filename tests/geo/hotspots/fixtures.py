"""Synthetic cities for hotspot tests: reports placed where a test wants them."""

from __future__ import annotations

import datetime as dt
import uuid

import h3
import numpy as np
from sqlalchemy import Engine, text

from geo.reports.intake import NewReport, insert, prepare
from geo.services import services_by_code

SECRET = "test-secret-key-0123456789"
CENTRE = (41.05, -73.54)


def clear(engine: Engine) -> None:
    """Remove every report and run, so each test starts from an empty city."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE reports, hotspot_runs, report_cell_days, aggregate_state, "
                          "outbox CASCADE"))
        conn.execute(text("DELETE FROM boundaries"))


def add_reports(
    engine: Engine,
    points: list[tuple[float, float]],
    *,
    service: str = "pothole",
    devices: list[str] | None = None,
    days_ago: list[int] | None = None,
    today: dt.date | None = None,
) -> None:
    """Insert reports at ``points`` through the real intake path."""
    today = today or dt.date.today()
    with engine.begin() as conn:
        services = services_by_code(conn)
        rows = []
        for i, (lat, lng) in enumerate(points):
            when = dt.datetime.combine(
                today - dt.timedelta(days=(days_ago[i] if days_ago else 10)),
                dt.time(12, 0), tzinfo=dt.UTC,
            )
            new = NewReport(
                service_code=service, lat=lat, long=lng,
                device_id=devices[i] if devices else str(uuid.uuid4()),
                requested_at=when, source="import",
                # Imported history counts by device (geo.privacy.reporter_hash).
                trusted=True,
            )
            rows.append(prepare(new, services, secret=SECRET))
        insert(conn, rows, secret=SECRET)


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
