"""A PostgreSQL restart costs no request a 500; while it is down, answers are 503 problems.

Runs on a private PostgreSQL (tests.private_services): the shared server on :5432
belongs to every other test session on the machine.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest
from sqlalchemy import text

from geo.access import keys
from service import create_app
from service.db import engine as app_engine
from tests.conftest import SERVICES
from tests.private_services import PrivatePostgres

POOLED = 4  # connections checked out at once, so several are pooled when it restarts


@pytest.fixture(scope="module")
def private(settings):
    """An app on a private PostgreSQL (migrated, services loaded), and an app key."""
    from geo.services import load_services

    with PrivatePostgres() as pg:
        url = pg.create_database("restart")
        app = create_app({"TESTING": True, "ACCESS_LOG": False},
                         settings=dataclasses.replace(settings, database_url=url))
        with app.app_context(), app_engine().begin() as conn:
            load_services(conn, SERVICES)
            key = keys.create_key(conn, "app", "restart test")
        yield pg, app, key


def _fill_pool(app) -> None:
    """Check out several connections at once and return them: the pool now holds them all."""
    with app.app_context():
        conns = [app_engine().connect() for _ in range(POOLED)]
        for conn in conns:
            conn.execute(text("SELECT 1"))
        for conn in conns:
            conn.close()


def _report(key: str, n: int) -> tuple[dict, dict]:
    return ({"service_code": "pothole", "lat": 10 + n / 1000, "long": 20, "description": "x"},
            {"Authorization": f"Bearer {key}"})


def test_no_request_fails_after_a_restart(private):
    pg, app, key = private
    client = app.test_client()
    _fill_pool(app)
    assert app.extensions["civicpulse.engine"].pool.checkedin() >= POOLED
    pg.stop()
    pg.start()
    # Every pooled connection is now broken: each request must still succeed,
    # from threads too, so several broken connections are checked out at once.
    statuses: list[int] = []

    def post(n: int) -> None:
        body, headers = _report(key, n)
        statuses.append(app.test_client().post("/api/v1/reports", json=body,
                                               headers=headers).status_code)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(POOLED)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * POOLED
    for url in ("/ogc/collections", "/open311/v2/services.json", "/readyz"):
        assert client.get(url).status_code == 200, url


def test_while_the_database_is_down_answers_are_503_problems(private):
    pg, app, key = private
    client = app.test_client()
    _fill_pool(app)
    pg.stop()
    try:
        body, headers = _report(key, 99)
        resp = client.post("/api/v1/reports", json=body, headers=headers)
        assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
        assert resp.get_json()["type"].endswith("database-unavailable")
        assert int(resp.headers["Retry-After"]) > 0
        ogc = client.get("/ogc/collections")
        assert ogc.status_code == 503 and ogc.get_json()["code"] == "ServerError"
        open311 = client.get("/open311/v2/requests.json")
        assert open311.status_code == 503 and open311.get_json()[0]["code"] == 503
        assert client.get("/readyz").status_code == 503
    finally:
        pg.start()
    body, headers = _report(key, 100)
    assert client.post("/api/v1/reports", json=body, headers=headers).status_code == 201
