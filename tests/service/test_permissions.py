"""Every route × every principal answers what ``service.permissions.TABLE`` says.

One seeded database with real ids: a lone lead-paint report (its photo, thumbnail and
tracking token), another resident's report and token, a succeeded run, a finished
export with a signed link, an intervention. Each (route, principal) sends the
route's request from ``tests/service/sweep_routes.py`` (GET: its first URL; writes:
its first request), with the overrides below where a real answer needs more (a valid
body, the caller's token, a fresh object to change or delete). A new route fails
``test_every_served_route_has_a_row`` until it has a row in the table.
"""

from __future__ import annotations

import io
import random
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from geo.access import keys
from geo.evidence import exports, links
from geo.reports import photos
from service import permissions
from tests.conftest import SECRET
from tests.photo_samples import jpeg
from tests.service import sweep_routes

_SPOTS = random.Random()
KEY_OF = {"anonymous": None, "resident": None, "other_resident": None, "app": "app",
          "planner": "planner", "grant_writer": "grant_writer", "admin": "admin"}

#: GET URLs where the sweep's first one is not the request that shows the rule.
GET_URLS = {
    "/api/v1/reports/<int:report_id>": "/api/v1/reports/{id}?token={token}",
    "/open311/v2/tokens/<token>.<fmt>": "/open311/v2/tokens/{token}.json",
    "/api/v1/exports/<int:export_id>/download": "/api/v1/exports/{export}/download?{signed}",
    "/open311/v2/<path:rest>": "/open311/v2/nothing/here",
}
#: Write requests whose sweep entry is a probe, not a valid request.
WRITE_OVERRIDES: dict[tuple[str, str], tuple[str, Any]] = {
    ("POST", "/api/v1/exports"): ("/api/v1/exports", "export"),
    **{(m, "/open311/v2/<path:rest>"): ("/open311/v2/nothing/here", None)
       for m in ("POST", "PUT", "PATCH", "DELETE")},
    **{(m, "/open311/v2/"): ("/open311/v2/", None) for m in ("POST", "PUT", "PATCH", "DELETE")},
}


def _spot() -> tuple[float, float]:
    return round(_SPOTS.uniform(-35, 35), 6), round(_SPOTS.uniform(-160, 160), 6)


def _lone_report(client, api_keys, photo: str | None = None) -> dict[str, Any]:
    """A lead-paint report alone in a fresh place, from its own network."""
    lat, lng = _spot()
    body = {"service_code": "lead_paint", "lat": lat, "long": lng, "device_id": "perm-phone",
            "attributes": {"built_before_1978": "yes"}, "client_id": str(uuid.uuid4()),
            "photos": [photo] if photo else []}
    resp = client.post("/api/v1/reports", json=body, headers=api_keys.headers("app"),
                       environ_base={"REMOTE_ADDR": f"198.51.100.{_SPOTS.randint(1, 254)}"})
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    return {"id": made["id"], "rid": made["service_request_id"], "token": made["token"],
            "lat": lat, "lng": lng}


def _intervention(client, api_keys) -> int:
    lat, lng = _spot()
    resp = client.post("/api/v1/interventions", headers=api_keys.headers("planner"), json={
        "name": "Permission walk", "services": ["lead_paint"], "radius_m": 50,
        "start_date": "2025-01-01", "end_date": "2025-01-02",
        "geometry": {"type": "Point", "coordinates": [lng, lat]}})
    assert resp.status_code == 201, resp.get_json()
    return int(resp.get_json()["id"])


@pytest.fixture(scope="module")
def seeded(app, api_keys, engine, settings) -> dict[str, Any]:
    """Real ids for every route: see the module docstring."""
    client = app.test_client()
    up = client.post("/api/v1/photos", data={"file": (io.BytesIO(jpeg()), "p.jpg", "image/jpeg")},
                     headers=api_keys.headers("app"), content_type="multipart/form-data")
    assert up.status_code == 201
    photo = up.get_json()["id"]
    thumb = photos.thumbnail_path(settings.media_dir, photo)
    thumb.parent.mkdir(parents=True, exist_ok=True)
    thumb.write_bytes(jpeg())
    with engine.begin() as conn:
        photos.mark_thumbnail_ready(conn, photo)
    lone = _lone_report(client, api_keys, photo)
    other = _lone_report(client, api_keys)
    run, cell = sweep_routes.publish_lone_run(engine, lone["lat"], lone["lng"])
    with engine.begin() as conn:
        export = exports.create(conn, {"run_id": run, "services": ["lead_paint"]},
                                requested_by=None, enqueue=False)
        folder = Path(settings.export_dir) / f"permissions-{export}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / exports.zip_name(export)).write_bytes(b"PK\x05\x06" + b"\0" * 18)
        conn.execute(text("UPDATE evidence_exports SET status = 'succeeded', result_dir = :d, "
                          "finished_at = now() WHERE id = :id"), {"d": str(folder), "id": export})
    expires, signature = links.sign(SECRET, export)
    return dict(lone, photo=photo, run=run, cell=cell, export=export,
                intervention=_intervention(client, api_keys), other_token=other["token"],
                signed=f"expires={expires}&signature={signature}",
                secrets={"device": "perm-phone"})


