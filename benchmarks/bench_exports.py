"""Benchmark of a city-wide evidence pack over 1,000,000 reports (target ≤ 15 s).

Creates its own database ``civicpulse_bench_<random>`` (dropped at the end, also on
failure) with the same synthetic city as ``bench_hotspots`` (services, a city with
populated districts, a year of reports by COPY, the standing aggregate), publishes
a synthetic hotspot run (plain Gi*, no FDR: the pack only reads what a run
stores), then times ``geo.evidence.exports.render`` — exactly what the job does:
claim, incremental aggregate refresh, every query, CSV/GeoJSON/GeoPackage, map,
trend chart, PDF, zip, publish — for the whole city and for one district, at run
resolutions 9 (counts from the aggregate) and 10 (counts from the 1M reports).

Wall time never gates CI. Run from the repository root::

    .venv/bin/python -m benchmarks.bench_exports [--reports 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import h3
import numpy as np
from sqlalchemy import Engine, text

from benchmarks.bench_hotspots import bench_database, copy_reports, load_city, synthetic_reports
from geo.db import make_engine
from geo.evidence import exports
from geo.evidence.params import resolve
from geo.h3cells import parent_sql
from geo.hotspots import aggregate
from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.runs import create_run

TARGET_S = 15.0
#: Progress marks of ``geo.evidence.pack.render`` and what finished at each.
STAGES = {10: "aggregate refresh", 40: "queries (SQL)", 55: "CSV + GeoJSON", 65: "GeoPackage",
          75: "map", 85: "trend chart", 95: "PDF", 100: "zip + publish"}
TRENDS = ("intensifying hot spot", "persistent hot spot", "new hot spot", "sporadic hot spot")


def publish_synthetic_run(engine: Engine, res: int, since: dt.date, until: dt.date) -> int:
    """A succeeded run over every cell of the city: Gi* with k = 1, areas of hot cells."""
    with engine.connect() as conn:
        city = json.loads(conn.execute(text(
            "SELECT ST_AsGeoJSON(geom) FROM boundaries WHERE kind = 'city'")).scalar_one())
        if res <= 9:
            sql = (f"SELECT {parent_sql('cell', res)} AS c, sum(reports), sum(reporters) "
                   "FROM report_cell_days WHERE day >= :s AND day < :u GROUP BY 1")
        else:
            sql = (f"SELECT {parent_sql('h3_cell', res)} AS c, count(*), "
                   "count(DISTINCT coalesce(encode(device_hash, 'hex'), id::text)) FROM reports "
                   "WHERE h3_cell IS NOT NULL AND status <> 'duplicate' "
                   "AND requested_at >= :s AND requested_at < :u GROUP BY 1")
        totals = {int(c): (int(n), int(r)) for c, n, r in conn.execute(
            text(sql), {"s": since, "u": until})}
    study = np.array(sorted(h3.str_to_int(c) for c in h3.geo_to_cells(city, res)), dtype=np.int64)
    index = {int(c): i for i, c in enumerate(study)}
    n = len(study)
    reports = np.array([totals.get(int(c), (0, 0))[0] for c in study], dtype=np.int64)
    reporters = np.array([totals.get(int(c), (0, 0))[1] for c in study], dtype=np.int64)
    neigh = [[index[h3.str_to_int(o)] for o in h3.grid_disk(h3.int_to_str(int(c)), 1)
              if h3.str_to_int(o) in index] for c in study]
    x = reports.astype(float)
    w = np.array([len(nb) for nb in neigh], dtype=float)
    sums = np.array([x[nb].sum() for nb in neigh])
    z = (sums - x.mean() * w) / (x.std() * np.sqrt((n * w - w * w) / (n - 1)))
    p = np.array([float(np.exp(-0.5 * v * v)) for v in z])  # a stand-in; only its shape matters
    bins = (np.where(z > 2.58, 3, np.where(z > 1.96, 2, np.where(z > 1.65, 1, 0)))
            - np.where(z < -2.58, 3, np.where(z < -1.96, 2, np.where(z < -1.65, 1, 0))))
    no_data = np.array([reports[nb].sum() == 0 for nb in neigh])
    bins[no_data] = 0
    label = np.full(n, -1)
    groups: list[list[int]] = []
    for i in np.flatnonzero(bins >= 2):
        if label[i] >= 0:
            continue
        label[i], queue, members = len(groups), deque([i]), []
        while queue:
            j = queue.popleft()
            members.append(j)
            for k in neigh[j]:
                if bins[k] >= 2 and label[k] < 0:
                    label[k] = len(groups)
                    queue.append(k)
        groups.append(members)
    order = sorted(range(len(groups)), key=lambda g: -int(reports[groups[g]].sum()))
    area_id, areas = np.full(n, -1), []
    top = max(1, int(reports[groups[order[0]]].sum())) if groups else 1
    for rank, g in enumerate(order, start=1):
        members = groups[g]
        area_id[members] = rank
        share = float(reports[members].sum()) / top
        areas.append(AreaResult(
            area_id=rank, cells=[int(study[m]) for m in members],
            reports=int(reports[members].sum()), weight=float(reports[members].sum()),
            priority_score=round(0.5 * share + 0.5 / rank, 6), priority_rank=rank,
            components={"significance": round(float(np.clip(z[members], 0, 3.29).mean() / 3.29),
                                              6), "reports": round(share, 6)},
            population=float(250 * len(members)), trend=TRENDS[rank % len(TRENDS)],
        ))
    score = np.clip(z, 0, 3.29) / 3.29
    cells = CellResult(
        h3=study, reports=reports, weight=reports.astype(float), reporters=reporters, gi_z=z,
        gi_p=p, gi_bin=bins.astype(np.int8), n_neighbors=w.astype(np.int64), no_data=no_data,
        trend=[TRENDS[0] if b >= 2 else None for b in bins], area_id=area_id,
        priority_score=score, priority_rank=np.argsort(np.argsort(-score, kind="stable")) + 1,
        components=[{"significance": round(float(v), 6)} for v in score],
    )
    params = RunParams(resolution=res, since=since, until=until, time_step="month")
    with engine.begin() as conn:
        run_id = create_run(conn, params, trigger="cli")
        conn.execute(text("DELETE FROM outbox"))  # no worker here; the run is published below
        publish(conn, run_id, cells, areas, rings=1, fingerprint=f"bench-{res}",
                counts={"cells": n, "reports": int(reports.sum()), "since": since.isoformat(),
                        "until": until.isoformat(), "time_bins": 12,
                        "priority_weights": {"significance": 0.5, "reports": 0.5}})
    return run_id


def time_pack(engine: Engine, request: dict[str, Any], export_dir: str) -> dict[str, float]:
    """Render one export as the job does; wall time per stage and in total."""
    with engine.begin() as conn:
        export_id = exports.create(conn, resolve(conn, request), requested_by=None,
                                   enqueue=False)
    marks: dict[int, float] = {}
    start = time.perf_counter()
    exports.render(engine, export_id, export_dir,
                   progress=lambda p: marks.setdefault(p, time.perf_counter()))
    marks[100] = time.perf_counter()
    out, last = {}, start
    for mark, name in STAGES.items():
        if mark in marks:
            out[name] = marks[mark] - last
            last = marks[mark]
    out["total"] = marks[100] - start
    with engine.connect() as conn:
        row = exports.get(conn, export_id)
    assert row is not None and row["status"] == "succeeded"
    out["bytes"] = sum(f["bytes"] for f in row["files"])
    return out


def main(argv: list[str] | None = None) -> None:
    """Load the synthetic city, time city-wide and district packs, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="copy each city-wide pack's zip here")
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    until = now.date() + dt.timedelta(days=1)
    since = until - dt.timedelta(days=365)
    print(f"bench_exports: {args.reports:,} reports, first render and median of "
          f"{args.repeat} more", flush=True)
    with bench_database() as url, tempfile.TemporaryDirectory() as export_dir:
        engine = make_engine(url)
        try:
            start = time.perf_counter()
            load_city(engine)
            copy_reports(url, synthetic_reports(args.reports, now), now)
            with engine.begin() as conn:
                aggregate.refresh(conn, full=True)
            print(f"  loaded and aggregated in {time.perf_counter() - start:.1f} s", flush=True)
            with engine.connect() as conn:
                city_id, district_id = conn.execute(text(
                    "SELECT (SELECT id FROM boundaries WHERE kind = 'city'), "
                    "(SELECT min(id) FROM boundaries WHERE kind = 'district')")).one()
                costs = {c: 1000.0 for c in conn.execute(
                    text("SELECT code FROM services")).scalars()}
            rows = []
            for res in (9, 10):
                run_id = publish_synthetic_run(engine, res, since, until)
                with engine.connect() as conn:
                    cells, areas = conn.execute(text(
                        "SELECT (SELECT count(*) FROM hotspot_cells WHERE run_id = :r), "
                        "(SELECT count(*) FROM hotspot_areas WHERE run_id = :r)"),
                        {"r": run_id}).one()
                for label, area in (("city", city_id), ("one district", district_id)):
                    request = {"area": {"boundary_id": area}, "run": run_id,
                               "unit_costs": costs, "budget": 2_000_000}
                    first = time_pack(engine, request, export_dir)
                    if args.keep and label == "city":
                        _keep(engine, args.keep, f"res{res}")
                    again = [time_pack(engine, request, export_dir) for _ in range(args.repeat)]
                    rows.append((res, label, cells, areas, first, again))
                    print(f"  res {res} {label}: {first['total']:.2f} s", flush=True)
        finally:
            engine.dispose()
    _print(args.reports, rows)


