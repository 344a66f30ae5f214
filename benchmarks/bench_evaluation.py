"""Benchmark and coverage check of intervention evaluation (geo.evaluation).

Two parts:

1. Coverage by simulation (issue 10): over ``--cities`` seeded synthetic cities with
   no effect (over-dispersed monthly counts, 3 matched controls per treated cell),
   how often the 95 % interval covers 1, for a typical area (12 treated cells) and a
   small one (3). The target is 93–97 %.
2. Time on the 1,000,000-report benchmark city (the hotspot benchmark's generator):
   one intervention (target ≤ 2 s) and 100 interventions (target ≤ 30 s), beside a
   floor measured in the same run: the monthly count query alone, which every
   evaluation pays.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_evaluation [--cities 200] [--reports 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np

from benchmarks.bench_hotspots import CENTRE, copy_reports, load_city, synthetic_reports
from benchmarks.support import bench_database, table, verdict
from geo.db import make_engine
from geo.evaluation import cells, evaluate, interventions
from geo.evaluation.model import did_poisson


def null_city(rng: np.random.Generator, n_t: int, n_pre: int = 12, n_post: int = 6
              ) -> tuple[np.ndarray, ...]:
    """Monthly counts of ``n_t`` treated and ``3 n_t`` control cells, no effect."""
    n = 4 * n_t
    periods = n_pre + n_post
    base = rng.gamma(2.0, 1.5, size=n)
    mu = base[:, None] * np.exp(rng.normal(0, 0.05, periods))[None, :]
    y = rng.poisson(rng.gamma(2.0, mu / 2.0))
    cell = np.repeat(np.arange(n), periods)
    period = np.tile(np.arange(periods), n)
    return y.ravel(), cell, period, cell < n_t, period >= n_pre


def coverage(cities: int, n_t: int, seed: int) -> float:
    """Share of null cities whose 95 % interval covers 1."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(cities):
        est = did_poisson(*null_city(rng, n_t))
        hits += est.ci_low <= 1 <= est.ci_high
    return hits / cities


def timing(reports: int, count: int) -> list[list[str]]:
    """Seconds for one and for ``count`` evaluations on a city of ``reports`` reports."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    today = now.date()
    rows = []
    with bench_database() as url:
        engine = make_engine(url)
        load_city(engine)
        copy_reports(url, synthetic_reports(reports, now), now)
        rng = np.random.default_rng(5)
        start = today - dt.timedelta(days=200)
        ids = []
        with engine.begin() as conn:
            for k in range(count):
                dy, dx = rng.uniform(-5000, 5000, 2)
                lat = CENTRE[0] + dy / 111_320
                lng = CENTRE[1] + dx / (111_320 * np.cos(np.radians(CENTRE[0])))
                ids.append(interventions.create(conn, {
                    "name": f"Bench {k}", "services": ["flooding"], "radius_m": 400,
                    "geometry": {"type": "Point", "coordinates": [lng, lat]},
                    "start_date": start.isoformat(),
                    "end_date": (start + dt.timedelta(days=14)).isoformat()}))
        window, _ = evaluate.windows(start, start + dt.timedelta(days=14), 12, None, today)
        with engine.connect() as conn:
            evaluate.evaluate(conn, ids[0], as_of=today)  # warm the caches
            t0 = time.perf_counter()
            cells.panel(conn, ["flooding"], window, 9)
            floor = time.perf_counter() - t0
            t0 = time.perf_counter()
            one = evaluate.evaluate(conn, ids[0], as_of=today)
            single = time.perf_counter() - t0
            t0 = time.perf_counter()
            for iid in ids:
                evaluate.evaluate(conn, iid, as_of=today)
            many = time.perf_counter() - t0
        engine.dispose()
    rows.append([f"one intervention, {reports:,} reports", f"{single:.2f}", f"{floor:.2f}",
                 f"{single / floor:.1f}", "2", verdict(single <= 2)])
    rows.append([f"{count} interventions", f"{many:.1f}", f"{floor * count:.1f}",
                 f"{many / (floor * count):.1f}", "30", verdict(many <= 30)])
    print(f"first intervention: ratio {one['effect_ratio']}, {one['treated_cells']} treated, "
          f"{one['control_cells']} control cells")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=200)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--interventions", type=int, default=100)
    args = parser.parse_args()
    rows = []
    for n_t, seed in ((12, 1), (3, 2)):
        share = coverage(args.cities, n_t, seed)
        rows.append([f"{n_t} treated cells", f"{args.cities}", f"{share:.1%}",
                     verdict(0.93 <= share <= 0.97)])
    table("Coverage of the 95 % interval in cities with no effect (target 93–97 %)",
          ["area", "cities", "covers 1", "target"], rows)
    table("Evaluation time (floor: the monthly count query alone)",
          ["case", "seconds", "floor s", "ratio", "target s", "target"],
          timing(args.reports, args.interventions))


if __name__ == "__main__":
    main()
