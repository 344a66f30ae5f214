"""The app's engine and Redis connection, created once per process."""

from __future__ import annotations

from flask import current_app
from redis import Redis
from sqlalchemy import Engine


def engine() -> Engine:
    """This app's SQLAlchemy engine."""
    return current_app.extensions["civicpulse.engine"]


def read_engine() -> Engine:
    """The engine for a read-only surface: the replica when configured and close behind.

    Only for reads that need not see the caller's own write at once (OGC, tiles,
    public Open311 reads): a resident reading back a report just sent, or a planner
    polling a run just queued, uses :func:`engine`.
    """
    return current_app.extensions["civicpulse.reads"].engine()


def redis() -> Redis:
    """This app's Redis connection (used for readiness and queue metrics only)."""
    return current_app.extensions["civicpulse.redis"]
