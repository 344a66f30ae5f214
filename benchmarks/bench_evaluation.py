"""Benchmark and coverage check of intervention evaluation (geo.evaluation).

Two parts:

1. Coverage by simulation (issue 10): over ``--cities`` seeded synthetic cities with
   no effect (over-dispersed monthly counts, 3 matched controls per treated cell),
   how often the 95 % interval covers 1, for a typical area (12 treated cells) and
   small ones (5, 3). The target is 93–97 %. With 3 treated cells the interval is
   conservative on purpose (about 99 %): the t quantile on the smaller group's
   cells − 1 = 2 degrees of freedom is 4.3. Cheaper choices were tried and cover too
   little: all clusters − 1 df 86 %, a Welch–Satterthwaite df from the treated and
   control clusters' shares of the variance 89 % (400 cities each).
2. Time on the 1,000,000-report benchmark city (the hotspot benchmark's generator,
   COPYed in): one intervention (target ≤ 2 s) and 100 interventions (target ≤ 30 s),
   medians of ``--rounds``, beside a floor measured in the same run: the monthly count
   query alone, which every evaluation pays.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_evaluation [--cities 200] [--reports 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np

from benchmarks.bench_hotspots import CENTRE, copy_reports, load_city, synthetic_reports
from benchmarks.support import bench_database, median, table, verdict
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


def timing(reports: int, count: int, rounds: int) -> list[list[str]]:
    """Median seconds of one and of ``count`` evaluations on a city of ``reports`` reports.

    The city is COPYed in (as the hotspot and import benchmarks build theirs), the
    interventions are recorded, then each case is timed ``rounds`` times; the floor
    is the monthly count query alone, which every evaluation pays, timed alike.
    """
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    today = now.date()
    with bench_database() as url:
        engine = make_engine(url)
        load_city(engine)
        started = time.perf_counter()
        copy_reports(url, synthetic_reports(reports, now), now)
        print(f"copied {reports:,} reports in {time.perf_counter() - started:.1f} s")
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
        floors, singles, manys = [], [], []
        with engine.connect() as conn:
            one = evaluate.evaluate(conn, ids[0], as_of=today)  # warm the caches
            for _ in range(rounds):
                t0 = time.perf_counter()
                cells.panel(conn, ["flooding"], window, 9)
                floors.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                evaluate.evaluate(conn, ids[0], as_of=today)
                singles.append(time.perf_counter() - t0)
            for _ in range(max(1, rounds // 2)):
                t0 = time.perf_counter()
                for iid in ids:
                    evaluate.evaluate(conn, iid, as_of=today)
                manys.append(time.perf_counter() - t0)
        engine.dispose()
    floor, single, many = median(floors), median(singles), median(manys)
    print(f"first intervention: ratio {one['effect_ratio']}, {one['treated_cells']} treated, "
          f"{one['control_cells']} control cells")
    return [
        [f"one intervention, {reports:,} reports", f"{single:.2f}", f"{floor:.2f}",
         f"{single / floor:.1f}", "≤ 2", verdict(single <= 2)],
        [f"{count} interventions, {reports:,} reports", f"{many:.1f}", f"{floor * count:.1f}",
         f"{many / (floor * count):.1f}", "≤ 30", verdict(many <= 30)],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cities", type=int, default=200)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--interventions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for n_t, seed in ((12, 1), (5, 3), (3, 2)):
        share = coverage(args.cities, n_t, seed)
        rows.append([f"{n_t} treated cells", f"{args.cities}", f"{share:.1%}", "93–97 %",
                     verdict(0.93 <= share <= 0.97)])
    table("Coverage of the 95 % interval in seeded cities with no effect",
          ["area", "cities", "covers 1", "target", "verdict"], rows)
    table(f"Evaluation time, medians of {args.rounds} (floor: the monthly count query alone, "
          "same run)",
          ["case", "seconds", "floor s", "× floor", "target s", "verdict"],
          timing(args.reports, args.interventions, args.rounds))


if __name__ == "__main__":
    main()
