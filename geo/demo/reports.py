"""A year of believable reports for Port Ellis, drawn with numpy from a seed.

The structure a planner should find: lead paint clustered in the old harbour
housing all year, potholes along Harbor Boulevard (worse after storms), dumping
at the rail yard, a failing streetlight circuit in Westgate, flooding bursts on
storm days in the low-lying streets (peaking in hurricane season), a dumping
cluster at the Eastbank building site that only starts three months ago,
background noise in proportion to population, and phones that send the same
report several times the same day. Same seed and end date → same rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.demo import interventions as programmes
from geo.demo.city import (
    DISTRICTS,
    LANDMARKS,
    city_outline,
    district_index,
    elevation_m,
    to_lonlat,
)

Array = NDArray[np.float64]
DAYS = 365
#: Shares of the report count before repeats are added (normalised below).
SHARES = {
    "background": 0.45, "lead_old": 0.07, "lead_second": 0.03, "road": 0.09, "yard": 0.04,
    "lights": 0.03, "emerging": 0.05, "storm_flood": 0.10, "storm_drain": 0.04,
}
REPEAT_SHARE = 0.05
ADDRESS_ONLY_SHARE = 0.002
BACKGROUND_MIX = {
    "pothole": 0.24, "streetlight_out": 0.20, "illegal_dumping": 0.20, "blocked_drain": 0.22,
    "lead_paint": 0.14, "flooding": 0.0,
}
DESCRIPTIONS = {
    "flooding": ["Water across both lanes", "Street flooded again after the rain",
                 "Cars stalling in the water", "Water up to the curb and rising", ""],
    "lead_paint": ["Paint peeling off the window frames",
                   "Chipping paint on the porch, kids play here",
                   "Old paint flaking inside the stairwell", ""],
    "blocked_drain": ["Drain covered in leaves", "Catch basin full of trash",
                      "Grate clogged with mud, water pooling", ""],
    "pothole": ["Deep pothole in the right lane", "Pothole keeps coming back",
                "Big hole near the bus stop", "Blew a tyre on this one", ""],
    "illegal_dumping": ["Mattress and sofa left on the sidewalk", "Pile of tyres behind the lot",
                        "Construction debris dumped overnight", "Bags of trash by the fence", ""],
    "streetlight_out": ["Light has been out for a week", "Flickering all night",
                        "Whole block is dark", ""],
}
STREETS = ["Bay St", "Cedar St", "Dauphin St", "Elm St", "Front St", "Garrow St", "Hollis St",
           "Iberville St", "Jackson St", "Kirby St", "Laurel St", "Magnolia St", "Noble St",
           "Orange St", "Pelican St", "Quay St", "Royal St", "Sable St", "Tupelo St", "Union St",
           "Vine St", "Water St", "Yazoo St", "Zinnia St"]


@dataclass
class DemoReports:
    """Generated rows (importer order) and how many each pattern contributed."""

    rows: list[tuple[str, Sequence[str]]]
    counts: dict[str, int] = field(default_factory=dict)
    #: The drain-clearing programmes' start, days into the year (geo.demo.interventions).
    programme_start: int = programmes.LATEST_START


class _Sampler:
    """Point and time sampling inside the city for one seed."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.city = city_outline()
        shapely.prepare(self.city)
        self.bounds = self.city.bounds
        self.density = np.array([d.density for d in DISTRICTS])

    def inside(self, x: Array, y: Array) -> NDArray[np.bool_]:
        return shapely.contains_xy(self.city, x, y)

    def _rejection(self, k: int, accept: object) -> tuple[Array, Array]:
        xs: list[Array] = []
        ys: list[Array] = []
        need = k
        minx, miny, maxx, maxy = self.bounds
        while need > 0:
            x = self.rng.uniform(minx, maxx, need * 3 + 16)
            y = self.rng.uniform(miny, maxy, need * 3 + 16)
            keep = self.inside(x, y) & (self.rng.random(x.size) < accept(x, y))  # type: ignore[operator]
            xs.append(x[keep][:need])
            ys.append(y[keep][:need])
            need -= int(min(keep.sum(), need))
        return np.concatenate(xs), np.concatenate(ys)

    def populated(self, k: int) -> tuple[Array, Array]:
        """Points with density in proportion to residents."""
        top = self.density.max()
        return self._rejection(k, lambda x, y: self.density[district_index(x, y)] / top)

    def low_lying(self, k: int) -> tuple[Array, Array]:
        """Points favouring ground within a few metres of sea level or the creek bed."""
        return self._rejection(k, lambda x, y: np.exp(-elevation_m(x, y) / 2.0))

    def around(self, centre: tuple[float, float], sigma_km: float, k: int) -> tuple[Array, Array]:
        """A Gaussian cluster; points that fall outside the city are drawn again."""
        x = self.rng.normal(centre[0], sigma_km, k)
        y = self.rng.normal(centre[1], sigma_km, k)
        for _ in range(50):
            out = ~self.inside(x, y)
            if not out.any():
                break
            x[out] = self.rng.normal(centre[0], sigma_km, out.sum())
            y[out] = self.rng.normal(centre[1], sigma_km, out.sum())
        return x, y

    def along(
        self, path: tuple[tuple[float, float], ...], sigma_km: float, k: int
    ) -> tuple[Array, Array]:
        """Points along a polyline (uniform by length), scattered across it by ``sigma_km``."""
        a = np.array(path[:-1])
        b = np.array(path[1:])
        lengths = np.hypot(*(b - a).T)
        seg = self.rng.choice(len(a), size=k, p=lengths / lengths.sum())
        t = self.rng.random(k)
        x = a[seg, 0] + t * (b[seg, 0] - a[seg, 0]) + self.rng.normal(0, sigma_km, k)
        y = a[seg, 1] + t * (b[seg, 1] - a[seg, 1]) + self.rng.normal(0, sigma_km, k)
        return x, y

    def hours(self, k: int) -> Array:
        """Time of day as a fraction of a day: people report in the morning and evening."""
        peak = self.rng.choice([8.5, 13.0, 18.5], size=k, p=[0.4, 0.2, 0.4])
        return np.mod(self.rng.normal(peak, 2.5), 24.0) / 24.0

    def days(self, k: int, weights: Array | None = None) -> Array:
        """Day offsets within the year, uniform or by per-day ``weights``."""
        if weights is None:
            return self.rng.integers(0, DAYS, k).astype(float)
        return self.rng.choice(DAYS, size=k, p=weights / weights.sum()).astype(float)


