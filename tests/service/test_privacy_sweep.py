"""One broad privacy sweep over every route the app serves (ARCHITECTURE "Privacy").

The routes come from the app's URL map (``tests/service/sweep_routes.py`` lists the
requests per rule, and a test fails when a served rule is missing there). A single
lead-paint report (an ``aggregated`` service) is filed through the native API with a
distinctive contact, device id, description, address, point and photo. Then:

- every GET, as anonymous, ``app`` (and a second app key) and ``grant_writer``: none of
  the secrets nor the exact lat/long text appears, and a hotspot cell with one reporter
  does not show its counts; a planner sees them where the contract says so;
- every GET asked about a place and a report before and after one lone lead report is
  filed there answers the same (its ids then were ids never used): nothing singles it
  out;
- every write route as each non-staff role: no secret in any answer, confirming the
  report answers as a missing id, and fake reports from every key beside it leave it
  hidden.
"""

from __future__ import annotations

import difflib
import io
import json
import logging
import math
import random
import re
import uuid

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from geo.reports.intake import device_hash
from tests.conftest import SECRET
from tests.photo_samples import jpeg
from tests.service import sweep_routes

#: Fresh spots per test from the OS's entropy: a test plugin that re-seeds the global
#: ``random`` per test (pytest-randomly) would otherwise hand every test the same spot.
_SPOTS = random.Random()

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
    lat = round(_SPOTS.uniform(-35, 35), 4) + 0.000123
    lng = round(_SPOTS.uniform(-160, 160), 4) + 0.000321
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
    run, cell = sweep_routes.publish_lone_run(engine, lat, lng)
    yield {"id": created["id"], "rid": created["service_request_id"], "token": created["token"],
           "lat": lat, "lng": lng, "photo": photo, "secrets": s, "run": run,
           "cell": cell}
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM hotspot_runs WHERE id = :r"), {"r": run})


def _surfaces(d):
    """Every GET the sweep sends about the seeded report (all of the app's GET routes)."""
    return sweep_routes.get_urls(d)


def _forbidden_strings(d) -> list[str]:
    s = d["secrets"]
    return [s["description"], "SWEEPDESC", s["address"], s["email"], s["phone"],
            s["first_name"], s["last_name"], s["device"], s["device_hash"], d["token"]]


def _exact_coordinate(value: float) -> re.Pattern[str]:
    """The coordinate as a whole number in a text (trailing zeros allowed), not as a prefix.

    With six decimals, a substring test also found the point in public geometry:
    ``-0.060977`` is the start of ``-0.0609771``, a vertex of a neighbouring cell that
    the run's cells print to seven decimals (one non-staff check in ~150 failed so).
    """
    return re.compile(rf"(?<![\d.]){re.escape(repr(value))}0*(?![\d])")


def _leaks(body: str, d) -> list[str]:
    """The seeded secrets found in ``body``: texts anywhere, the point as numbers."""
    found = [secret for secret in _forbidden_strings(d) if secret in body]
    return found + [repr(d[k]) for k in ("lat", "lng") if _exact_coordinate(d[k]).search(body)]


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
        leaks.extend((url, resp.status_code, secret) for secret in _leaks(body, seeded))
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


def test_the_sweep_covers_every_route_the_app_serves(app):
    """The URL map is the list: a route added without a sweep entry fails here."""
    served, swept = sweep_routes.served_rules(app), sweep_routes.swept_rules()
    assert served - swept == set(), "add these routes to tests/service/sweep_routes.py"
    assert swept - served == set(), "these sweep entries name no route of the app"


#: Answers that change with any request, whatever it is about: not compared before/after.
#: (``/metrics`` counts requests; it is not public once the roles table lands.)
_VOLATILE_RULES = {"/metrics"}
#: A finished pack's signed link expires 24 h from *now*: new on every answer.
_VOLATILE_KEYS = {"request_id", "timeStamp", "download_url", "download_expires_at"}


def _comparable(resp, v, template) -> tuple[int, str, str | None]:
    """Status, body without per-request values, and ETag, with the report's ids spelled out
    (in answers about the report only: elsewhere a small id would match other numbers)."""
    data = resp.get_data()
    if resp.mimetype and resp.mimetype.endswith("json"):
        def strip(x):
            if isinstance(x, dict):
                return {k: strip(y) for k, y in x.items() if k not in _VOLATILE_KEYS}
            return [strip(y) for y in x] if isinstance(x, list) else x
        text_ = json.dumps(strip(json.loads(data)), sort_keys=True)
    else:
        text_ = data.decode("utf-8", errors="replace") if not resp.mimetype.endswith(
            "vnd.mapbox-vector-tile") else data.hex()
        text_ = re.sub(r"[0-9a-f]{32}", "REQUEST-ID", text_)
        # A form's CSRF token is signed with a timestamp: new on every page.
        text_ = re.sub(r'(csrf[-_]token" (?:value|content)=")[^"]+', r"\1CSRF", text_)
    for key in ("rid", "id"):
        if "{" + key + "}" not in template:
            continue
        text_ = re.sub(rf"\b{re.escape(str(v[key]))}\b", "{" + key + "}", text_)
    etag = resp.headers.get("ETag")
    if "/tiles/reports/" in template:
        # The reports layer's version is city-wide (any report anywhere, to keep
        # visible cells fresh): it tells that something was filed, not what or where.
        etag = None
    return resp.status_code, text_, etag


def _diff(before, after) -> str:
    """The first differing lines of two comparable answers."""
    if before[::2] != after[::2]:
        return f"{before[::2]} -> {after[::2]}"
    lines = difflib.unified_diff(before[1].replace(", ", ",\n").splitlines(),
                                 after[1].replace(", ", ",\n").splitlines(), lineterm="", n=0)
    return " ".join(list(lines)[2:8])


