"""Helpers for the Open311 tests: posting reports, parsing XML, unique places."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import h3
import pytest
from sqlalchemy import text

from .open311_helpers import BASE


@pytest.fixture
def place() -> Callable[[], tuple[float, float]]:
    """A fresh spot per call, far from every other test's reports.

    Returns the centre of a random resolution-8 cell, so tests can put reports at
    known offsets from the point an anonymous caller is shown.
    """
    rng = random.Random()

    def make() -> tuple[float, float]:
        """The centre of a new random cell."""
        cell = h3.latlng_to_cell(rng.uniform(-50, 50), rng.uniform(-170, 170), 8)
        lat, lng = h3.cell_to_latlng(cell)
        return round(lat, 6), round(lng, 6)

    return make


@pytest.fixture
def post(client: Any, api_keys: Any) -> Callable[..., Any]:
    """POST a form to ``requests.{fmt}`` with an ``app`` key (``role=None`` for none)."""

    def send(fmt: str = "json", role: str | None = "app", headers: dict | None = None,
             ip: str = "127.0.0.1", **fields: Any) -> Any:
        """Send the form from client address ``ip``; returns the response."""
        data = dict(fields)
        if role is not None and "api_key" not in data:
            data["api_key"] = api_keys[role]
        return client.post(f"{BASE}/requests.{fmt}", data=data, headers=headers or {},
                           environ_base={"REMOTE_ADDR": ip})

    return send


@pytest.fixture
def report(post: Callable[..., Any]) -> Callable[..., str]:
    """Create a report and return its ``service_request_id`` (pothole unless told)."""

    def make(lat: float, lng: float, service_code: str = "pothole", **fields: Any) -> str:
        """Post one report and return its id."""
        resp = post(service_code=service_code, lat=lat, long=lng, **fields)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()[0]["service_request_id"]

    return make


@pytest.fixture
def count_reports(engine: Any) -> Callable[[], dict[str, int]]:
    """Rows in every table a report writes, to show a rejected POST wrote none."""

    def count() -> dict[str, int]:
        """Row count per table."""
        with engine.connect() as conn:
            return {
                table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                for table in ("reports", "reporter_contacts", "report_events", "outbox")
            }

    return count