def _storms(s: _Sampler, start: dt.datetime) -> tuple[Array, Array]:
    """Storm days (offsets) and intensities: 18 storms, most in hurricane season."""
    doy = np.array([(start + dt.timedelta(days=d)).timetuple().tm_yday for d in range(DAYS)])
    season = 0.4 + 2.5 * np.exp(-(((doy - 250) / 40.0) ** 2)) + 0.8 * np.exp(
        -(((doy - 120) / 25.0) ** 2)
    )
    days = np.sort(s.rng.choice(DAYS, size=18, replace=False, p=season / season.sum()))
    return days.astype(float), s.rng.lognormal(0.0, 0.6, days.size)


def _attributes(service: str, u: Array, intensity: float) -> str:
    """Answers to the service's questions, drawn from four uniforms ``u``."""
    if service == "flooding":
        depth = round(5 + 45 * intensity * u[0])
        passable = "no" if depth > 30 else "slow" if depth > 15 else "yes"
        affected = "buildings" if depth > 40 else "yards" if u[1] < 0.3 else "no"
        return json.dumps({"depth_cm": depth, "passable": passable, "property_affected": affected})
    if service == "lead_paint":
        built = "yes" if u[0] < 0.8 else "unknown" if u[0] < 0.95 else "no"
        # One uniform spread over five surfaces, each with its own frequency.
        surfaces = [key for j, (key, p) in enumerate(
            (("windows", 0.7), ("porch", 0.4), ("doors", 0.3), ("walls", 0.25), ("exterior", 0.35))
        ) if (u[1] * (j + 1) * 7.31) % 1.0 < p]
        home: dict[str, object] = {"built_before_1978": built, "surfaces": surfaces or ["windows"]}
        if u[3] < 0.6:
            home["children_under_6"] = "yes" if u[3] < 0.25 else "no"
            home["tenure"] = "rent" if u[2] < 0.7 else "own"
        return json.dumps(home)
    if service == "blocked_drain":
        debris = ["leaves"] if u[0] < 0.5 else ["trash"] if u[0] < 0.8 else ["silt", "trash"]
        return json.dumps({"debris": debris, "water_standing": "yes" if u[1] < 0.4 else "no"})
    if service == "pothole":
        size = "small" if u[0] < 0.45 else "medium" if u[0] < 0.85 else "large"
        lane = ["travel", "bike", "crosswalk", "shoulder"][int(u[1] * 3.999)]
        return json.dumps({"size": size, "lane": lane})
    if service == "illegal_dumping":
        kinds = ["furniture", "tyres", "construction", "household", "hazardous"]
        waste = [kinds[int(u[0] * 4.999)]] + ([kinds[int(u[1] * 3.999)]] if u[2] < 0.3 else [])
        volume = "bags" if u[3] < 0.5 else "pickup" if u[3] < 0.85 else "truck"
        return json.dumps({"waste_type": sorted(set(waste)), "volume": volume})
    state = "out" if u[0] < 0.7 else "flickering" if u[0] < 0.9 else "day_burning"
    light = {"state": state}
    if u[1] < 0.3:
        light["pole_number"] = f"PE-{int(u[2] * 90000) + 10000}"
    return json.dumps(light)


