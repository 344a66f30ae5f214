"""Helpers shared by the native reports API tests (not a test module itself)."""

from __future__ import annotations

import random
import uuid
from typing import Any

from sqlalchemy import Engine, text

from geo.access import keys

#: Fresh spots per test from the OS's entropy: a test plugin that re-seeds the global
#: ``random`` per test (pytest-randomly) would otherwise hand every test the same spot.
_SPOTS = random.Random()

#: Every table a report write touches; "no rows written" compares all of them.
TABLES = (
    "reports",
    "reporter_contacts",
    "report_events",
    "report_confirmations",
    "outbox",
    "idempotency_keys",
)

_DEFAULT_ANSWERS = {
    "flooding": {"depth_cm": 20},
    "lead_paint": {"built_before_1978": "yes"},
}


def counts(engine: Engine) -> dict[str, int]:
    """Row counts of the tables a report write touches."""
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def settle_outbox(engine: Engine) -> None:
    """Mark pending outbox rows dispatched, so the next write must add its own signal.

    A "reports changed" signal is only written while none is pending.
    """
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET dispatched_at = now() WHERE dispatched_at IS NULL"))


def spot() -> tuple[float, float]:
    """A random point far from every other test's points (so radii never overlap)."""
    return round(_SPOTS.uniform(-40, 40), 6), round(_SPOTS.uniform(-170, 170), 6)


def report(service: str = "pothole", **fields: Any) -> dict[str, Any]:
    """A valid native report body; ``fields`` override, a value of ``...`` removes a key."""
    lat, lng = spot()
    body: dict[str, Any] = {
        "service_code": service,
        "lat": lat,
        "long": lng,
        "client_id": str(uuid.uuid4()),
    }
    if service in _DEFAULT_ANSWERS:
        body["attributes"] = dict(_DEFAULT_ANSWERS[service])
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def create(
    client: Any, api_keys: Any, role: str = "app", ip: str = "127.0.0.1", **fields: Any
) -> dict[str, Any]:
    """POST a valid report from client address ``ip`` and return the 201 body."""
    resp = client.post("/api/v1/reports", json=report(**fields), headers=api_keys.headers(role),
                       environ_base={"REMOTE_ADDR": ip})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def key_id(engine: Engine, api_keys: Any, role: str) -> int:
    """The database id of the test key for ``role``."""
    with engine.connect() as conn:
        found = keys.lookup(conn, api_keys[role])
    assert found is not None and found.key_id is not None
    return found.key_id


def point_at(
    engine: Engine, lat: float, lng: float, metres: float, azimuth: float = 0.0
) -> tuple[float, float]:
    """The point ``metres`` away from (lat, lng) along ``azimuth`` degrees, geodesically."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_Y(p::geometry) AS lat, ST_X(p::geometry) AS lng FROM ST_Project("
                "CAST(ST_SetSRID(ST_MakePoint(:lng, :lat), 4326) AS geography), :m, radians(:az)) p"
            ),
            {"lat": lat, "lng": lng, "m": metres, "az": azimuth},
        ).one()
    return row.lat, row.lng


def assert_problem(resp: Any, status: int, field: str) -> dict[str, Any]:
    """``resp`` is problem+json with ``status`` and names ``field`` in its errors or detail."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    named = {e["field"] for e in body.get("errors", [])}
    assert field in named or body["detail"].startswith(f"{field}:"), body
    return body
