"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from service.db import engine, redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up (no dependencies checked, so a slow database cannot kill it)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready to serve when the database (with PostGIS) answers; ``degraded`` without Redis.

    Reports are accepted without Redis (they wait in the outbox), so a Redis
    outage keeps the process in the load balancer: 200 with ``status: degraded``.
    Without the database nothing works: 503.
    """
    checks: dict[str, str] = {}
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {type(exc).__name__}"
    if checks["database"] != "ok":
        return jsonify(status="not ready", checks=checks), 503
    status = "ready" if checks["redis"] == "ok" else "degraded"
    return jsonify(status=status, checks=checks), 200