def _keep(engine: Engine, target: str, tag: str) -> None:
    """Copy the newest export's zip to ``target`` (to look at the pack by eye)."""
    with engine.connect() as conn:
        row = exports.get(conn, conn.execute(
            text("SELECT max(id) FROM evidence_exports")).scalar_one())
    assert row is not None
    path = exports.result_zip(row)
    assert path is not None
    Path(target).mkdir(parents=True, exist_ok=True)
    shutil.copy(path, Path(target) / f"bench-{tag}-{path.name}")


def _print(n: int, rows: list[tuple[Any, ...]]) -> None:
    print(f"\nEvidence pack over {n:,} reports (target ≤ {TARGET_S:g} s city-wide):\n")
    print("| run res | area | run cells | run areas | first render (s) | median (s) | pack MB "
          "| target |")
    print("|---|---|---|---|---|---|---|---|")
    for res, label, cells, areas, first, again in rows:
        med = statistics.median(a["total"] for a in again) if again else first["total"]
        ok = "met" if max(first["total"], med) <= TARGET_S else "MISSED"
        print(f"| {res} | {label} | {cells:,} | {areas:,} | {first['total']:.2f} | {med:.2f} "
              f"| {first['bytes'] / 1e6:.1f} | {ok} |")
    print("\nStages of the first city-wide render at each resolution (s):\n")
    names = list(STAGES.values())
    print("| run res | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for res, label, _cells, _areas, first, _again in rows:
        if label == "city":
            print(f"| {res} | " + " | ".join(f"{first.get(s, 0):.2f}" for s in names) + " |")


if __name__ == "__main__":
    main()