def _answers(client, api_keys, v, role):
    """Every comparable GET answer for template values ``v`` as ``role``."""
    out = {}
    for rule, templates in sweep_routes.GETS.items():
        if rule in _VOLATILE_RULES:
            continue
        for template in templates:
            resp = client.get(template.format(**v), headers=api_keys.headers(role))
            assert resp.status_code < 500, (template, resp.status_code)
            out[template] = _comparable(resp, v, template)
    return out


@pytest.mark.parametrize("role", NON_STAFF)
def test_a_lone_report_changes_no_public_answer(client, api_keys, seeded, role):
    """File one lead-paint report in a fresh place: every GET route, asked about that place
    and that report, answers exactly as it did before, when the report did not exist and
    its ids were ids never used. Nothing singles it out — not a listing, a count, a tile,
    an ETag, a nearby answer or a 404 that differs from a missing id's."""
    lat = round(_SPOTS.uniform(-35, 35), 4) + 0.000111
    lng = round(_SPOTS.uniform(-160, 160), 4) + 0.000222
    place = dict(seeded, lat=round(lat, 6), lng=round(lng, 6), id=10**12 + 7,
                 rid="unusedid234567")
    before_v = sweep_routes.values(place)
    before = _answers(client, api_keys, before_v, role)
    body = {"service_code": "lead_paint", "lat": place["lat"], "long": place["lng"],
            "attributes": {"built_before_1978": "yes"}, "device_id": "lone-phone",
            "description": "Lone report", "client_id": str(uuid.uuid4())}
    made = client.post("/api/v1/reports", json=body, headers=api_keys.headers("app"),
                       environ_base={"REMOTE_ADDR": "192.0.2.77"})
    assert made.status_code == 201
    after_v = dict(before_v, id=made.get_json()["id"], rid=made.get_json()["service_request_id"])
    after = _answers(client, api_keys, after_v, role)
    changed = {t: _diff(before[t], after[t]) for t in before if before[t] != after[t]}
    assert changed == {}, "\n".join(f"{t}: {d}" for t, d in changed.items())


@pytest.mark.parametrize("role", NON_STAFF)
def test_writes_as_non_staff_single_nothing_out(client, api_keys, seeded, logs, role):
    """Every write route as each non-staff role: no answer carries the seeded report's
    secrets; confirming it answers as a missing id does; and a fake lead report from every
    key (one network) beside it does not make it public."""
    v = sweep_routes.values(seeded)
    lead = {"service_code": "lead_paint", "lat": seeded["lat"], "long": seeded["lng"],
            "attributes": {"built_before_1978": "yes"}}
    bodies = {
        "lead_beside": lambda: dict(lead, client_id=str(uuid.uuid4()),
                                    device_id=f"fake-{uuid.uuid4()}"),
        "lead_batch": lambda: {"reports": [dict(lead, client_id=str(uuid.uuid4()),
                                                device_id=f"fake-{uuid.uuid4()}")
                                           for _ in range(3)]},
    }
    headers = api_keys.headers(role)
    for (method, _rule), requests in sweep_routes.WRITES.items():
        for template, body in requests:
            url = template.format(**v)
            if body == "open311_beside":
                data = {"service_code": "lead_paint", "lat": seeded["lat"],
                        "long": seeded["lng"], "attribute[built_before_1978]": "yes",
                        "device_id": f"fake-{uuid.uuid4()}"}
                if role is not None:
                    data["api_key"] = api_keys[role]
                resp = client.post(url, data=data)
            elif url == "/api/v1/photos":
                resp = client.post(url, headers=headers, content_type="multipart/form-data",
                                   data={"file": (io.BytesIO(jpeg()), "p.jpg", "image/jpeg")})
            else:
                payload = bodies[body]() if isinstance(body, str) else body
                if isinstance(payload, dict) and "device_id" in payload:
                    payload = dict(payload, device_id=payload["device_id"].format(**v))
                resp = client.open(url, method=method, json=payload, headers=headers)
            assert resp.status_code < 500, (method, url, resp.status_code)
            text_ = resp.get_data().decode("utf-8", errors="replace")
            assert _leaks(text_, seeded) == [], (method, url)
    # Confirming the lone report answers as an unused id does.
    missing = client.post(f"/api/v1/reports/{10**12 + 9}/confirmations", json={},
                          headers=headers)
    mine = client.post(f"/api/v1/reports/{seeded['id']}/confirmations", json={},
                       headers=headers)
    assert mine.status_code == missing.status_code
    if role in ("app", "app2"):
        assert mine.status_code == 404
    # Every key filed fake lead reports beside it with invented devices: still hidden.
    for viewer in NON_STAFF:
        got = client.get(f"/api/v1/reports/{seeded['id']}", headers=api_keys.headers(viewer))
        assert got.status_code == 404, viewer
    assert seeded["token"] not in "\n".join(logs)


def test_the_point_is_found_as_a_number_not_inside_another():
    """-0.060977 at -0.0611 + 0.000123, 71.3752 + 0.000321 made a neighbouring cell's vertex
    -0.0609771 read as a leak; the exact point, at any precision, must still be found."""
    d = {"secrets": dict.fromkeys(("description", "address", "email", "phone", "first_name",
                                   "last_name", "device", "device_hash"), "\x00"),
         "token": "\x00", "lat": -0.060977, "lng": 71.375521}
    assert _leaks('"coordinates":[[[71.3803281,-0.0609771],[71.3755219,-10.060977]]]', d) == []
    assert _leaks('[71.375521,-0.060977]', d) == ["-0.060977", "71.375521"]
    assert _leaks("<lat>-0.0609770</lat><long>71.3755210</long>", d) == ["-0.060977", "71.375521"]
