"""An attacker looks for one lone lead-paint report in a run's public outputs.

Issue 9: a lead-only run without a boundary took each report's res-9 cell plus a
ring as its study area, and blanked only the counts, so anonymous OGC items,
tiles (``?run=``) and the grant writers' ``/cells`` showed the lone report's cell
with its own ``gi_z`` and rank amid six identical neighbours.

The test is the attacker's experiment: run the same analysis with and without
the lone report. Everything a caller who is not staff can read (OGC items of the
run and the latest-run areas, the run's tiles, ``/cells`` and ``/areas`` as a
grant writer) must be identical; a planner's cells must differ (the report was
analysed, and only the public twin leaves it out).
"""

from __future__ import annotations

import datetime as dt
import math

import h3
import mapbox_vector_tile
import numpy as np
import pytest

from geo.hotspots.engine import execute
from geo.hotspots.params import RunParams
from geo.hotspots.runs import create_run
from geo.reports.intake import NewReport, insert, prepare
from geo.services import services_by_code
from tests.cities import SECRET, empty
from tests.cities.scatter import CENTRE, add_reports, cell_centre, scatter

TODAY = dt.date.today()
#: The victim's home, ~2 km from the lead-paint cluster.
VICTIM = (CENTRE[0] + 0.018, CENTRE[1] + 0.004)


def _lead(engine, points: list[tuple[float, float]], devices: list[str], days: list[int]) -> None:
    """Lead-paint reports, imported (each counts by its device)."""
    with engine.begin() as conn:
        services = services_by_code(conn)
        rows = [
            prepare(NewReport(
                service_code="lead_paint", lat=lat, long=lng, device_id=device, source="import",
                attributes={"built_before_1978": "yes"}, trusted=True,
                requested_at=dt.datetime.combine(TODAY - dt.timedelta(days=day), dt.time(12),
                                                 tzinfo=dt.UTC),
            ), services, secret=SECRET)
            for (lat, lng), device, day in zip(points, devices, days, strict=True)
        ]
        insert(conn, rows, secret=SECRET)


def _tile(lat: float, lng: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lng + 180.0) / 360.0 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


@pytest.fixture
def city(engine, services_loaded):
    """Potholes everywhere; lead paint from five households in one res-8 cell."""
    empty(engine)
    rng = np.random.default_rng(23)
    add_reports(engine, scatter(rng, 300, spread_m=3500), service="pothole",
                days_ago=rng.integers(1, 300, 300).tolist(), today=TODAY)
    cluster = h3.latlng_to_cell(*CENTRE, 9)
    homes = [cell_centre(h3.str_to_int(c)) for c in h3.grid_disk(cluster, 1)]
    _lead(engine, homes * 3, [f"home-{i % 5}" for i in range(len(homes) * 3)],
          rng.integers(1, 300, len(homes) * 3).tolist())
    return engine


def _run(engine, services: list[str]) -> int:
    with engine.begin() as conn:
        run_id = create_run(conn, RunParams.from_dict({"services": services, "rings": 1}),
                            enqueue=False)
    assert execute(engine, run_id, today=TODAY) == "succeeded"
    return run_id


def _features(features: list[dict]) -> list[dict]:
    """Features without the run's id, which differs between the two runs by design."""
    out = []
    for f in features:
        props = {k: v for k, v in f["properties"].items() if k != "run_id"}
        out.append({"id": f.get("id"), "geometry": f.get("geometry"), "properties": props})
    return sorted(out, key=lambda f: str(f["id"]))


def _tiles(client, run_id: int, headers: dict) -> list:
    out = []
    for point in (VICTIM, CENTRE):
        for z in (12, 14):
            _, x, y = _tile(*point, z)
            resp = client.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt?run={run_id}", headers=headers)
            assert resp.status_code == 200
            layers = mapbox_vector_tile.decode(resp.data) if resp.data else {}
            out.append({name: _features(layer["features"]) for name, layer in layers.items()})
    return out


def _public_view(client, api_keys, run_id: int) -> dict:
    """Everything anonymous callers and grant writers can read of run ``run_id``."""
    items = client.get(f"/ogc/collections/hotspot-run-{run_id}/items?limit=10000").get_json()
    assert items["numberMatched"] == items["numberReturned"]
    areas = client.get("/ogc/collections/hotspot-areas/items?limit=10000").get_json()
    writer = api_keys.headers("grant_writer")
    cells = client.get(f"/api/v1/hotspot-runs/{run_id}/cells", headers=writer).get_json()
    run_areas = client.get(f"/api/v1/hotspot-runs/{run_id}/areas", headers=writer).get_json()
    return {
        "ogc_cells": _features(items["features"]),
        "ogc_areas": _features(areas["features"]),
        "api_cells": _features(cells["features"]),
        "api_areas": _features(run_areas["features"]),
        "tiles": _tiles(client, run_id, {}),
        "tiles_grant_writer": _tiles(client, run_id, writer),
    }


@pytest.mark.parametrize("services", [["lead_paint"], []], ids=["lead-only", "city-wide"])
def test_a_lone_lead_report_changes_nothing_the_public_can_read(
    client, api_keys, city, services
):
    before = _run(city, services)
    seen_before = _public_view(client, api_keys, before)
    _lead(city, [VICTIM], ["victim"], [12])
    after = _run(city, services)
    seen_after = _public_view(client, api_keys, after)

    for surface, features in seen_before.items():
        assert seen_after[surface] == features, surface
    # The public saw something (the cluster meets the rule) …
    assert seen_after["ogc_cells"] and seen_after["api_cells"]
    assert all(c["id"] for c in seen_after["api_cells"])
    # … at resolution 8 at most: never finer than the rule's cells.
    assert {h3.get_resolution(c["id"]) for c in seen_after["api_cells"]} <= {8}

    # Staff see the run itself: the lone report is in it.
    planner = api_keys.headers("planner")
    staff = [client.get(f"/api/v1/hotspot-runs/{r}/cells", headers=planner).get_json()
             for r in (before, after)]
    victim_cell = h3.latlng_to_cell(*VICTIM, 9)
    reports = {f["id"]: f["properties"]["reports"] for f in staff[1]["features"]}
    assert reports.get(victim_cell, 0) >= 1
    assert _features(staff[0]["features"]) != _features(staff[1]["features"])
