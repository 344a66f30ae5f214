"""Every route the app serves, as requests the privacy sweep sends (not a test module).

``GETS`` and ``WRITES`` are keyed by the URL rule exactly as Flask's URL map spells it;
``tests/service/test_privacy_sweep.py`` fails when a rule of the app is missing here,
so a new route cannot escape the sweep. Each entry lists concrete requests about the
seeded report, formatted with :func:`values` (its ids, point, photo, run and cell).
"""

from __future__ import annotations

import math
from typing import Any

import h3
import numpy as np

from geo.hotspots.params import RunParams
from geo.hotspots.publish import AreaResult, CellResult, publish
from geo.hotspots.runs import create_run

#: GET rule → URL templates.
GETS: dict[str, list[str]] = {
    "/api/v1/audit": ["/api/v1/audit?page_size=250"],
    "/app/": ["/app/"],
    "/app/i18n/<language>.json": ["/app/i18n/es.json"],
    "/app/manifest.webmanifest": ["/app/manifest.webmanifest"],
    "/app/services.json": ["/app/services.json"],
    "/app/static/<path:filename>": ["/app/static/app.js"],
    "/app/sw.js": ["/app/sw.js"],
    "/basemap/basemap.pmtiles": ["/basemap/basemap.pmtiles"],
    "/basemap/static/<path:filename>": ["/basemap/static/basemap.js"],
    "/basemap/style.json": ["/basemap/style.json"],
    "/api/v1/exports": ["/api/v1/exports?page_size=100"],
    "/api/v1/exports/<int:export_id>": ["/api/v1/exports/{export}"],
    "/api/v1/exports/<int:export_id>/download": [
        "/api/v1/exports/{export}/download?expires=1&signature=00"],
    "/api/v1/hotspot-runs": ["/api/v1/hotspot-runs"],
    "/api/v1/interventions": ["/api/v1/interventions"],
    "/api/v1/keys": ["/api/v1/keys"],
    "/api/v1/interventions/<int:intervention_id>": ["/api/v1/interventions/{intervention}"],
    "/api/v1/interventions/<int:intervention_id>/evaluation": [
        "/api/v1/interventions/{intervention}/evaluation"],
    "/api/v1/hotspot-runs/<int:run_id>": ["/api/v1/hotspot-runs/{run}"],
    "/api/v1/hotspot-runs/<int:run_id>/areas": ["/api/v1/hotspot-runs/{run}/areas"],
    "/api/v1/hotspot-runs/<int:run_id>/cells": ["/api/v1/hotspot-runs/{run}/cells"],
    "/api/v1/photos/<uuid:photo_id>": ["/api/v1/photos/{photo}"],
    "/api/v1/photos/<uuid:photo_id>/thumbnail": ["/api/v1/photos/{photo}/thumbnail"],
    "/api/v1/reports": ["/api/v1/reports?service_code=lead_paint"],
    "/api/v1/reports/<int:report_id>": [
        "/api/v1/reports/{id}", "/api/v1/reports/{rid}", "/api/v1/reports/{id}?token=not-it"],
    "/api/v1/reports/nearby": [
        "/api/v1/reports/nearby?service_code=lead_paint&lat={lat}&long={lng}",
        "/api/v1/reports/nearby?service_code=lead_paint&lat={near_lat}&long={lng}"],
    "/docs": ["/docs"],
    "/docs/": ["/docs/"],
    "/docs/static/<path:filename>": ["/docs/static/docs.js"],
    "/healthz": ["/healthz"],
    "/login": ["/login", "/login?next=/staff/"],
    "/login/oidc": ["/login/oidc?next=/staff/"],
    "/login/oidc/callback": ["/login/oidc/callback?code=x&state=y"],
    "/readyz": ["/readyz"],
    "/metrics": ["/metrics"],
    "/ogc/": ["/ogc/", "/ogc/?f=html"],
    "/ogc/api": ["/ogc/api"],
    "/ogc/api.html": ["/ogc/api.html"],
    "/ogc/collections": ["/ogc/collections"],
    "/ogc/collections/<collection_id>": [
        "/ogc/collections/reports", "/ogc/collections/hotspot-run-{run}"],
    "/ogc/collections/<collection_id>/items": [
        "/ogc/collections/reports/items?bbox={box}&limit=1000",
        "/ogc/collections/reports/items?bbox={box}&limit=1000&f=html",
        "/ogc/collections/reports/items?service_code=lead_paint&limit=1000",
        "/ogc/collections/hotspot-run-{run}/items?limit=1000",
        "/ogc/collections/hotspot-run-{run}/items?limit=1000&f=html",
        "/ogc/collections/hotspot-areas/items?limit=1000",
        "/ogc/collections/hotspots/items?bbox={box}&limit=1000",
        "/ogc/collections/interventions/items?bbox={box}&limit=1000"],
    "/ogc/collections/<collection_id>/items/<feature_id>": [
        "/ogc/collections/reports/items/{rid}", "/ogc/collections/reports/items/{rid}?f=html",
        "/ogc/collections/hotspot-run-{run}/items/{cell}"],
    "/ogc/collections/hotspot-runs/<int:run_id>": ["/ogc/collections/hotspot-runs/{run}"],
    "/ogc/collections/hotspot-runs/<int:run_id>/items": [
        "/ogc/collections/hotspot-runs/{run}/items?limit=1000"],
    "/ogc/collections/hotspot-runs/<int:run_id>/items/<feature_id>": [
        "/ogc/collections/hotspot-runs/{run}/items/{cell}"],
    "/ogc/conformance": ["/ogc/conformance"],
    "/open311/v2/": ["/open311/v2/"],
    "/open311/v2/<path:rest>": ["/open311/v2/requests/{rid}"],
    "/open311/v2/discovery.<fmt>": ["/open311/v2/discovery.json", "/open311/v2/discovery.xml"],
    "/open311/v2/requests.<fmt>": [
        "/open311/v2/requests.json?service_code=lead_paint&page_size=200",
        "/open311/v2/requests.xml?service_code=lead_paint&page_size=200",
        "/open311/v2/requests.json?page_size=200",
        "/open311/v2/requests.json?lat={lat}&long={lng}&radius=100",
        "/open311/v2/requests.xml?lat={lat}&long={lng}&radius=100",
        "/open311/v2/requests.json?service_request_id={rid}"],
    "/open311/v2/requests/<request_id>.<fmt>": [
        "/open311/v2/requests/{rid}.json", "/open311/v2/requests/{rid}.xml"],
    "/open311/v2/services.<fmt>": ["/open311/v2/services.json"],
    "/open311/v2/services/<code>.<fmt>": ["/open311/v2/services/lead_paint.json"],
    "/open311/v2/tokens/<token>.<fmt>": ["/open311/v2/tokens/not-the-token.json"],
    "/openapi.json": ["/openapi.json"],
    "/planner/": ["/planner/"],
    "/planner/static/<path:filename>": ["/planner/static/planner.js"],
    "/planner/whoami": ["/planner/whoami"],
    "/static/<path:filename>": ["/static/civicpulse.css", "/static/none.txt"],
    "/staff/": ["/staff/"],
    "/staff/admin": ["/staff/admin"],
    "/staff/reports": ["/staff/reports?service=lead_paint", "/staff/reports?status=bogus"],
    "/staff/reports/<int:report_id>": ["/staff/reports/{id}"],
    "/staff/evidence": ["/staff/evidence"],
    "/tiles/<layer>.json": ["/tiles/reports.json", "/tiles/hotspots.json?run={run}"],
    "/tiles/<layer>/<z>/<x>/<y>.mvt": [
        "/tiles/reports/{t9}.mvt", "/tiles/reports/{t12}.mvt", "/tiles/reports/{t16}.mvt",
        "/tiles/reports/{t12}.mvt?service=lead_paint", "/tiles/hotspots/{t12}.mvt?run={run}",
        "/tiles/hotspots/{t16}.mvt?run={run}", "/tiles/interventions/{t12}.mvt"],
}

