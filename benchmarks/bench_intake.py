"""Intake throughput: POST /api/v1/reports and /reports/batch through the production server.

The app runs exactly as ``civicpulse serve`` runs it (gunicorn, gthread, 4 threads
per worker; ``--workers`` defaults to 4, what ``serve`` picks on a 2-core
machine). The floor, measured in the same run and under the same gunicorn
settings, is :mod:`benchmarks.floor_app`: bare Flask + psycopg inserting the same
row. Single reports are driven by ``wrk`` (16 connections, a Lua script giving
every request its own ``client_id`` and ``Idempotency-Key``, as phones do);
batches of 500 by a Python client on 4 connections. Each figure is the median
of ``--rounds`` runs, app and floor alternating. Targets (issue 2): ≥ 70 % of the
floor's throughput with p99 ≤ 60 ms, and ≥ 10,000 batched reports/s.

    .venv/bin/python -m benchmarks.bench_intake [--seconds 10] [--rounds 3] [--workers 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.support import (
    BENCH_SERVICES,
    REDIS_URL,
    bench_database,
    ensure_wrk,
    free_port,
    gunicorn_argv,
    libpq,
    median,
    running,
    table,
    verdict,
)
from geo.access.keys import create_key
from geo.db import make_engine
from geo.services import load_services

CONNECTIONS = 16
BATCH_SIZE = 500
BATCH_CONNECTIONS = 4

LUA = r"""
-- Every request is a new report with its own client_id and Idempotency-Key.
counter = 0
function setup(thread)
  made = (made or 0) + 1
  thread:set("tid", made)
end
function init(args)
  key = args[1]
  run = tonumber(args[2])
  math.randomseed(run + tid)
