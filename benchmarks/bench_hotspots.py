"""Benchmark of a whole hotspot run on 1,000,000 reports against the notebook way.

Creates its own database ``civicpulse_bench_<random>`` on the server (dropped at
the end, also on failure), loads 6 services, a city about 15 km across with
eight populated districts and a year of synthetic reports by COPY (background,
planted clusters, an emerging cluster, repeat devices, address-only reports),
builds the standing aggregate (timed on its own), then times, as medians of
``--repeat`` runs after a warm-up:

(a)  a whole run at resolution 9, K = 1: ``create_run`` + ``execute`` (aggregate
     refresh with nothing new, read, Gi*, FDR, honesty rules, emerging hot spots,
     priority, publish), plus the run's own ``timings``;
(a') the same right after 500 new reports, whose groups the refresh re-reads;
(b)  the floor, right after (a): the usual notebook way in this process
     (fetch the points, ``h3.latlng_to_cell`` loop, ``grid_disk`` neighbours,
     libpysal ``W``, esda ``G_Local``); and, like for like, esda on the run's own
     cells, weights and neighbours, whose z must equal the stored ``gi_z`` to 1e-9;
(c)  emerging hot spots: the weekly cube read plus ``emerging_hotspots``;
(d)  the peak resident memory of one job run by a fresh ``python -c`` worker.

Wall time never gates CI. Run from the repository root::

    .venv/bin/python -m benchmarks.bench_hotspots [--reports 1000000] [--repeat 5]

The server comes from ``BENCH_DATABASE_URL`` (see ``benchmarks.support``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import h3
import numpy as np
import psycopg
from sqlalchemy import Engine, text

from benchmarks.support import bench_database, libpq, median, table, verdict
from geo.db import make_engine
from geo.hotspots import aggregate
from geo.hotspots.engine import execute
from geo.hotspots.params import RunParams
from geo.hotspots.read import period, time_cube
from geo.hotspots.runs import create_run
from geo.services import load_services
from geo.stats import emerging_hotspots, latlng_to_cells, neighbourhoods

#: A river city about 15 km across (the centre only places it on the globe).
CENTRE = (29.95, -90.07)
RADIUS_M = 7_500.0
SERVICES: list[dict[str, Any]] = [
    {"service_code": "pothole", "service_name": "Pothole", "severity": 1.0, "privacy": "public"},
    {"service_code": "streetlight", "service_name": "Streetlight out", "severity": 1.0,
     "privacy": "public"},
    {"service_code": "graffiti", "service_name": "Graffiti", "severity": 0.5, "privacy": "public"},
    {"service_code": "dumping", "service_name": "Illegal dumping", "severity": 1.5,
     "privacy": "public"},
    {"service_code": "flooding", "service_name": "Street flooding", "severity": 2.0,
     "privacy": "public"},
    {"service_code": "lead_paint", "service_name": "Lead paint hazard", "severity": 3.0,
     "privacy": "aggregated"},
]
SERVICE_MIX = np.array([0.35, 0.20, 0.15, 0.15, 0.10, 0.05])
#: Planted clusters: east and north offset (m), spread (m), share of reports, main service.
CLUSTERS = [
    (-2000, 1500, 250, 0.06, 4), (3000, 2500, 180, 0.05, 0), (500, -800, 400, 0.05, 3),
    (-4000, -2500, 150, 0.03, 5), (1500, 4500, 300, 0.03, 1), (-1000, -4500, 200, 0.03, 2),
    (4500, -1500, 120, 0.02, 4), (-5000, 1000, 350, 0.01, 0),
]
EMERGING = (2500, -3000, 200, 0.04, 4)  # flooding that started eight weeks ago
SHARES = {"repeaters": 0.05, "outside": 0.01, "unlocated": 0.005}
DEVICE_POOL = 200_000
REPEATERS = 1_000
COPY_COLUMNS = (
    "public_id, service_code, status, geom, h3_cell, requested_at, updated_at, source, "
    "device_hash, confirmations, changed_at"
)


# --------------------------------------------------------------------------- the city


def _to_latlng(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Only places synthetic points: an equirectangular offset is plenty at 15 km.
    lat = CENTRE[0] + y / 111_320.0
    lng = CENTRE[1] + x / (111_320.0 * np.cos(np.radians(CENTRE[0])))
    return lat, lng


def _disk(rng: np.random.Generator, n: int, r0: float = 0.0, r1: float = RADIUS_M) -> np.ndarray:
    r = np.sqrt(rng.uniform(r0**2, r1**2, n))
    a = rng.uniform(0, 2 * np.pi, n)
    return np.column_stack([r * np.cos(a), r * np.sin(a)])


def synthetic_reports(n: int, now: dt.datetime, seed: int = 2024) -> dict[str, np.ndarray]:
    """``n`` reports over the last year: background, clusters, an emerging cluster, repeaters.

    Returns per-report arrays: ``lat``/``lng`` (NaN for address-only reports),
    ``service`` (index into SERVICES), ``age`` (days before ``now``), ``device``
    (-1 for none) and ``status``/``confirmations``.
    """
    rng = np.random.default_rng(seed)
    # Per part: xy (m), service, age (days), device.
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def residents(m: int) -> np.ndarray:
        # A few residents report often, most once or twice; 5 % send no device id.
        device = (DEVICE_POOL * rng.uniform(0, 1, m) ** 2.5).astype(np.int64)
        return np.where(rng.uniform(0, 1, m) < 0.05, -1, device)

    def mixed(m: int, main: int = 0, share: float = 0.0) -> np.ndarray:
        # ``share`` of the reports are of the ``main`` service, the rest the city's mix.
        return np.where(rng.uniform(0, 1, m) < share, main,
                        rng.choice(len(SERVICES), m, p=SERVICE_MIX))

    for dx, dy, sigma, share, service in CLUSTERS:
        m = int(n * share)
        xy = rng.normal([dx, dy], sigma, (m, 2))
        parts.append((xy, mixed(m, service, 0.7), rng.uniform(0, 365, m), residents(m)))
    dx, dy, sigma, share, service = EMERGING
    m = int(n * share)
    age = 56 * (1 - np.sqrt(rng.uniform(0, 1, m)))  # denser towards today
    parts.append((rng.normal([dx, dy], sigma, (m, 2)), mixed(m, service, 0.9), age, residents(m)))
    # Repeaters: one phone reporting its own street again and again.
    m = int(n * SHARES["repeaters"])
    home = _disk(rng, REPEATERS)
    who = rng.integers(0, REPEATERS, m)
    xy = home[who] + rng.normal(0, 25, (m, 2))
    fav = rng.choice(len(SERVICES), REPEATERS, p=SERVICE_MIX)
    parts.append((xy, fav[who], rng.uniform(0, 365, m), DEVICE_POOL + who))
    m = int(n * SHARES["outside"])
    parts.append((_disk(rng, m, RADIUS_M, 1.25 * RADIUS_M), mixed(m),
                  rng.uniform(0, 365, m), residents(m)))
    m = n - sum(len(p[1]) for p in parts)
    m_unlocated = int(n * SHARES["unlocated"])
    # Background: a flat disk plus a denser downtown, kept inside the city.
    xy = np.where(rng.uniform(0, 1, (m, 1)) < 0.6, _disk(rng, m), rng.normal(0, 2500, (m, 2)))
    outside = np.hypot(xy[:, 0], xy[:, 1]) > RADIUS_M
    xy[outside] = _disk(rng, int(outside.sum()))
    xy[:m_unlocated] = np.nan
    parts.append((xy, mixed(m), rng.uniform(0, 365, m), residents(m)))

    xy = np.concatenate([p[0] for p in parts])
    lat, lng = _to_latlng(xy[:, 0], xy[:, 1])
    total = len(lat)
    statuses = np.array(["closed", "open", "acknowledged", "in_progress", "duplicate"])
    return {
        "lat": lat, "lng": lng,
        "service": np.concatenate([p[1] for p in parts]),
        # Nothing newer than 30 minutes: the aggregate refresh then has nothing to redo.
        "age": np.maximum(np.concatenate([p[2] for p in parts]), 1 / 48),
        "device": np.concatenate([p[3] for p in parts]),
        "status": statuses[rng.choice(5, total, p=[0.68, 0.22, 0.04, 0.05, 0.01])],
        "confirmations": np.where(rng.uniform(0, 1, total) < 0.06, rng.integers(1, 4, total), 0),
        "changed_lag": rng.uniform(0, 1, total),
    }


def _timestamps(epoch_us: np.ndarray) -> list[str]:
    return [s + "+00" for s in np.datetime_as_string(epoch_us.astype("datetime64[us]"), unit="us")]


def copy_reports(
    url: str, city: dict[str, np.ndarray], now: dt.datetime, *, prefix: str = "bench",
    fresh: bool = False,
) -> None:
    """COPY the synthetic reports into ``reports`` (h3 at res 15, geom as EWKT).

    History gets ``changed_at`` in the past; ``fresh`` reports take the server's
    now(), as reports arriving through the API do.
    """
    located = ~np.isnan(city["lat"])
    cells = np.zeros(len(located), dtype=np.int64)
    cells[located] = latlng_to_cells(city["lat"][located], city["lng"][located], 15)
    now_us = int(now.timestamp() * 1e6)
    age_us = (city["age"] * 86_400e6).astype(np.int64)
    requested = now_us - age_us
    # Status changes come within three days, and never in the last 30 minutes.
    slack_us = np.clip(age_us - 1_800_000_000, 0, 3 * 86_400_000_000)
    changed = requested + (city["changed_lag"] * slack_us).astype(np.int64)
    hashes = [
        "\\\\x" + hashlib.sha256(f"bench-device-{d}".encode()).hexdigest()
        for d in range(DEVICE_POOL + REPEATERS)
    ]
    codes = [s["service_code"] for s in SERVICES]
    columns = zip(
        city["lat"].tolist(), city["lng"].tolist(), cells.tolist(), city["service"].tolist(),
        city["status"].tolist(), _timestamps(requested), _timestamps(changed),
        city["device"].tolist(), city["confirmations"].tolist(), strict=True,
    )
    lines = []
    for i, (lat, lng, cell, svc, status, req, chg, dev, conf) in enumerate(columns):
        geom, h3_cell = (
            (f"SRID=4326;POINT({lng!r} {lat!r})", cell) if lat == lat else ("\\N", "\\N")
        )
        device = hashes[dev] if dev >= 0 else "\\N"
        lines.append(
            f"{prefix}{i:010d}\t{codes[svc]}\t{status}\t{geom}\t{h3_cell}\t{req}\t{chg}\timport"
            f"\t{device}\t{conf}" + ("\n" if fresh else f"\t{chg}\n")
        )
    copied = COPY_COLUMNS.removesuffix(", changed_at") if fresh else COPY_COLUMNS
    with (
        psycopg.connect(libpq(url)) as conn,
        conn.cursor() as cur,
        cur.copy(f"COPY reports ({copied}) FROM STDIN") as copy,
    ):
        for start in range(0, len(lines), 50_000):
            copy.write("".join(lines[start:start + 50_000]))
    if not fresh:
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE reports")


def _polygon_wkt(points: list[tuple[float, float]]) -> str:
    lat, lng = _to_latlng(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    ring = [f"{b!r} {a!r}" for a, b in zip(lat.tolist(), lng.tolist(), strict=True)]
    return "MULTIPOLYGON(((" + ",".join(ring + ring[:1]) + ")))"


def load_city(engine: Engine) -> None:
    """Services, the city boundary and eight districts with population."""
    angles = np.linspace(0, 2 * np.pi, 65)
    rim = [(RADIUS_M * np.cos(a), RADIUS_M * np.sin(a)) for a in angles]
    rng = np.random.default_rng(8)
    with engine.begin() as conn:
        load_services(conn, SERVICES)
        conn.execute(
            text("INSERT INTO boundaries (kind, name, geom) "
                 "VALUES ('city', 'Bench City', ST_GeomFromText(:w, 4326))"),
            {"w": _polygon_wkt(rim[:-1])},
        )
        for d in range(8):
            fan = [(0.0, 0.0)] + rim[d * 8:d * 8 + 9]
            conn.execute(
                text("INSERT INTO boundaries (kind, name, population, geom) "
                     "VALUES ('district', :n, :p, ST_GeomFromText(:w, 4326))"),
                {"n": f"District {d + 1}", "p": int(rng.integers(40_000, 150_000)),
                 "w": _polygon_wkt(fan)},
            )


# --------------------------------------------------------------------------- the steps


def median_of(fn: Callable[[], Any], repeat: int) -> tuple[float, list[Any]]:
    """Median wall time of ``repeat`` calls after one warm-up, and what each call returned."""
    fn()
    times, results = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        results.append(fn())
        times.append(time.perf_counter() - start)
    return median(times), results


def whole_run(engine: Engine, params: RunParams, today: dt.date) -> int:
    """Queue and execute one run as ``hotspots run --wait`` does; returns its id."""
    with engine.begin() as conn:
        run_id = create_run(conn, params, trigger="cli", enqueue=False)
    execute(engine, run_id, today=today)
    return run_id


def notebook_way(url: str, today: dt.date, boundary: dict[str, Any]) -> dict[str, float]:
    """The usual notebook analysis: points → h3 loop → grid_disk → W → G_Local; step times."""
    from esda.getisord import G_Local
    from libpysal.weights import W

    since, until = period(RunParams(), today)
    laps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        laps[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    with psycopg.connect(libpq(url)) as conn:
        points = conn.execute(
            "SELECT ST_Y(geom), ST_X(geom) FROM reports WHERE geom IS NOT NULL "
            "AND status <> 'duplicate' AND requested_at >= %s AND requested_at < %s",
            (since, until),
        ).fetchall()
    lap("fetch points")
    counts = Counter(h3.latlng_to_cell(lat, lng, 9) for lat, lng in points)
    lap("h3 binning (latlng_to_cell loop)")
    study = sorted(h3.geo_to_cells(boundary, 9))
    inside = set(study)
    neighbours = {c: [o for o in h3.grid_disk(c, 1) if o != c and o in inside] for c in study}
    y = np.array([counts.get(c, 0) for c in study], dtype=np.float64)
    lap("study area + grid_disk neighbours")
    w = W(neighbours, id_order=study, silence_warnings=True)
    G_Local(y, w, transform="B", star=True, permutations=0)
    lap("libpysal W + esda G_Local")
    return laps


def like_for_like(engine: Engine, run_id: int, boundary: dict[str, Any]) -> tuple[float, int]:
    """esda on the run's own cells, weights and neighbours; max |z_esda − gi_z| and n.

    Also checks that the notebook's study area and grid_disk neighbours are ours.
    """
    from esda.getisord import G_Local
    from libpysal.weights import W

    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT h3, weight, gi_z FROM hotspot_cells WHERE run_id = :r ORDER BY h3"),
            {"r": run_id},
        ).all()
    cells = np.array([r.h3 for r in rows], dtype=np.int64)
    ours = {h3.int_to_str(int(c)) for c in cells}
    if ours != set(h3.geo_to_cells(boundary, 9)):
        raise AssertionError("the run's study area differs from the boundary's H3 cells")
    indptr, indices = neighbourhoods(cells, 1)
    ids = cells.tolist()
    neighbours = {
        ids[i]: [ids[j] for j in indices[indptr[i]:indptr[i + 1]] if j != i]
        for i in range(len(ids))
    }
    for c in ids[:: max(1, len(ids) // 200)]:
        disk = {h3.str_to_int(o) for o in h3.grid_disk(h3.int_to_str(c), 1)} - {c}
        if disk & set(ids) != set(neighbours[c]):
            raise AssertionError(f"neighbours of {c} differ from grid_disk")
    y = np.array([r.weight for r in rows], dtype=np.float64)
    g = G_Local(y, W(neighbours, id_order=ids, silence_warnings=True), transform="B", star=True,
                permutations=0)
    diff = float(np.max(np.abs(g.Zs - np.array([r.gi_z for r in rows]))))
    if not diff <= 1e-9:
        raise AssertionError(f"z differs from esda by {diff:g}")
    return diff, len(ids)


def emerging_step(engine: Engine, today: dt.date, run_id: int) -> Callable[[], Any]:
    """The emerging-hot-spot step of a run: weekly cube read + space-time Gi* + categories."""
    with engine.connect() as conn:
        study = np.array(
            conn.execute(text("SELECT h3 FROM hotspot_cells WHERE run_id = :r ORDER BY h3"),
                         {"r": run_id}).scalars().all(),
            dtype=np.int64,
        )
    indptr, indices = neighbourhoods(study, 1)
    params = RunParams(resolution=9, rings=1, time_step="week")

    def step() -> tuple[int, int]:
        with engine.connect() as conn:
            cube, bins = time_cube(conn, params, today, study)
        emerging_hotspots(cube, indptr, indices)
        return cube.shape

    return step


def raw_rows(url: str, today: dt.date) -> Callable[[], int]:
    """Floor for the cube: fetch every report's (cell, time) as a notebook would."""
    since, until = period(RunParams(), today)

    def fetch() -> int:
        with psycopg.connect(libpq(url)) as conn:
            return len(conn.execute(
                "SELECT h3_cell, requested_at FROM reports WHERE h3_cell IS NOT NULL "
                "AND requested_at >= %s AND requested_at < %s", (since, until)).fetchall())

    return fetch


