"""Hotspot runs on the native API: authorisation, validation, status, layers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import text

from geo.hotspots.engine import execute
from tests.cities import empty
from tests.cities.scatter import add_reports, scatter

TODAY = dt.date.today()


@pytest.fixture
def city(engine, services_loaded):
    """Reports enough for a run."""
    empty(engine)
    rng = np.random.default_rng(11)
    add_reports(engine, scatter(rng, 200), today=TODAY)
    add_reports(engine, scatter(rng, 60, spread_m=120), today=TODAY)
    return engine


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("app", 403), ("grant_writer", 403), ("planner", 202), ("admin", 202)],
)
def test_who_may_queue_a_run(client, api_keys, city, role, status):
    resp = client.post("/api/v1/hotspot-runs", json={}, headers=api_keys.headers(role))
    assert resp.status_code == status, resp.get_json()


@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("app", 403), ("grant_writer", 200), ("planner", 200), ("admin", 200)],
)
def test_who_may_read_runs(client, api_keys, city, role, status):
    assert client.get("/api/v1/hotspot-runs", headers=api_keys.headers(role)).status_code == status


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"resolution": 20}, "resolution"),
        ({"rings": 0}, "rings"),
        ({"rings": "many"}, "rings"),
        ({"services": ["nope"]}, "services"),
        ({"since": "2026-05-01", "until": "2026-01-01"}, "until"),
        ({"boundary_id": 424242}, "boundary_id"),
        ({"measure": "vibes"}, "measure"),
        ({"colour": "red"}, "colour"),
        ({"priority_weights": {"luck": 1}}, "priority_weights.luck"),
        ({"services": ["pot\x00hole"]}, "services[0]"),
    ],
)
def test_bad_parameters_name_the_field(client, api_keys, city, body, field):
    before = _runs(city)
    resp = client.post("/api/v1/hotspot-runs", json=body, headers=api_keys.headers("planner"))
    assert resp.status_code == 422, resp.get_json()
    problem = resp.get_json()
    assert field in problem["detail"]
    assert _runs(city) == before


def _runs(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM hotspot_runs")).scalar_one()


def test_queue_follow_and_read_a_run(client, api_keys, city):
    planner = api_keys.headers("planner")
    resp = client.post("/api/v1/hotspot-runs", json={"services": ["pothole"], "rings": 1},
                       headers={**planner, "Idempotency-Key": "run-1"})
    assert resp.status_code == 202
    run = resp.get_json()
    assert resp.headers["Location"].endswith(f"/api/v1/hotspot-runs/{run['id']}")
    assert run["status"] == "queued" and run["progress"] == 0
    again = client.post("/api/v1/hotspot-runs", json={"services": ["pothole"], "rings": 1},
                        headers={**planner, "Idempotency-Key": "run-1"})
    assert again.status_code == 202 and again.get_json()["id"] == run["id"]

    assert client.get(f"/api/v1/hotspot-runs/{run['id']}/cells",
                      headers=planner).status_code == 409
    execute(city, run["id"])
    status = client.get(resp.headers["Location"], headers=planner).get_json()
    assert status["status"] == "succeeded" and status["progress"] == 100
    assert status["finished_at"] and status["fingerprint"]

    cells = client.get(f"/api/v1/hotspot-runs/{run['id']}/cells", headers=planner)
    assert cells.mimetype == "application/geo+json"
    features = cells.get_json()["features"]
    with city.connect() as conn:
        n_cells = conn.execute(text("SELECT count(*) FROM hotspot_cells WHERE run_id = :r"),
                               {"r": run["id"]}).scalar_one()
    assert len(features) == n_cells == status["counts"]["cells"]
    props = features[0]["properties"]
    for field in ("h3", "reports", "weight", "gi_z", "gi_p", "gi_bin", "n_neighbors", "trend",
                  "priority_score", "priority_rank"):
        assert field in props
    assert features[0]["geometry"]["type"] == "Polygon"
    assert sum(f["properties"]["reports"] for f in features) == status["counts"]["reports"]

    areas = client.get(f"/api/v1/hotspot-runs/{run['id']}/areas", headers=planner).get_json()
    assert len(areas["features"]) == status["counts"]["areas"]


def test_unknown_run_is_404(client, api_keys, city):
    for path in ("/api/v1/hotspot-runs/999999", "/api/v1/hotspot-runs/999999/cells",
                 "/api/v1/hotspot-runs/999999/areas"):
        assert client.get(path, headers=api_keys.headers("planner")).status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [("page=0", "page"), ("page=100001", "page"),
     ("page=16288339781605243355939494428672", "page"),  # was a 500: OFFSET past bigint
     ("page_size=251", "page_size")],
)
def test_bad_list_paging_is_400_naming_the_field(client, api_keys, query, field):
    resp = client.get(f"/api/v1/hotspot-runs?{query}", headers=api_keys.headers("planner"))
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["detail"].startswith(f"{field}:")