#: (method, rule) → (URL template, JSON body) requests that write. They run after the
#: read checks, as each non-staff role; a fake report from every key sits beside the
#: seeded one (that must still not unmask it).
WRITES: dict[tuple[str, str], list[tuple[str, Any]]] = {
    ("POST", "/api/v1/reports"): [("/api/v1/reports", "lead_beside")],
    ("POST", "/api/v1/reports/batch"): [("/api/v1/reports/batch", "lead_batch")],
    ("POST", "/api/v1/reports/<int:report_id>/confirmations"): [
        ("/api/v1/reports/{id}/confirmations", {"device_id": "{device}"})],
    ("PATCH", "/api/v1/reports/<int:report_id>"): [("/api/v1/reports/{id}", {"status": "closed"})],
    ("POST", "/api/v1/photos"): [("/api/v1/photos", None)],
    ("POST", "/api/v1/exports"): [("/api/v1/exports", {"area": {"boundary_id": 999999}})],
    ("POST", "/api/v1/hotspot-runs"): [("/api/v1/hotspot-runs", {"services": ["lead_paint"]})],
    ("POST", "/api/v1/interventions"): [("/api/v1/interventions", {
        "name": "Sweep", "services": ["lead_paint"], "radius_m": 50, "start_date": "2025-01-01",
        "end_date": "2025-01-02", "geometry": {"type": "Point", "coordinates": [0, 0]}})],
    ("PATCH", "/api/v1/interventions/<int:intervention_id>"): [
        ("/api/v1/interventions/{intervention}", {"notes": "x"})],
    ("DELETE", "/api/v1/interventions/<int:intervention_id>"): [
        ("/api/v1/interventions/{intervention}", None)],
    ("POST", "/api/v1/interventions/<int:intervention_id>/evaluation"): [
        ("/api/v1/interventions/{intervention}/evaluation", {})],
    ("POST", "/api/v1/keys"): [("/api/v1/keys", {"role": "app", "name": "sweep"})],
    ("DELETE", "/api/v1/keys/<int:key_id>"): [("/api/v1/keys/{key}", None)],
    ("POST", "/login"): [("/login", {"email": "{device}@city.test", "password": "x"})],
    ("POST", "/logout"): [("/logout", None)],
    ("POST", "/staff/reports/<int:report_id>"): [
        ("/staff/reports/{id}", {"status": "closed", "status_notes": "x"})],
    ("POST", "/staff/reports/bulk"): [
        ("/staff/reports/bulk", {"report": "{id}", "status": "acknowledged"})],
    ("POST", "/staff/admin/keys"): [("/staff/admin/keys", {"role": "app", "name": "sweep"})],
    ("POST", "/staff/admin/keys/<int:key_id>/revoke"): [("/staff/admin/keys/{key}/revoke", None)],
    ("POST", "/staff/admin/users"): [
        ("/staff/admin/users", {"email": "sweep-{device}@city.test", "role": "planner"})],
    ("POST", "/staff/admin/users/<int:user_id>"): [
        ("/staff/admin/users/999999", {"role": "planner"})],
    ("POST", "/open311/v2/requests.<fmt>"): [("/open311/v2/requests.json", "open311_beside")],
    # The catch-all answers 404/405 for every method; GET is swept above.
    ("POST", "/open311/v2/"): [("/open311/v2/", None)],
    ("POST", "/open311/v2/<path:rest>"): [("/open311/v2/requests/{rid}", None)],
    ("PUT", "/open311/v2/"): [("/open311/v2/", None)],
    ("PUT", "/open311/v2/<path:rest>"): [("/open311/v2/requests/{rid}.json", None)],
    ("PATCH", "/open311/v2/"): [("/open311/v2/", None)],
    ("PATCH", "/open311/v2/<path:rest>"): [("/open311/v2/requests/{rid}.json", None)],
    ("DELETE", "/open311/v2/"): [("/open311/v2/", None)],
    ("DELETE", "/open311/v2/<path:rest>"): [("/open311/v2/requests/{rid}.json", None)],
}