def run_after_new_reports(
    engine: Engine, url: str, params: RunParams, today: dt.date, seed: int
) -> float:
    """Seconds of a whole run right after 500 reports arrived (the refresh re-reads today)."""
    arrived = dt.datetime.now(dt.UTC)
    fresh = synthetic_reports(500, arrived, seed=100 + seed)
    fresh["age"] = np.zeros(500)
    copy_reports(url, fresh, arrived, prefix=f"new{seed}-", fresh=True)
    clock = time.perf_counter()
    whole_run(engine, params, today)
    return time.perf_counter() - clock


# The child reports its own peak: VmHWM belongs to the process image after exec.
# (ru_maxrss of a child also counts the parent's pages it was forked from, so
# with this benchmark's ~1 GB of synthetic reports every child read ~1 GB.)
_PEAK = "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"
_WORKER = f"""
import datetime as dt, sys
from geo.db import make_engine
from geo.hotspots.engine import execute
execute(make_engine(sys.argv[1]), int(sys.argv[2]), today=dt.date.fromisoformat(sys.argv[3]))
{_PEAK}
"""
_IMPORTS_ONLY = f"import geo.db, geo.hotspots.engine\n{_PEAK}"


def child_peak_mb(code: str, *args: str) -> float:
    """Peak resident memory (MB) of ``python -c code args`` in a fresh process."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"worker failed: {done.stderr[-2000:]}")
    return int(done.stdout.split()[-1]) / 1024  # kB


# --------------------------------------------------------------------------- report


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def main(argv: list[str] | None = None) -> None:
    """Load a synthetic city, time a whole run and its peers, print markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    repeat = max(3, args.repeat)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    print(f"bench_hotspots: {args.reports:,} reports, medians of {repeat}", flush=True)
    with bench_database() as url:
        engine = make_engine(url)
        try:
            _bench(engine, url, args.reports, repeat, now)
        finally:
            engine.dispose()