def generate(n: int, seed: int, end: dt.datetime) -> DemoReports:
    """``n`` reports over the 365 days before ``end`` (UTC), deterministic for ``seed``.

    >>> out = generate(2000, seed=7, end=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    >>> len(out.rows), out.rows[0][1][0]
    (2000, 'PE-0000001')
    """
    if n < 100:
        raise ValueError("the demo city needs at least 100 reports")
    rng = np.random.default_rng(seed)
    s = _Sampler(rng)
    start = end - dt.timedelta(days=DAYS)
    n_repeat = round(n * REPEAT_SHARE)
    total = sum(SHARES.values())
    sizes = {k: round((n - n_repeat) * v / total) for k, v in SHARES.items()}
    sizes["background"] += n - n_repeat - sum(sizes.values())
    storm_days, storm_power = _storms(s, start)

    parts: list[tuple[str, Array, Array, Array, Array, list[str]]] = []

    def add(name: str, services: list[str], xy: tuple[Array, Array], t: Array,
            power: Array | None = None) -> None:
        k = t.size
        parts.append((name, xy[0], xy[1], t, np.ones(k) if power is None else power, services))

    k = sizes["background"]
    mix = list(BACKGROUND_MIX)
    picks = rng.choice(len(mix), size=k, p=list(BACKGROUND_MIX.values()))
    add("background", [mix[i] for i in picks], s.populated(k), s.days(k) + s.hours(k))
    for name, centre, sigma in (("lead_old", LANDMARKS.old_housing, 0.45),
                                ("lead_second", LANDMARKS.old_housing_2, 0.30)):
        k = sizes[name]
        add(name, ["lead_paint"] * k, s.around(centre, sigma, k), s.days(k) + s.hours(k))
    # Potholes open up in the fortnight after heavy rain.
    after_rain = np.ones(DAYS)
    for day, power in zip(storm_days, storm_power, strict=True):
        lag = np.arange(DAYS) - day
        after_rain += np.where(lag >= 0, 3.0 * power * np.exp(-lag / 10.0), 0.0)
    k = sizes["road"]
    add("road", ["pothole"] * k, s.along(LANDMARKS.main_road, 0.012, k),
        s.days(k, after_rain) + s.hours(k))
    k = sizes["yard"]
    add("yard", ["illegal_dumping"] * k, s.around(LANDMARKS.rail_yard, 0.3, k),
        s.days(k) + s.hours(k))
    k = sizes["lights"]
    add("lights", ["streetlight_out"] * k, s.along(LANDMARKS.light_corridor, 0.04, k),
        s.days(k) + s.hours(k))
    # The building site: nothing until three months ago, then more every week.
    k = sizes["emerging"]
    onset = DAYS - LANDMARKS.emerging_days
    t = onset + LANDMARKS.emerging_days * np.sqrt(rng.random(k))
    add("emerging", ["illegal_dumping"] * k, s.around(LANDMARKS.emerging_site, 0.3, k),
        np.minimum(t, DAYS - 1e-4))
    for name, service in (("storm_flood", "flooding"), ("storm_drain", "blocked_drain")):
        k = sizes[name]
        storm = rng.choice(storm_days.size, size=k, p=storm_power / storm_power.sum())
        onset_h = rng.uniform(0, 18, storm_days.size)
        t = storm_days[storm] + (onset_h[storm] + rng.exponential(6.0, k)) / 24.0
        # Nearly half of each burst comes from two sags that flood in every storm.
        x, y = s.low_lying(k)
        which = rng.random(k)
        for sag, mask in ((LANDMARKS.underpass, which < 0.25),
                          (LANDMARKS.marsh_road, (which >= 0.25) & (which < 0.45))):
            x[mask], y[mask] = s.around(sag, 0.15, int(mask.sum()))
        add(name, [service] * k, (x, y), np.minimum(t, DAYS - 1e-4), storm_power[storm])

    names = np.concatenate([np.full(p[1].size, i) for i, p in enumerate(parts)])
    x = np.concatenate([p[1] for p in parts])
    y = np.concatenate([p[2] for p in parts])
    t = np.concatenate([p[3] for p in parts])
    power = np.concatenate([p[4] for p in parts])
    services = [svc for p in parts for svc in p[5]]
    begin = programmes.start_day(storm_days, storm_power)
    _drains_cleared(s, x, y, t, np.array(services) == "flooding", begin)
    out = _finish(rng, s, start, names, [p[0] for p in parts], x, y, t, power, services, n_repeat)
    out.programme_start = begin
    return out


