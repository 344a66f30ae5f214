"""One broad privacy sweep over every public-facing GET surface (ARCHITECTURE "Privacy").

A single lead-paint report (an ``aggregated`` service) is filed through the native
API with a distinctive contact, device id, description, address, point and photo.
Then every read surface is asked as anonymous, ``app`` (another phone of the same
app too) and ``grant_writer``: none of the secrets nor the exact lat/long text may
appear in any body, and a hotspot cell with one reporter must not show its counts.
A planner, by contrast, sees them where the contract says so.
"""

from __future__ import annotations

import io
import logging
import math
import random
import uuid

import h3
import mapbox_vector_tile
import numpy as np
import pytest
from sqlalchemy import text

from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.runs import create_run
from geo.reports.intake import device_hash
from tests.conftest import SECRET
from tests.photo_samples import jpeg

NON_STAFF = (None, "app", "app2", "grant_writer")


def _tile(lat: float, lng: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lng + 180.0) / 360.0 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs(app):
    """Everything the ``civicpulse`` loggers write (access log on) during the test."""
    handler = _Capture()
    handler.setFormatter(logging.getLogger("civicpulse").handlers[0].formatter)
    root = logging.getLogger("civicpulse")
    root.addHandler(handler)
    before = app.config.get("ACCESS_LOG")
    app.config["ACCESS_LOG"] = True
    try:
        yield handler.lines
    finally:
        app.config["ACCESS_LOG"] = before
        root.removeHandler(handler)


@pytest.fixture
def seeded(client, api_keys, engine):
    """A lead-paint report with distinctive secrets, its photo, and a run with its cell."""
    tag = uuid.uuid4().hex[:10]
    # Six decimals that no cell centre will share; far from other tests' points.
    lat = round(random.uniform(-35, 35), 4) + 0.000123
    lng = round(random.uniform(-160, 160), 4) + 0.000321
    lat, lng = round(lat, 6), round(lng, 6)
    s = {
        "description": f"Peeling paint SWEEPDESC{tag}",
        "address": f"{tag} Sweep Lane",
        "email": f"sweep.{tag}@example.org",
        "phone": f"+1555{int(tag, 16) % 10**7:07d}",
        "first_name": f"Firstname{tag}",
        "last_name": f"Lastname{tag}",
        "device": f"SWEEPDEVICE-{tag}",
    }
    s["device_hash"] = device_hash(SECRET, s["device"]).hex()
    up = client.post("/api/v1/photos", data={"file": (io.BytesIO(jpeg()), "p.jpg", "image/jpeg")},
                     headers=api_keys.headers("app"), content_type="multipart/form-data")
    assert up.status_code == 201, up.get_json()
    photo = up.get_json()["id"]
    body = {
        "service_code": "lead_paint", "lat": lat, "long": lng, "client_id": str(uuid.uuid4()),
        "description": s["description"], "address_string": s["address"],
        "attributes": {"built_before_1978": "yes"}, "device_id": s["device"],
        "contact": {"email": s["email"], "phone": s["phone"],
                    "first_name": s["first_name"], "last_name": s["last_name"]},
        "photos": [photo],
    }
    resp = client.post("/api/v1/reports", json=body, headers=api_keys.headers("app"))
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    # A run over lead paint whose only non-empty cell holds this one reporter.
    cell = h3.str_to_int(h3.latlng_to_cell(lat, lng, 9))
    disk = sorted(h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(cell), 1))
    n = len(disk)
    ones = np.array([1 if c == cell else 0 for c in disk])
    cells = CellResult(
        h3=np.array(disk, dtype=np.int64), reports=ones * 7, weight=ones * 21.0,
        reporters=ones, gi_z=np.zeros(n), gi_p=np.ones(n), gi_bin=np.zeros(n, dtype=np.int8),
        n_neighbors=np.full(n, 7), no_data=np.zeros(n, dtype=bool),
        area_id=np.array([1 if c == cell else -1 for c in disk]),
        priority_score=np.zeros(n), priority_rank=np.arange(1, n + 1),
    )
    with engine.begin() as conn:
        run = create_run(conn, RunParams.from_dict({"services": ["lead_paint"]}), enqueue=False)
    with engine.begin() as conn:
        area = AreaResult(1, [cell], reports=7, weight=21.0, priority_score=0.5,
                          priority_rank=1, components={"significance": 1.0})
        publish(conn, run, cells, [area], counts={"cells": n}, fingerprint="sweep", rings=1)
    yield {"id": created["id"], "rid": created["service_request_id"], "token": created["token"],
           "lat": lat, "lng": lng, "photo": photo, "secrets": s, "run": run,
           "cell": h3.int_to_str(cell)}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM hotspot_runs WHERE id = :r"), {"r": run})


