"""Benchmark of the planner layers: hotspot vector tiles and OGC items pages, over HTTP.

Creates its own database ``civicpulse_bench_<random>`` (dropped at the end, also on
failure), loads ``--reports`` synthetic reports (numpy + h3, by COPY) and one
finished hotspot run over a city of 5,419 resolution-9 cells (published with
``geo.hotspots.publish.publish``), starts the app under gunicorn (2 workers, gthread,
as ``civicpulse serve`` does) on a free port, and measures with a keep-alive client:

(a) every hotspot tile of the city at zoom 12–14, ``--rounds`` passes after a
    warm-up pass, ``Accept-Encoding: gzip``: p50 and p99 over HTTP;
(b) the floor: the same statement (``geo.layers.tiles.tile_sql``) from psycopg in this
    process; the median per-tile difference is the server's overhead;
(c) a 304 revalidation of every tile (``If-None-Match`` with its ETag);
(d) OGC ``items`` pages of 1,000 cells (and of 100) over HTTP, beside the same
    SQL (``geo.layers.features.collect``) in this process;
(e) with ``--pygeoapi VENV`` (a virtualenv holding pygeoapi and gunicorn, kept
    apart from ours), pygeoapi's PostgreSQL provider serving the same table under
    gunicorn with 2 workers, through the same client.

Wall time never gates CI. Run from the repository root::

    .venv/bin/python -m benchmarks.bench_tiles_ogc [--reports 1000000] [--rounds 3] \
        [--pygeoapi /tmp/pygeoapi-venv]

The server comes from ``BENCH_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); Redis from ``BENCH_REDIS_URL``.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from h3.api import basic_int as h3i
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.engine import make_url

from benchmarks.support import bench_database, libpq
from geo.access.keys import create_key
from geo.db import make_engine
from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.runs import create_run
from geo.layers import features, tiles
from geo.services import load_services

ADMIN_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CENTRE = (25.7617, -80.1918)
RINGS = 42  # 5,419 resolution-9 cells, about 25 km across
SERVICES = [
    {"service_code": "pothole", "service_name": "Pothole", "privacy": "public"},
    {"service_code": "flooding", "service_name": "Street flooding", "privacy": "public"},
    {"service_code": "lead_paint", "service_name": "Lead paint", "privacy": "aggregated"},
]
#: The issue's floors (ms) for this benchmark.
FLOORS = {"tile_p50": 10.0, "tile_p99": 40.0, "overhead": 3.0, "revalidate": 2.0, "items": 30.0}


def load_city(url: str, n_reports: int, seed: int = 7) -> tuple[int, list[int]]:
    """Reports clustered on the city's cells, and one published run over every cell."""
    rng = np.random.default_rng(seed)
    cells = np.array(sorted(h3i.grid_disk(h3i.latlng_to_cell(*CENTRE, 9), RINGS)), dtype=np.int64)
    # A few hot neighbourhoods over a uniform background.
    index = {c: i for i, c in enumerate(cells.tolist())}
    weight = np.ones(len(cells))
    for hot in rng.choice(len(cells), 12, replace=False):
        for c in h3i.grid_disk(int(cells[hot]), 3):
            if c in index:
                weight[index[c]] += 6
    pick = rng.choice(len(cells), n_reports, p=weight / weight.sum())
    centres = np.array([h3i.cell_to_latlng(int(c)) for c in cells])
    lat = centres[pick, 0] + rng.normal(0, 0.0008, n_reports)
    lng = centres[pick, 1] + rng.normal(0, 0.0008, n_reports)
    fine = np.fromiter((h3i.latlng_to_cell(a, b, 15) for a, b in zip(lat, lng, strict=True)),
                       dtype=np.int64, count=n_reports)
    service = rng.choice(3, n_reports, p=[0.6, 0.3, 0.1])
    days = [f"2024-{m:02d}-{d:02d}T12:00:00Z" for m in range(1, 13) for d in range(1, 29)]
    day = rng.integers(0, len(days), n_reports)
    devices = ["\\\\x" + hashlib.sha256(f"d{d}".encode()).hexdigest() for d in range(50_000)]
    device = rng.integers(0, len(devices), n_reports)
    codes = [s["service_code"] for s in SERVICES]
    lat_l, lng_l, fine_l = lat.tolist(), lng.tolist(), fine.tolist()
    engine = make_engine(url)
    with engine.begin() as conn:
        load_services(conn, SERVICES)
    with psycopg.connect(libpq(url)) as pg, pg.cursor() as cur, cur.copy(
        "COPY reports (public_id, service_code, geom, h3_cell, requested_at, device_hash, "
        "source) FROM STDIN"
    ) as copy:
        for start in range(0, n_reports, 50_000):
            copy.write("".join(
                f"b{i:010d}\t{codes[service[i]]}\tSRID=4326;POINT({lng_l[i]!r} {lat_l[i]!r})\t"
                f"{fine_l[i]}\t{days[day[i]]}\t{devices[device[i]]}\timport\n"
                for i in range(start, min(start + 50_000, n_reports))
            ))
    with psycopg.connect(libpq(url), autocommit=True) as pg:
        pg.execute("VACUUM ANALYZE reports")
    counts = np.bincount(pick, minlength=len(cells))
    z = (counts - counts.mean()) / counts.std()
    gi_bin = np.select([z > 2.58, z > 1.96, z > 1.65, z < -2.58, z < -1.96, z < -1.65],
                       [3, 2, 1, -3, -2, -1], 0).astype(np.int8)
    order = np.argsort(-z)
    rank = np.empty(len(cells), dtype=np.int64)
    rank[order] = np.arange(1, len(cells) + 1)
    trends = ["intensifying", "persistent", "new", None]
    result = CellResult(
        h3=cells, reports=counts, weight=counts.astype(np.float64) * 1.5,
        reporters=np.minimum(counts, 40),
        gi_z=z, gi_p=np.exp(-np.abs(z)), gi_bin=gi_bin, n_neighbors=np.full(len(cells), 7),
        no_data=counts == 0, trend=[trends[i % 4] if gi_bin[i] > 0 else None
                                    for i in range(len(cells))],
        area_id=np.full(len(cells), -1), priority_score=1 / rank, priority_rank=rank,
    )
    areas = [AreaResult(i + 1, [int(c) for c in cells[order[i * 5:(i + 1) * 5]]],
                        reports=int(counts[order[i * 5:(i + 1) * 5]].sum()), weight=1.0,
                        priority_score=1.0 / (i + 1), priority_rank=i + 1,
                        components={"significance": 1.0}) for i in range(20)]
    try:
        with engine.begin() as conn:
            run = create_run(conn, RunParams.from_dict({"since": "2024-01-01",
                                                        "until": "2025-01-01"}))
        with engine.begin() as conn:
            publish(conn, run, result, areas, counts={"cells": len(cells)}, fingerprint="bench",
                    rings=1)
        with engine.connect() as conn:
            conn.execute(text("ANALYZE hotspot_cells"))
            conn.commit()
    finally:
        engine.dispose()
    return run, cells.tolist()


