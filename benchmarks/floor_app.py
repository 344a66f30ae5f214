"""The intake floor: bare Flask + psycopg that inserts the same report row and nothing else.

No validation, authentication, idempotency record, history event or outbox row:
what is left is the cost of HTTP, JSON and one INSERT into the real ``reports``
table with all its indexes. Served by gunicorn with the same settings as
``civicpulse serve``. ``DATABASE_URL`` names the database.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from typing import Any

import h3.api.basic_int as h3int
from flask import Flask, jsonify, request
from psycopg_pool import ConnectionPool

app = Flask(__name__)
_pool: ConnectionPool | None = None
_lock = threading.Lock()

_COLUMNS = (
    "public_id, client_id, service_code, description, geom, h3_cell, device_hash, "
    "token_hash, source, requested_at, updated_at"
)
_ONE = (
    f"INSERT INTO reports ({_COLUMNS}) VALUES (%s, %s, %s, %s, "
    "ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, %s, 'api', now(), now()) RETURNING id"
)
_MANY = (
    f"INSERT INTO reports ({_COLUMNS}) "
    "SELECT p, c, s, d, ST_SetSRID(ST_MakePoint(x, y), 4326), h, dh, th, 'api', now(), now() "
    "FROM unnest(%s::text[], %s::uuid[], %s::text[], %s::text[], %s::float8[], %s::float8[], "
    "%s::bigint[], %s::bytea[], %s::bytea[]) AS u(p, c, s, d, x, y, h, dh, th) RETURNING id"
)


def pool() -> ConnectionPool:
    """One pool per process, made after gunicorn forks (connections must not cross a fork)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=1, max_size=4, open=True)
        return _pool


def _row(item: dict[str, Any]) -> tuple[Any, ...]:
    """The same values the real intake computes: public id, H3 cell, device and token hashes."""
    public_id = secrets.token_hex(7)
    lat, lng = float(item["lat"]), float(item["long"])
    device = hashlib.sha256(str(item.get("device_id", "")).encode()).digest()
    token = hashlib.sha256(secrets.token_bytes(18)).digest()
    return (public_id, item.get("client_id"), item["service_code"], item.get("description", ""),
            lng, lat, h3int.latlng_to_cell(lat, lng, 15), device, token)


@app.get("/healthz")
def healthz() -> Any:
    """Up."""
    return jsonify(status="ok")


@app.post("/api/v1/reports")
def create() -> Any:
    """Insert one report."""
    row = _row(request.get_json())
    with pool().connection() as conn:
        report_id = conn.execute(_ONE, row).fetchone()[0]  # type: ignore[index]
    return jsonify(id=report_id, service_request_id=row[0]), 201


@app.post("/api/v1/reports/batch")
def batch() -> Any:
    """Insert a batch with one statement."""
    rows = [_row(item) for item in request.get_json()["reports"]]
    columns = [list(col) for col in zip(*rows, strict=True)]
    with pool().connection() as conn:
        ids = [r[0] for r in conn.execute(_MANY, columns).fetchall()]
    return jsonify(results=[{"id": i} for i in ids]), 200
