"""Port Ellis, the fictional Gulf Coast demo city: its shape, districts and landmarks.

Everything is laid out in a local planar frame, kilometres east and north of the
city centre, and only converted to longitude/latitude at the end. Over a city
15 km across an equirectangular projection around the centre is off by well
under a metre, so distances drawn here in km are distances on the ground.
The geometry is fixed (it is the same city for every seed); only the reports vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

CITY_NAME = "Port Ellis"
CENTER_LAT = 30.365
CENTER_LON = -88.21
#: UTM zone 16N covers 90°W–84°W: the projected CRS PostGIS uses to cut districts.
UTM_EPSG = 32616
_KM_PER_DEG_LAT = 110.574
_KM_PER_DEG_LON = 111.320 * math.cos(math.radians(CENTER_LAT))


def to_lonlat(x_km: NDArray[np.float64], y_km: NDArray[np.float64]) -> tuple[
    NDArray[np.float64], NDArray[np.float64]
]:
    """Longitudes and latitudes of points given in km east/north of the centre.

    >>> lon, lat = to_lonlat(np.array([0.0]), np.array([11.0574]))
    >>> round(float(lat[0]), 3), float(lon[0]) == CENTER_LON
    (30.465, True)
    """
    return CENTER_LON + x_km / _KM_PER_DEG_LON, CENTER_LAT + y_km / _KM_PER_DEG_LAT


def coast_y(x_km: NDArray[np.float64] | float) -> NDArray[np.float64] | float:
    """Northing (km) of the shoreline at ``x_km``: a wavy coast with a harbour inlet."""
    x = np.asarray(x_km, dtype=float)
    y = -5.0 + 0.5 * np.sin(x / 1.7) + 0.25 * np.sin(x / 0.7 + 1.0)
    y = y + 1.3 * np.exp(-(((x + 1.2) / 0.8) ** 2))  # the harbour reaches inland here
    return y if y.ndim else float(y)


def city_outline() -> shapely.Polygon:
    """The city limits in the km frame: an irregular loop cut off by the coast."""
    theta = np.linspace(0.0, 2 * math.pi, 96, endpoint=False)
    radius = 7.4 * (
        1 + 0.10 * np.sin(2 * theta + 1.3) + 0.06 * np.sin(5 * theta + 0.4)
        + 0.03 * np.sin(9 * theta + 2.1)
    )
    x = radius * np.cos(theta)
    y = np.maximum(radius * np.sin(theta), coast_y(x))
    return shapely.Polygon(np.column_stack([x, y])).buffer(0)


@dataclass(frozen=True)
class District:
    """A district's seed point (km frame), name and residents per km²."""

    code: str
    name: str
    x: float
    y: float
    density: float


#: Seeds of the district Voronoi cells, with plausible densities: an old dense
#: harbour core, newer suburbs to the north, marsh and industry on the coast.
DISTRICTS: tuple[District, ...] = (
    District("D01", "Old Harbor", -1.0, -2.9, 5600),
    District("D02", "Shipyard", -4.2, -3.6, 900),
    District("D03", "Lighthouse Point", 3.0, -3.7, 1800),
    District("D04", "Saltmeadow", 5.6, -2.4, 1100),
    District("D05", "Market Square", 0.5, -1.4, 6500),
    District("D06", "Canal District", -2.7, -1.5, 4300),
    District("D07", "Bayview", 2.5, -1.6, 3500),
    District("D08", "Westgate", -5.8, -1.0, 2400),
    District("D09", "Millbrook", -3.7, 0.8, 4800),
    District("D10", "Riverside", -1.1, 1.0, 4000),
    District("D11", "Fort Hill", 1.6, 0.9, 3800),
    District("D12", "Eastbank", 4.6, 0.4, 2000),
    District("D13", "Cedar Flats", -5.7, 2.5, 1800),
    District("D14", "Ellis Heights", -2.3, 3.2, 3200),
    District("D15", "North End", 0.6, 3.3, 3000),
    District("D16", "Oakridge", 3.4, 3.0, 2600),
    District("D17", "Pine Hollow", 5.8, 2.2, 1400),
    District("D18", "Greenway", -3.4, 5.4, 1600),
    District("D19", "Summit Park", -0.5, 6.0, 2200),
    District("D20", "Northgate", 2.4, 5.6, 2000),
)


@dataclass(frozen=True)
class Landmarks:
    """Where the demo's report patterns live (km frame); tests read them from here."""

    old_housing: tuple[float, float] = (-1.0, -2.9)      # lead paint, all year
    old_housing_2: tuple[float, float] = (-3.7, 0.8)     # lead paint, smaller
    rail_yard: tuple[float, float] = (-4.4, -3.3)        # illegal dumping, all year
    emerging_site: tuple[float, float] = (4.5, 0.5)      # dumping, last three months only
    underpass: tuple[float, float] = (-2.6, -1.9)        # floods every storm
    marsh_road: tuple[float, float] = (5.3, -2.8)        # floods every storm
    #: Harbor Boulevard, the main road north from the port: potholes along it.
    main_road: tuple[tuple[float, float], ...] = (
        (-1.1, -3.5), (0.4, -1.5), (1.0, 2.0), (0.6, 6.6),
    )
    #: Westgate Avenue: a failing streetlight circuit.
    light_corridor: tuple[tuple[float, float], ...] = ((-6.6, -1.6), (-4.4, -0.3))
    #: Mill Creek, the low valley that collects storm water.
    creek: tuple[tuple[float, float], ...] = ((-1.3, -2.4), (-1.2, 1.2), (-2.6, 3.6), (-3.4, 5.8))
    emerging_days: int = 90


LANDMARKS = Landmarks()


def district_index(x_km: NDArray[np.float64], y_km: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index into :data:`DISTRICTS` of the nearest seed: the Voronoi cell of each point."""
    seeds = np.array([(d.x, d.y) for d in DISTRICTS])
    d2 = (x_km[:, None] - seeds[None, :, 0]) ** 2 + (y_km[:, None] - seeds[None, :, 1]) ** 2
    return np.argmin(d2, axis=1)


def distance_to_path(
    x_km: NDArray[np.float64], y_km: NDArray[np.float64], path: tuple[tuple[float, float], ...]
) -> NDArray[np.float64]:
    """Planar distance (km) from each point to a polyline."""
    best = np.full(x_km.shape, np.inf)
    for (ax, ay), (bx, by) in zip(path, path[1:], strict=False):
        dx, dy = bx - ax, by - ay
        t = np.clip(((x_km - ax) * dx + (y_km - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        best = np.minimum(best, np.hypot(x_km - (ax + t * dx), y_km - (ay + t * dy)))
    return best


def elevation_m(x_km: NDArray[np.float64], y_km: NDArray[np.float64]) -> NDArray[np.float64]:
    """A made-up terrain: rising 4 m per km from the shore, with the creek valley cut in."""
    rise = np.maximum(y_km - coast_y(x_km), 0.0) * 4.0
    valley = 3.0 * np.exp(-((distance_to_path(x_km, y_km, LANDMARKS.creek) / 0.35) ** 2))
    return np.maximum(rise - valley, 0.0)