def city_tiles(cells: list[int], zooms: range) -> list[tuple[int, int, int]]:
    """Every tile at ``zooms`` that the city's cells touch."""
    lats, lngs = zip(*(h3i.cell_to_latlng(c) for c in cells), strict=True)
    pad = 0.005
    out = []
    for z in zooms:
        n = 2**z

        def tx(lng: float, n: int = n) -> int:
            return int((lng + 180.0) / 360.0 * n)

        def ty(lat: float, n: int = n) -> int:
            return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

        for x in range(tx(min(lngs) - pad), tx(max(lngs) + pad) + 1):
            for y in range(ty(max(lats) + pad), ty(min(lats) - pad) + 1):
                out.append((z, x, y))
    return out


@contextmanager
def server(url: str) -> Iterator[int]:
    """The app under gunicorn (as ``civicpulse serve`` runs it) on a free port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": libpq(url), "REDIS_URL": REDIS_URL,
           "CIVICPULSE_ENV": "dev", "CIVICPULSE_SECRET_KEY": "bench-secret-0123456789"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "service.wsgi:app", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--worker-class", "gthread", "--threads", "4"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


class Client:
    """A keep-alive HTTP client that times each request."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str, **headers: str) -> tuple[float, int, dict[str, str], bytes]:
        """(milliseconds, status, headers, body) of one GET."""
        started = time.perf_counter()
        self.conn.request("GET", path, headers=headers)
        resp = self.conn.getresponse()
        body = resp.read()
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, resp.status, dict(resp.getheaders()), body


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0–100) of ``values``."""
    return float(np.percentile(values, q))


def bench(url: str, n_reports: int, rounds: int, pygeoapi: str | None = None) -> None:
    """Load, serve, measure and print the table."""
    t0 = time.perf_counter()
    run, cells = load_city(url, n_reports)
    print(f"loaded {n_reports:,} reports and {len(cells):,} cells in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    addresses = city_tiles(cells, range(12, 15))
    dialect = pg_psycopg.dialect()  # type: ignore[no-untyped-call]
    raw = psycopg.connect(libpq(url), autocommit=True)
    http_ms: dict[tuple[int, int, int], list[float]] = {a: [] for a in addresses}
    sql_ms: dict[tuple[int, int, int], list[float]] = {a: [] for a in addresses}
    etags: dict[tuple[int, int, int], str] = {}
    sizes = []
    with server(url) as port:
        client = Client(port)
        for rnd in range(rounds + 1):
            for a in addresses:
                req = tiles.TileRequest("hotspots", *a)
                sql, params = tiles.tile_sql(req, tiles.Version("", run)) or ("", {})
                compiled = str(text(sql).compile(dialect=dialect))
                started = time.perf_counter()
                raw.execute(compiled, params).fetchone()
                floor = (time.perf_counter() - started) * 1000
                ms, status, headers, body = client.get(
                    f"/tiles/hotspots/{a[0]}/{a[1]}/{a[2]}.mvt", **{"Accept-Encoding": "gzip"})
                assert status == 200, status
                if rnd:  # the first pass warms caches
                    http_ms[a].append(ms)
                    sql_ms[a].append(floor)
                    sizes.append(len(body))
                etags[a] = headers["ETag"]
        revalidate = []
        for _ in range(rounds):
            for a in addresses:
                ms, status, _h, _b = client.get(f"/tiles/hotspots/{a[0]}/{a[1]}/{a[2]}.mvt",
                                                **{"If-None-Match": etags[a]})
                assert status == 304, status
                revalidate.append(ms)
        if pygeoapi:
            with pygeoapi_server(pygeoapi, url) as peer:
                items = _items(client, url, run, rounds, peer)
        else:
            items = _items(client, url, run, rounds)
        extra = _reports(client, url, [a for a in addresses if a[0] == 13], rounds)
    raw.close()
    all_http = [v for a in addresses for v in http_ms[a]]
    all_sql = [v for a in addresses for v in sql_ms[a]]
    overhead = statistics.median(
        h - s for a in addresses for h, s in zip(http_ms[a], sql_ms[a], strict=True))
    print(f"\n{len(addresses)} tiles at z12–14 × {rounds} rounds; {n_reports:,} reports; "
          f"{len(cells):,} cells; median gzipped tile {statistics.median(sizes) / 1024:.1f} KiB\n")
    rows = [
        ("hotspot tile p50 (HTTP, gzip)", pct(all_http, 50), FLOORS["tile_p50"], pct(all_sql, 50)),
        ("hotspot tile p99 (HTTP, gzip)", pct(all_http, 99), FLOORS["tile_p99"], pct(all_sql, 99)),
        ("median overhead over the same SQL", overhead, FLOORS["overhead"], None),
        ("304 revalidation p50", pct(revalidate, 50), FLOORS["revalidate"], None),
        ("304 revalidation p99", pct(revalidate, 99), None, None),
        ("items page of 1,000 cells, median", items["http1000"], FLOORS["items"], items["sql1000"]),
        ("items page of 100 cells, median", items["http100"], None, items["sql100"]),
        *(
            (f"pygeoapi items page of {n:,} cells, median", items[f"peer{n}"], None, None)
            for n in (1000, 100) if f"peer{n}" in items
        ),
        ("reports items page of 1,000, anonymous", extra["anon_items"], None, None),
        ("reports items page of 1,000, planner", extra["staff_items"], None, None),
        ("reports tile z13 (H3 cells) p50, anonymous", extra["anon_z13"], None, None),
        ("reports tile z13 (H3 cells) p50, planner", extra["staff_z13"], None, None),
    ]
    _table(("metric", "ms", "target ms", "met", "same SQL ms", "× SQL"), [
        (name, f"{ms:.2f}", f"≤ {target:g}" if target else "—",
         ("yes" if ms <= target else "**no**") if target else "—",
         f"{sql:.2f}" if sql else "—", f"{ms / sql:.2f}" if sql else "—")
        for name, ms, target, sql in rows
    ])
    if "peer1000" in items:
        print(f"\npygeoapi / CivicPulse: {items['peer1000'] / items['http1000']:.2f}× on a "
              f"1,000-cell page, {items['peer100'] / items['http100']:.2f}× on a 100-cell page "
              "(target ≥ 1.5×), measured interleaved.")


def _items(client: Client, url: str, run: int, rounds: int,
           peer: Client | None = None) -> dict[str, float]:
    """Median ms of items pages over HTTP, of the same SQL in this process and, when
    ``peer`` (pygeoapi) is given, of its page: interleaved, so load hits all alike."""
    engine = make_engine(url)
    out: dict[str, float] = {}
    try:
        for limit in (1000, 100):
            offsets = list(range(0, 5000, limit))[:5]
            times: dict[str, list[float]] = {"http": [], "sql": [], "peer": []}
            for rnd in range(rounds + 1):
                for offset in offsets:
                    with engine.connect() as conn:
                        started = time.perf_counter()
                        page = features.collect(
                            conn, features.hotspot_cells_source(run, public=True),
                            features.FeatureQuery(limit=limit, offset=offset))
                        floor = (time.perf_counter() - started) * 1000
                    ms, status, _h, body = client.get(
                        f"/ogc/collections/hotspots/items?limit={limit}&offset={offset}")
                    assert status == 200 and page.returned == limit
                    if peer is not None:
                        peer_ms, status, _h, body = peer.get(
                            f"/collections/hotspots/items?f=json&limit={limit}&offset={offset}")
                        assert status == 200, body[:200]
                        assert len(json.loads(body)["features"]) == limit
                        times["peer"] += [peer_ms] if rnd else []
                    if rnd:
                        times["http"].append(ms)
                        times["sql"].append(floor)
            for key, values in times.items():
                if values:
                    out[f"{key}{limit}"] = statistics.median(values)
    finally:
        engine.dispose()
    return out


def _reports(client: Client, url: str, z13: list[tuple[int, int, int]],
             rounds: int) -> dict[str, float]:
    """Informative: the privacy-filtered reports surfaces over HTTP (median/p50 ms)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        key = create_key(conn, "planner", "bench")
    engine.dispose()
    out: dict[str, float] = {}
    for who, headers in (("anon", {}), ("staff", {"Authorization": f"Bearer {key}"})):
        pages, cells = [], []
        for rnd in range(rounds + 1):
            ms, status, _h, _b = client.get(
                "/ogc/collections/reports/items?limit=1000&offset=20000", **headers)
            assert status == 200, status
            pages += [ms] if rnd else []
            for z, x, y in z13:
                ms, status, _h, _b = client.get(f"/tiles/reports/{z}/{x}/{y}.mvt",
                                                **headers, **{"Accept-Encoding": "gzip"})
                assert status == 200, status
                cells += [ms] if rnd else []
        out[f"{who}_items"] = statistics.median(pages)
        out[f"{who}_z13"] = pct(cells, 50)
    return out