def tile(lat: float, lng: float, z: int) -> str:
    """``z/x/y`` of the web-mercator tile holding a point."""
    n = 2**z
    x = int((lng + 180.0) / 360.0 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"{z}/{x}/{y}"


def values(d: dict[str, Any]) -> dict[str, Any]:
    """Template values for the seeded report ``d`` (ids, point, photo, run, cell)."""
    lat, lng = d["lat"], d["lng"]
    return {
        "id": d["id"], "rid": d["rid"], "photo": d["photo"], "run": d["run"], "cell": d["cell"],
        "export": d.get("export", 999999), "intervention": d.get("intervention", 999999),
        "key": d.get("key", 999999), "device": d["secrets"]["device"],
        "lat": lat, "lng": lng, "near_lat": round(lat + 0.0001, 6),
        "box": f"{lng - 0.01},{lat - 0.01},{lng + 0.01},{lat + 0.01}",
        "t9": tile(lat, lng, 9), "t12": tile(lat, lng, 12), "t16": tile(lat, lng, 16),
    }


def get_urls(d: dict[str, Any]) -> list[str]:
    """Every GET of :data:`GETS` about ``d``."""
    v = values(d)
    return [t.format(**v) for templates in GETS.values() for t in templates]


def swept_rules() -> set[tuple[str, str]]:
    """``(method, rule)`` pairs the sweep sends requests to."""
    return {("GET", rule) for rule in GETS} | set(WRITES)


def served_rules(app: Any) -> set[tuple[str, str]]:
    """``(method, rule)`` pairs the app serves (HEAD and OPTIONS answer like GET / Allow)."""
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def publish_lone_run(engine: Any, lat: float, lng: float) -> tuple[int, str]:
    """A succeeded lead-paint run whose only non-empty cell (res 9, holding the point) has
    one reporter, 7 reports and weight 21; its id and that cell's H3 id."""
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
    return run, h3.int_to_str(cell)