def _bench(engine: Engine, url: str, n: int, repeat: int, now: dt.datetime) -> None:
    today = now.date()
    clock = time.perf_counter()
    load_city(engine)
    copy_reports(url, synthetic_reports(n, now), now)
    print(f"  loaded in {time.perf_counter() - clock:.1f} s", flush=True)
    clock = time.perf_counter()
    with engine.begin() as conn:
        written = aggregate.refresh(conn, full=True)
    refresh_s = time.perf_counter() - clock
    with engine.connect() as conn:
        boundary = json.loads(conn.execute(text(
            "SELECT ST_AsGeoJSON(ST_Union(geom)) FROM boundaries WHERE kind = 'city'"
        )).scalar_one())

    # (a), then its floor (b), each in a block on its own warm caches: alternating
    # them, the notebook's read of 1M reports evicted the aggregate from the
    # server's 128 MB of shared buffers before every run (+20 % on (a)).
    params = RunParams(resolution=9, rings=1)
    run_s, run_ids = median_of(lambda: whole_run(engine, params, today), repeat)
    notebook_s, laps = median_of(lambda: notebook_way(url, today, boundary), repeat)
    with engine.connect() as conn:
        runs = conn.execute(
            text("SELECT timings, counts, extract(epoch FROM finished_at - started_at) AS db_s "
                 "FROM hotspot_runs WHERE id = ANY(:ids)"), {"ids": run_ids},
        ).all()
    diff, n_cells = like_for_like(engine, run_ids[-1], boundary)

    emerging_s, shapes = median_of(emerging_step(engine, today, run_ids[-1]), repeat)
    raw_s, _ = median_of(raw_rows(url, today), repeat)
    with engine.begin() as conn:
        mem_ids = [create_run(conn, params, trigger="cli", enqueue=False) for _ in range(repeat)]
    worker_mb = median([child_peak_mb(_WORKER, url, str(r), today.isoformat()) for r in mem_ids])
    imports_mb = median([child_peak_mb(_IMPORTS_ONLY) for _ in range(repeat)])
    trickle_s = median([run_after_new_reports(engine, url, params, today, i)
                        for i in range(repeat)])

    counts = runs[-1].counts
    print(f"\n{n:,} reports, {n_cells:,} cells in the study area, {written:,} aggregate rows, "
          f"{counts['hot_cells']} hot cells, {counts['areas']} areas, "
          f"{counts['suppressed_few_reporters']} suppressed (< 3 reporters); "
          f"esda like-for-like max |Δz| = {diff:.1e}")
    speedup = notebook_s / run_s
    table("Hotspot run, 1M reports", ("step", "median", "target", "ratio to floor", "met?"), [
        ("aggregate refresh, full (standing, not per run)", _fmt(refresh_s), "—", "—", "—"),
        ("(a) whole run, res 9, K = 1", _fmt(run_s), "≤ 1 s",
         f"{speedup:.1f}× faster than (b)", verdict(run_s <= 1.0)),
        ("(b) notebook way (floor)", _fmt(notebook_s), "(a) ≥ 5× faster", "1.0",
         verdict(speedup >= 5)),
        ("(a') whole run right after 500 new reports", _fmt(trickle_s), "≤ 1 s",
         f"{notebook_s / trickle_s:.1f}× faster than (b)", verdict(trickle_s <= 1.0)),
        (f"(c) emerging, {shapes[0][1]:,} cells × {shapes[0][0]} weeks", _fmt(emerging_s),
         "≤ 3 s", f"{emerging_s / raw_s:.2f} × fetch of raw (cell, time) rows ({_fmt(raw_s)})",
         verdict(emerging_s <= 3.0)),
        ("(d) peak worker memory (one job, fresh process)", f"{worker_mb:.0f} MB", "≤ 500 MB",
         f"{worker_mb / imports_mb:.2f} × imports only ({imports_mb:.0f} MB)",
         verdict(worker_mb <= 500)),
    ])
    table("The run's own timings (median over the runs of (a))", ("run step", "median"), [
        (k, _fmt(median([r.timings[k] for r in runs]))) for k in runs[-1].timings
    ] + [("started → finished (database clock)", _fmt(median([float(r.db_s) for r in runs])))])
    table("The notebook way, step by step (median)", ("notebook step", "median"), [
        (k, _fmt(median([lap[k] for lap in laps]))) for k in laps[0]
    ])


if __name__ == "__main__":
    main()