PYGEOAPI_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  pretty_print: false
  limits: {{default_items: 100, max_items: 10000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: "OSM"}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme,
                    terms_of_service: "none", url: "http://example.org"}}
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: bench, url: "http://example.org"}}
  contact: {{name: bench, email: bench@example.org}}
resources:
  hotspots:
    type: collection
    title: hotspots
    description: hotspot cells
    keywords: [hotspots]
    links: []
    extents:
      spatial: {{bbox: [-180, -90, 180, 90], crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: {host}, port: {db_port}, dbname: {dbname}, user: {user},
                password: "{password}", search_path: [public]}}
        id_field: h3
        table: hotspot_cells
        geom_field: geom
"""


@contextmanager
def pygeoapi_server(venv: str, url: str) -> Iterator[Client]:
    """pygeoapi's PostgreSQL provider on ``hotspot_cells``, under gunicorn (2 workers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    parts = make_url(url)
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "config.yml")
        openapi = os.path.join(tmp, "openapi.yml")
        with open(config, "w") as f:
            f.write(PYGEOAPI_CONFIG.format(
                port=port, host=parts.host or "127.0.0.1", db_port=parts.port or 5432,
                dbname=parts.database, user=parts.username or "postgres",
                password=parts.password or ""))
        env = {**os.environ, "PYGEOAPI_CONFIG": config, "PYGEOAPI_OPENAPI": openapi}
        subprocess.run([f"{venv}/bin/pygeoapi", "openapi", "generate", config,
                        "--output-file", openapi], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        proc = subprocess.Popen(
            [f"{venv}/bin/gunicorn", "pygeoapi.flask_app:APP", "--bind", f"127.0.0.1:{port}",
             "--workers", "2"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    client = Client(port)
                    if client.get("/collections?f=json")[1] == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            yield client
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run in a throw-away database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pygeoapi", help="a virtualenv with pygeoapi and gunicorn (optional)")
    args = parser.parse_args(argv)
    with bench_database() as url:
        bench(url, args.reports, args.rounds, args.pygeoapi)


if __name__ == "__main__":
    main()
