"""The app's engine and Redis connection, created once per process."""

from __future__ import annotations

from flask import current_app
from redis import Redis
from sqlalchemy import Engine


def engine() -> Engine:
    """This app's SQLAlchemy engine."""
    return current_app.extensions["civicpulse.engine"]


def redis() -> Redis:
    """This app's Redis connection (used for readiness and queue metrics only)."""
    return current_app.extensions["civicpulse.redis"]