def _drains_cleared(s: _Sampler, x: Array, y: Array, t: Array, flooding: NDArray[np.bool_],
                    begin: int) -> None:
    """Plant each programme's effect in place: after ``begin``, keep its ``kept`` share.

    The flooding reports it prevented are drawn again on low ground at least a
    kilometre from every programme, so the city's report count stays ``n``.
    """
    for p in programmes.PROGRAMMES:
        gone = flooding & (t >= begin) & p.contains(x, y) & (s.rng.random(t.size) >= p.kept)
        k = int(gone.sum())
        nx, ny = np.empty(0), np.empty(0)
        while nx.size < k:
            cx, cy = s.low_lying(2 * k + 8)
            far = np.all([np.hypot(cx - q.centre[0], cy - q.centre[1]) > q.radius_km + 1.0
                          for q in programmes.PROGRAMMES], axis=0)
            nx, ny = np.concatenate([nx, cx[far]]), np.concatenate([ny, cy[far]])
        x[gone], y[gone] = nx[:k], ny[:k]


def _finish(rng: np.random.Generator, s: _Sampler, start: dt.datetime, part: NDArray[np.int64],
            part_names: list[str], x: Array, y: Array, t: Array, power: Array,
            service: list[str], n_repeat: int) -> DemoReports:
    """Add devices, repeats, statuses, addresses and answers; render importer rows."""
    base = t.size
    n_devices = max(40, base // 5)
    weight = 1.0 / (np.arange(n_devices) + 3.0) ** 0.9
    device = rng.choice(n_devices, size=base, p=weight / weight.sum())
    device[rng.random(base) < 0.07] = -1  # phoned in or sent from the web: no device id
    # Repeats: the same phone, the same spot (a few metres), the same day.
    with_device = np.flatnonzero(device >= 0)
    parent = rng.choice(with_device, size=n_repeat)
    special = min(8, n_repeat // 4)  # one resident who reports one pothole again and again
    parent[:special] = parent[0]
    delay = rng.uniform(5, 180, n_repeat) / 1440.0
    later = t[parent] + delay
    rt = np.where(np.floor(later) == np.floor(t[parent]), later, t[parent] - delay)
    rt[:special] = np.floor(t[parent[0]]) + np.sort(rng.uniform(0.3, 0.95, special))
    jitter = rng.normal(0, 0.003, (2, n_repeat))
    x = np.concatenate([x, x[parent] + jitter[0]])
    y = np.concatenate([y, y[parent] + jitter[1]])
    t = np.concatenate([t, np.clip(rt, 0, DAYS - 1e-4)])
    power = np.concatenate([power, power[parent]])
    part = np.concatenate([part, part[parent]])
    device = np.concatenate([device, device[parent]])
    service = service + [service[i] for i in parent]
    is_repeat = np.arange(t.size) >= base
    total = t.size

    age = DAYS - t
    p_closed = np.where(age > 60, 0.92, np.where(age > 30, 0.7, np.where(age > 7, 0.4, 0.12)))
    closed = rng.random(total) < p_closed
    pending = rng.choice(np.array(["open", "acknowledged", "in_progress"]), size=total,
                         p=[0.5, 0.25, 0.25])
    status = np.where(closed, "closed", pending)
    status[is_repeat & closed & (rng.random(total) < 0.6)] = "duplicate"
    worked = np.where(status == "open", 0.0, rng.exponential(np.where(closed, 6.0, 1.5)))
    updated = t + np.minimum(worked, age)
    address_only = (~is_repeat) & (rng.random(total) < ADDRESS_ONLY_SHARE)
    address_only[np.flatnonzero(~is_repeat)[:1]] = True  # always at least one
    has_address = address_only | (rng.random(total) < 0.65)

    order = np.argsort(t, kind="stable")  # ids grow with time, as in a real export
    lon, lat = to_lonlat(x, y)
    epoch = np.datetime64(start.replace(tzinfo=None), "s")
    req = np.datetime_as_string(epoch + np.round(t * 86400).astype("timedelta64[s]"), unit="s")
    upd = np.datetime_as_string(epoch + np.round(updated * 86400).astype("timedelta64[s]"),
                                unit="s")
    u = rng.random((total, 5))
    street = ((x + 8.5) / 0.7).astype(int) % len(STREETS)
    house = (np.maximum(y + 6.0, 0.0) * 100).astype(int) * 2 + (x > 0)
    rows: list[tuple[str, Sequence[str]]] = []
    counts: dict[str, int] = {name: 0 for name in part_names}
    counts.update(repeats=int(is_repeat.sum()), address_only=int(address_only.sum()))
    for number, i in enumerate(order.tolist(), start=1):
        svc = service[i]
        counts[part_names[part[i]]] += not is_repeat[i]
        texts = DESCRIPTIONS[svc]
        address = f"{house[i]} {STREETS[street[i]]}" if has_address[i] else ""
        where = address_only[i]
        rows.append((f"demo row {number}", (
            f"PE-{number:07d}", svc,
            "" if where else f"{lat[i]:.6f}", "" if where else f"{lon[i]:.6f}",
            texts[int(u[i, 4] * len(texts))], str(status[i]),
            f"{req[i]}+00:00", f"{upd[i]}+00:00", address,
            f"demo-phone-{device[i]:05d}" if device[i] >= 0 else "",
            "Resolved by Port Ellis Public Works" if status[i] == "closed" else "",
            "", "", _attributes(svc, u[i], float(min(power[i], 2.0))),
        )))
    return DemoReports(rows=rows, counts=counts)
