"""The demo's two drain-clearing programmes on the Old Harbor shore: one worked, one did not.

Flooding comes with every storm along the low Old Harbor shore. Public Works cleared
the storm drains in two stretches of it in the same fortnight. In the first
(:data:`PROGRAMMES` ``[0]``) the drains had been the problem: after the start only
:attr:`DemoProgramme.kept` of the flooding reports that would have come from its
footprint are filed (:func:`geo.demo.reports.generate` draws the others on low ground
elsewhere, so the report count is unchanged). In the second the water has nowhere
to drain to and nothing changes. Both lie in Old Harbor, so both show in the
showcase evidence pack (:mod:`geo.demo.showcase`).

Both start on the day by which half of the year's storm weight has passed
(:func:`start_day`, within bounds that leave at least four months on each side), so
their before and after windows both hold storms whatever the seed and end date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geo.demo.city import to_lonlat
from geo.evaluation.cells import add_months

#: The programmes' first possible start and latest start (days into the demo year).
EARLIEST_START = 125
LATEST_START = 228
DURATION_DAYS = 14


@dataclass(frozen=True)
class DemoProgramme:
    """One demo intervention: a circle in the km frame and what it did to flooding reports."""

    name: str
    centre: tuple[float, float]
    radius_km: float
    kept: float
    cost: float
    notes: str

    def contains(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which points (km frame) lie in the footprint."""
        return np.hypot(x - self.centre[0], y - self.centre[1]) < self.radius_km


PROGRAMME = "Harbor storm drains"
PROGRAMMES: tuple[DemoProgramme, ...] = (
    DemoProgramme(
        name="Drain clearing, Harbor West", centre=(-1.0, -4.0), radius_km=0.5, kept=0.25,
        cost=180_000,
        notes="Jetting and desilting of every catch basin; two collapsed outfalls rebuilt."),
    DemoProgramme(
        name="Drain clearing, Harbor East", centre=(0.4, -4.3), radius_km=0.5, kept=1.0,
        cost=95_000,
        notes="Catch basins cleared; the outfalls sit below high tide, so water still backs up."),
)


def start_day(storm_days: NDArray[np.float64], storm_power: NDArray[np.float64]) -> int:
    """The day (offset in the demo year) both programmes start: half the storm weight before.

    >>> start_day(np.array([10.0, 150.0, 200.0, 300.0]), np.ones(4))
    150
    >>> start_day(np.array([300.0, 310.0]), np.ones(2))
    228
    """
    order = np.argsort(storm_days)
    cum = np.cumsum(storm_power[order]) / storm_power.sum()
    half = float(storm_days[order][int(np.searchsorted(cum, 0.5))])
    return int(np.clip(np.ceil(half), EARLIEST_START, LATEST_START))


def requests(year_start: dt.date, start: int) -> list[dict[str, Any]]:
    """The programmes as ``geo.evaluation.interventions.create`` input.

    Their before window is every whole month of the demo year before the start
    (the demo holds one year of reports, not the default twelve months before).

    >>> r = requests(dt.date(2025, 12, 8), 200)[0]
    >>> r["start_date"], r["end_date"], r["pre_months"], r["radius_m"]
    ('2026-06-26', '2026-07-09', 6, 500.0)
    """
    day = year_start + dt.timedelta(days=start)
    pre = 0
    while add_months(day, -(pre + 1)) >= year_start:
        pre += 1
    out = []
    for p in PROGRAMMES:
        lon, lat = to_lonlat(np.array([p.centre[0]]), np.array([p.centre[1]]))
        out.append({
            "name": p.name, "programme": PROGRAMME, "services": ["flooding"],
            "geometry": {"type": "Point", "coordinates": [round(float(lon[0]), 6),
                                                          round(float(lat[0]), 6)]},
            "radius_m": p.radius_km * 1000, "start_date": day.isoformat(),
            "end_date": (day + dt.timedelta(days=DURATION_DAYS - 1)).isoformat(),
            "cost": p.cost, "funding_source": "Stormwater utility fee", "notes": p.notes,
            "pre_months": pre,
        })
    return out