def _surfaces(d):
    """Every public-facing GET (path, expected statuses) for the seeded report."""
    lat, lng, rid = d["lat"], d["lng"], d["rid"]
    box = f"{lng - 0.01},{lat - 0.01},{lng + 0.01},{lat + 0.01}"
    urls = [
        "/open311/v2/requests.json?service_code=lead_paint&page_size=200",
        "/open311/v2/requests.xml?service_code=lead_paint&page_size=200",
        f"/open311/v2/requests.json?lat={lat}&long={lng}&radius=100",
        f"/open311/v2/requests.xml?lat={lat}&long={lng}&radius=100",
        f"/open311/v2/requests/{rid}.json",
        f"/open311/v2/requests/{rid}.xml",
        f"/api/v1/reports/{d['id']}",
        f"/api/v1/reports/{rid}",
        f"/api/v1/reports/{d['id']}?token=not-the-token",
        f"/api/v1/reports/nearby?service_code=lead_paint&lat={lat}&long={lng}",
        f"/ogc/collections/reports/items?bbox={box}&limit=1000",
        f"/ogc/collections/reports/items?bbox={box}&limit=1000&f=html",
        f"/ogc/collections/reports/items/{rid}",
        f"/ogc/collections/reports/items/{rid}?f=html",
        "/ogc/collections/reports/items?service_code=lead_paint&limit=1000",
        f"/ogc/collections/hotspot-run-{d['run']}/items?limit=1000",
        f"/ogc/collections/hotspot-run-{d['run']}/items?limit=1000&f=html",
        f"/ogc/collections/hotspot-run-{d['run']}/items/{d['cell']}",
        f"/api/v1/hotspot-runs/{d['run']}/cells",
        f"/api/v1/hotspot-runs/{d['run']}/areas",
        f"/api/v1/photos/{d['photo']}",
        f"/api/v1/photos/{d['photo']}/thumbnail",
        "/api/v1/reports?service_code=lead_paint",
        "/metrics",
        "/planner/whoami",
        "/openapi.json",
        "/docs",
    ]
    for z in (9, 12, 16):
        _, x, y = _tile(lat, lng, z)
        urls.append(f"/tiles/reports/{z}/{x}/{y}.mvt")
        urls.append(f"/tiles/hotspots/{z}/{x}/{y}.mvt?run={d['run']}")
    return urls


def _forbidden_strings(d) -> list[str]:
    s = d["secrets"]
    return [s["description"], "SWEEPDESC", s["address"], s["email"], s["phone"],
            s["first_name"], s["last_name"], s["device"], s["device_hash"],
            repr(d["lat"]), repr(d["lng"]), d["token"]]


def _hotspot_cell_counts(client, d, headers):
    """``reports`` and ``weight`` of the seeded cell on every hotspot surface the caller reads."""
    seen = []
    got = client.get(f"/ogc/collections/hotspot-run-{d['run']}/items/{d['cell']}", headers=headers)
    assert got.status_code == 200
    props = got.get_json()["properties"]
    seen.append(("ogc", props["reports"], props["weight"]))
    got = client.get(f"/api/v1/hotspot-runs/{d['run']}/cells", headers=headers)
    if got.status_code == 200:
        [props] = [f["properties"] for f in got.get_json()["features"] if f["id"] == d["cell"]]
        seen.append(("api", props["reports"], props["weight"]))
    z, x, y = _tile(d["lat"], d["lng"], 12)
    got = client.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt?run={d['run']}", headers=headers)
    assert got.status_code == 200
    layer = mapbox_vector_tile.decode(got.data)["hotspots"]["features"]
    [props] = [f["properties"] for f in layer if f["properties"]["h3"] == d["cell"]]
    seen.append(("tiles", props.get("reports"), props.get("weight")))
    return seen