def _token(who: str, d: dict[str, Any]) -> str:
    return {"resident": d["token"], "other_resident": d["other_token"]}.get(who, "not-a-token")


def _body(name: Any, d: dict[str, Any]) -> Any:
    """A valid body for the symbolic bodies of the sweep (reports far from the lone one)."""
    lat, lng = _spot()
    pothole = {"service_code": "pothole", "lat": lat, "long": lng}
    if name == "lead_beside":
        return dict(pothole, client_id=str(uuid.uuid4()))
    if name == "lead_batch":
        return {"reports": [dict(pothole, client_id=str(uuid.uuid4()))]}
    if name == "export":
        box = [[d["lng"] - 0.01, d["lat"] - 0.01], [d["lng"] + 0.01, d["lat"] - 0.01],
               [d["lng"] + 0.01, d["lat"] + 0.01], [d["lng"] - 0.01, d["lat"] + 0.01]]
        return {"area": {"type": "Polygon", "coordinates": [[*box, box[0]]]}, "run": d["run"],
                "formats": ["csv"], "since": "2025-01-01", "until": "2026-01-01"}
    return name


def _send(client, api_keys, engine, d, method: str, rule: str, who: str):
    """The request of ``method rule`` as ``who``."""
    headers = api_keys.headers(KEY_OF[who])
    if method == "GET":
        template = GET_URLS.get(rule) or sweep_routes.GETS[rule][0]
        v = sweep_routes.values(d) | {"token": _token(who, d), "signed": d["signed"]}
        return client.get(template.format(**v), headers=headers)
    template, body = WRITE_OVERRIDES.get((method, rule)) or sweep_routes.WRITES[(method, rule)][0]
    # What a write changes or deletes is made for this request alone.
    if "{id}" in template or "{rid}" in template:
        d = dict(d, **_lone_report(client, api_keys))
    if "{intervention}" in template:
        d = dict(d, intervention=_intervention(client, api_keys))
    if "{key}" in template:
        with engine.begin() as conn:
            d = dict(d, key=keys.issue_key(conn, "app", "permission walk").id)
    url = template.format(**sweep_routes.values(d))
    if body == "open311_beside":
        lat, lng = _spot()
        form = {"service_code": "pothole", "lat": lat, "long": lng}
        if KEY_OF[who]:
            form["api_key"] = api_keys[KEY_OF[who]]
        return client.post(url, data=form)
    if url == "/api/v1/photos":
        return client.post(url, headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(jpeg()), "p.jpg", "image/jpeg")})
    payload = _body(body, d)
    if isinstance(payload, dict):
        payload = {k: (v.format(**sweep_routes.values(d)) if isinstance(v, str) else v)
                   for k, v in payload.items()}
    return client.open(url, method=method, json=payload, headers=headers)


CASES = [(method, rule, who) for (method, rule) in permissions.TABLE
         for who in permissions.PRINCIPALS]


@pytest.mark.parametrize(("method", "rule", "who"), CASES,
                         ids=[f"{m} {r} {w}" for m, r, w in CASES])
def test_route_answers_each_principal_as_the_table_says(client, api_keys, engine, seeded, method,
                                                       rule, who):
    expected = permissions.outcome(method, rule, who)
    resp = _send(client, api_keys, engine, seeded, method, rule, who)
    got = "allowed" if 200 <= resp.status_code < 300 else resp.status_code
    if resp.status_code == 302 and resp.headers["Location"].startswith("/login?"):
        got = 401  # a page's way to say it: sign in first (service.staff.render.to_login)
    assert got == expected, (resp.status_code, resp.get_data(as_text=True)[:300])


def test_every_served_route_has_a_row(app):
    """The URL map is the list: a route without a row fails here (add one to
    service/permissions.py, and its requests to tests/service/sweep_routes.py)."""
    served = sweep_routes.served_rules(app)
    assert served - set(permissions.TABLE) == set(), "add rows to service/permissions.py"
    assert set(permissions.TABLE) - served == set(), "these rows name no route of the app"


def test_every_row_names_every_principal_with_a_known_outcome():
    for row in permissions.TABLE.values():
        assert set(row) == set(permissions.PRINCIPALS)
        assert set(row.values()) <= {"allowed", 401, 403, 404}


def test_the_security_doc_carries_the_table():
    doc = (Path(__file__).parents[2] / "docs" / "security.md").read_text()
    found = re.search(r"<!-- permissions:begin -->\n(.*?)<!-- permissions:end -->", doc, re.S)
    assert found, "docs/security.md needs the markers around the permission table"
    assert found.group(1) == permissions.markdown(), (
        "regenerate: python -c 'from service import permissions; print(permissions.markdown())'")