end
function request()
  counter = counter + 1
  local cid = string.format("%08x-%04x-4000-8000-%012x", run, tid, counter)
  local body = string.format(
    '{"service_code":"pothole","lat":%.6f,"long":%.6f,"description":"Pothole by the bus stop",' ..
    '"client_id":"%s","device_id":"bench-phone-%d"}',
    30.30 + math.random() * 0.15, -88.30 + math.random() * 0.20, cid, math.random(1, 5000))
  return wrk.format("POST", "/api/v1/reports", {
    ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key,
    ["Idempotency-Key"] = cid}, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_run(wrk: str, script: Path, base: str, key: str, seconds: float) -> dict[str, float]:
    """One wrk run: requests/s, p50 and p99 in ms, and failed requests."""
    run_id = secrets.randbelow(2**31)
    out = subprocess.run(
        [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "-s", str(script), base,
         "--", key, str(run_id)],
        capture_output=True, text=True, check=True,
    ).stdout
    data = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    return {
        "rps": data["requests"] / (data["duration_us"] / 1e6),
        "p50": data["p50_us"] / 1000, "p99": data["p99_us"] / 1000,
        "failed": data["status_errors"] + data["socket_errors"],
    }


def _batch_template(size: int) -> bytes:
    """A batch body whose client ids share the placeholder ``RUNPREFIX`` (made unique per post)."""
    rng = np.random.default_rng(5)
    items = [
        {"service_code": "flooding" if i % 5 == 0 else "pothole",
         "lat": round(30.30 + 0.15 * float(rng.random()), 6),
         "long": round(-88.30 + 0.20 * float(rng.random()), 6),
         "description": "Queued while offline", "client_id": f"RUNPREFIX-0000-4000-8000-{i:012d}",
         "device_id": f"bench-phone-{i % 97}"}
        for i in range(size)
    ]
    return json.dumps({"reports": items}).encode()


def python_load(base: str, path: str, bodies: Any, headers: dict[str, str], connections: int,
                seconds: float, items: int) -> dict[str, float]:
    """Post for ``seconds`` on ``connections`` keep-alive connections; ``bodies()`` gives each body.

    Returns requests/s, items/s, p50/p99 ms and failures (non-2xx or an item error).
    """
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        while time.monotonic() < stop:
            body = bodies()
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            elapsed = (time.perf_counter() - started) * 1000
            bad = resp.status >= 300 or b'"error"' in payload
            with lock:
                latencies.append(elapsed)
                failed[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return {
        "rps": len(latencies) / wall, "items": len(latencies) * items / wall,
        "p50": float(np.percentile(latencies, 50)), "p99": float(np.percentile(latencies, 99)),
        "failed": failed[0],
    }


def main(argv: list[str] | None = None) -> None:
    """Set up a throw-away database, run both servers, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    wrk = ensure_wrk()
    with bench_database() as url, tempfile.TemporaryDirectory(prefix="cp-bench-") as tmp:
        engine = make_engine(url)
        with engine.begin() as conn:
            load_services(conn, BENCH_SERVICES)
            key = create_key(conn, "app", "intake benchmark")
        engine.dispose()
        app_env = dict(
            os.environ, DATABASE_URL=libpq(url), REDIS_URL=REDIS_URL, CIVICPULSE_ENV="production",
            CIVICPULSE_SECRET_KEY=secrets.token_urlsafe(32), CIVICPULSE_MEDIA_DIR=f"{tmp}/media",
            CIVICPULSE_EXPORT_DIR=f"{tmp}/exports",
        )
        floor_env = dict(os.environ, DATABASE_URL=libpq(url))
        script = Path(tmp) / "intake.lua"
        script.write_text(LUA)
        p_app, p_floor = free_port(), free_port()
        with running(gunicorn_argv("service.wsgi:app", p_app, args.workers), app_env, p_app,
                     Path(tmp) / "app.log") as app, \
             running(gunicorn_argv("benchmarks.floor_app:app", p_floor, args.workers), floor_env,
                     p_floor, Path(tmp) / "floor.log") as floor:
            _single(wrk, script, app, floor, key, args)
            _batch(app, floor, key, args)


def _single(wrk: str | None, script: Path, app: str, floor: str, key: str,
            args: argparse.Namespace) -> None:
    """POST /api/v1/reports on 16 connections; median of the rounds."""
    auth = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    counter = iter(range(10**12))

    def body() -> bytes:
        n = next(counter)
        return json.dumps({"service_code": "pothole", "lat": 30.35, "long": -88.2,
                           "client_id": f"{n >> 48:08x}-0000-4000-8000-{n:012x}"}).encode()

    def measure(base: str, seconds: float) -> dict[str, float]:
        if wrk:
            return wrk_run(wrk, script, base, key, seconds)
        return python_load(base, "/api/v1/reports", body, auth, CONNECTIONS, seconds, 1)

    for base in (app, floor):
        measure(base, 2)  # warm-up: connection pools, imports, caches
    runs: dict[str, list[dict[str, float]]] = {"app": [], "floor": []}
    for i in range(args.rounds):
        order = (("app", app), ("floor", floor)) if i % 2 == 0 else (("floor", floor), ("app", app))
        for name, base in order:
            runs[name].append(measure(base, args.seconds))
    got = {name: {k: median([r[k] for r in rs]) for k in rs[0]} for name, rs in runs.items()}
    ratio = got["app"]["rps"] / got["floor"]["rps"]
    tool = "wrk -t2 -c16" if wrk else "Python client, 16 connections"
    rows = [
        (name, f"{g['rps']:,.0f}", f"{g['p50']:.1f}", f"{g['p99']:.1f}", f"{g['failed']:.0f}")
        for name, g in (("CivicPulse app", got["app"]), ("floor (Flask + psycopg)", got["floor"]))
    ]
    table(f"POST /api/v1/reports — {tool}, {args.seconds:g} s × {args.rounds} rounds, "
          f"gunicorn --workers {args.workers} gthread×4 (medians)",
          ("server", "req/s", "p50 ms", "p99 ms", "failed"), rows)
    table("Targets", ("measure", "value", "target", "verdict"), [
        ("throughput vs floor", f"{ratio:.0%}", "≥ 70 %", verdict(ratio >= 0.70)),
        ("app p99", f"{got['app']['p99']:.1f} ms", "≤ 60 ms", verdict(got["app"]["p99"] <= 60)),
    ])


def _batch(app: str, floor: str, key: str, args: argparse.Namespace) -> None:
    """POST /api/v1/reports/batch with 500 reports per request on 4 connections."""
    template = _batch_template(BATCH_SIZE)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    prefix = iter(range(1, 2**32))

    def body() -> bytes:
        return template.replace(b"RUNPREFIX", f"{next(prefix):08x}".encode())

    def measure(base: str, seconds: float) -> dict[str, float]:
        return python_load(base, "/api/v1/reports/batch", body, headers, BATCH_CONNECTIONS,
                           seconds, BATCH_SIZE)

    for base in (app, floor):
        measure(base, 2)
    runs: dict[str, list[dict[str, float]]] = {"app": [], "floor": []}
    for i in range(args.rounds):
        order = (("app", app), ("floor", floor)) if i % 2 == 0 else (("floor", floor), ("app", app))
        for name, base in order:
            runs[name].append(measure(base, args.seconds))
    got = {name: {k: median([r[k] for r in rs]) for k in rs[0]} for name, rs in runs.items()}
    rows = [
        (name, f"{g['items']:,.0f}", f"{g['p50']:.0f}", f"{g['p99']:.0f}", f"{g['failed']:.0f}")
        for name, g in (("CivicPulse app", got["app"]),
                        ("floor (one INSERT … unnest)", got["floor"]))
    ]
    table(f"POST /api/v1/reports/batch — {BATCH_SIZE} reports per request, {BATCH_CONNECTIONS} "
          f"connections, {args.seconds:g} s × {args.rounds} rounds (medians)",
          ("server", "reports/s", "p50 ms/request", "p99 ms/request", "failed requests"), rows)
    ratio = got["app"]["items"] / got["floor"]["items"]
    table("Targets", ("measure", "value", "target", "verdict"), [
        ("batched reports/s", f"{got['app']['items']:,.0f}", "≥ 10,000",
         verdict(got["app"]["items"] >= 10_000)),
        ("throughput vs floor", f"{ratio:.0%}", "(for information)", ""),
    ])


if __name__ == "__main__":
    main()