@pytest.mark.parametrize("role", NON_STAFF)
def test_no_secret_reaches_a_non_staff_caller(client, api_keys, seeded, logs, role):
    headers = api_keys.headers(role)
    leaks = []
    for url in _surfaces(seeded):
        resp = client.get(url, headers=headers)
        assert resp.status_code < 500, (url, resp.status_code)
        body = resp.get_data().decode("utf-8", errors="replace")
        for secret in _forbidden_strings(seeded):
            if secret in body:
                leaks.append((url, resp.status_code, secret))
    assert leaks == [], "\n".join(map(str, leaks))
    # Photos of an aggregated report: only staff (and the phone that took it).
    for suffix in ("", "/thumbnail"):
        resp = client.get(f"/api/v1/photos/{seeded['photo']}{suffix}", headers=headers)
        assert resp.status_code in ((200, 404) if role == "app" else (404,)), suffix
    # One reporter in the cell: the counts are withheld on every hotspot surface.
    for surface, reports, weight in _hotspot_cell_counts(client, seeded, headers):
        assert (surface, reports, weight) == (surface, None, None)
    # Nothing personal in the logs either.
    text_logs = "\n".join(logs)
    s = seeded["secrets"]
    for secret in (s["email"], s["phone"], s["device"], s["device_hash"], s["address"]):
        assert secret not in text_logs


@pytest.mark.parametrize("role", ["planner", "admin"])
def test_staff_see_the_secrets_where_expected(client, api_keys, seeded, role):
    headers = api_keys.headers(role)
    s = seeded["secrets"]
    one = client.get(f"/api/v1/reports/{seeded['id']}", headers=headers).get_json()
    assert one["contact"]["email"] == s["email"] and one["contact"]["phone"] == s["phone"]
    assert one["device_hash"] == s["device_hash"]
    assert (one["lat"], one["long"]) == (seeded["lat"], seeded["lng"])
    assert one["description"] == s["description"] and one["address_string"] == s["address"]
    [o311] = client.get(f"/open311/v2/requests/{seeded['rid']}.json", headers=headers).get_json()
    assert (o311["lat"], o311["long"]) == (seeded["lat"], seeded["lng"])
    assert o311["address"] == s["address"] and o311["description"] == s["description"]
    ogc = client.get(f"/ogc/collections/reports/items/{seeded['rid']}", headers=headers).get_json()
    assert ogc["geometry"]["coordinates"] == [seeded["lng"], seeded["lat"]]
    assert ogc["properties"]["description"] == s["description"]
    assert client.get(f"/api/v1/photos/{seeded['photo']}", headers=headers).status_code == 200
    for surface, reports, weight in _hotspot_cell_counts(client, seeded, headers):
        assert (surface, reports, weight) == (surface, 7, 21.0)


def test_the_reporter_sees_its_own_report_with_the_token(client, seeded):
    got = client.get(f"/api/v1/reports/{seeded['id']}?token={seeded['token']}").get_json()
    assert got["view"] == "reporter"
    assert (got["lat"], got["long"]) == (seeded["lat"], seeded["lng"])
    assert "contact" not in got and "device_hash" not in got


def test_database_errors_do_not_carry_bound_values(engine):
    """An unexpected database error is logged with its traceback: SQLAlchemy must not
    put the statement's parameters (a report's contact, address, description) into it."""
    secret = f"sweep.{uuid.uuid4().hex[:8]}@example.org"
    with pytest.raises(Exception) as caught, engine.connect() as conn:
        conn.execute(text("SELECT CAST(:v AS text), 1 / 0"), {"v": secret})
    assert secret not in str(caught.value)
