"""Vector tiles: decoded contents per layer and caller, addressing errors, gzip, ETag and 304."""

from __future__ import annotations

import gzip
import math

import h3
import mapbox_vector_tile
import pytest
from sqlalchemy import event, text

from geo.h3cells import cell_of, parent

MVT = "application/vnd.mapbox-vector-tile"


def tile_of(lat: float, lng: float, z: int) -> tuple[int, int, int]:
    """The XYZ tile holding a point."""
    n = 2**z
    x = int((lng + 180.0) / 360.0 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def _get(client, url, role=None, api_keys=None, **headers):
    if role:
        headers["Authorization"] = f"Bearer {api_keys[role]}"
    return client.get(url, headers=headers)


def _decode(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == MVT
    return mapbox_vector_tile.decode(resp.data) if resp.data else {}


def _tiles_around(lat, lng, z, rings=1):
    _, x, y = tile_of(lat, lng, z)
    span = range(-rings, rings + 1)
    return [(z, x + dx, y + dy) for dx in span for dy in span]


def _cells_in(engine, run, z, x, y, margin):
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT to_hex(h3) FROM hotspot_cells WHERE run_id = :r AND "
                 "ST_Intersects(ST_Transform(geom, 3857), "
                 "ST_TileEnvelope(:z, :x, :y, margin => :m))"),
            {"r": run, "z": z, "x": x, "y": y, "m": margin},
        ).scalars()
        return set(rows)


@pytest.mark.parametrize("z", [12, 13, 14])
def test_hotspot_tile_holds_the_cells_of_the_latest_run(client, city, engine, z):
    tz, tx, ty = tile_of(*h3.cell_to_latlng(h3.int_to_str(city.hot_cells[0])), z)
    layers = _decode(client.get(f"/tiles/hotspots/{tz}/{tx}/{ty}.mvt"))
    got = {f["properties"]["h3"] for f in layers["hotspots"]["features"]}
    inside = _cells_in(engine, city.latest_run, tz, tx, ty, 0)
    with_buffer = _cells_in(engine, city.latest_run, tz, tx, ty, 64 / 4096)
    assert inside <= got <= with_buffer and inside
    hot = next(f for f in layers["hotspots"]["features"]
               if f["properties"]["h3"] == h3.int_to_str(city.hot_cells[0]))
    assert hot["properties"]["gi_bin"] == 3 and hot["properties"]["trend"] == "intensifying"
    assert hot["geometry"]["type"] == "Polygon"
    assert {"gi_z", "gi_p", "n_neighbors", "priority_score", "priority_rank", "no_data"} <= set(
        hot["properties"])
    assert layers["hotspot_areas"]["features"][0]["properties"]["priority_rank"] == 1


def test_hotspot_tile_hides_small_counts_from_the_public(client, api_keys, city):
    small = {h3.int_to_str(c) for c in city.small_cells}
    lat, lng = h3.cell_to_latlng(h3.int_to_str(city.small_cells[0]))
    for role, hidden in ((None, True), ("grant_writer", True), ("planner", False)):
        seen = set()
        for z, x, y in _tiles_around(lat, lng, 14):
            resp = _get(client, f"/tiles/hotspots/{z}/{x}/{y}.mvt", role, api_keys)
            for f in _decode(resp).get("hotspots", {}).get("features", []):
                if f["properties"]["h3"] in small:
                    seen.add(f["properties"]["h3"])
                    assert ("reports" not in f["properties"]) is hidden, role
        assert seen == small


def test_hotspot_tile_of_a_given_run(client, city, engine):
    z, x, y = tile_of(*h3.cell_to_latlng(h3.int_to_str(city.hot_cells[0])), 14)
    layers = _decode(client.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt?run={city.older_run}"))
    got = {f["properties"]["h3"] for f in layers.get("hotspots", {}).get("features", [])}
    assert got <= _cells_in(engine, city.older_run, z, x, y, 64 / 4096)
    assert got != {f["properties"]["h3"] for f in _decode(
        client.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt"))["hotspots"]["features"]}
    for run, status in ((999_999_999, 404), (city.queued_run, 404), ("abc", 400), ("0", 400)):
        resp = client.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt?run={run}")
        assert resp.status_code == status
        assert resp.get_json()["detail"].startswith("run:")


def test_an_empty_tile_is_a_200_with_no_body(client, city):
    z, x, y = tile_of(-40.0, -30.0, 14)  # the South Atlantic
    for layer in ("hotspots", "reports", "boundaries"):
        resp = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"})
        assert resp.status_code == 200 and resp.data == b"" and resp.mimetype == MVT
        assert "Content-Encoding" not in resp.headers
    assert client.get(f"/tiles/reports/10/{x >> 4}/{y >> 4}.mvt").data == b""


@pytest.mark.parametrize(
    ("path", "name"),
    [("23/0/0", "z"), ("-1/0/0", "z"), ("abc/0/0", "z"), ("3/8/0", "x"), ("3/0/8", "y"),
     ("0/1/0", "x"), ("3/x/1", "x"), ("3/1/1.5", "y"), ("99999999999/0/0", "z")],
)
def test_out_of_range_addresses_are_400_naming_the_parameter(client, path, name):
    resp = client.get(f"/tiles/hotspots/{path}.mvt")
    assert resp.status_code == 400
    assert resp.get_json()["detail"].startswith(f"{name}:")


def test_extreme_valid_addresses_work(client):
    assert client.get("/tiles/hotspots/0/0/0.mvt").status_code == 200
    assert client.get(f"/tiles/boundaries/22/{2**22 - 1}/{2**22 - 1}.mvt").status_code == 200


def test_unknown_layer_is_404_and_unknown_parameters_400(client):
    assert client.get("/tiles/roads/1/0/0.mvt").status_code == 404
    assert client.get("/tiles/roads.json").status_code == 404
    for url, name in (("/tiles/hotspots/1/0/0.mvt?kind=city", "kind"),
                      ("/tiles/boundaries/1/0/0.mvt?kind=county", "kind"),
                      ("/tiles/reports/1/0/0.mvt?since=soon", "since"),
                      ("/tiles/reports/1/0/0.mvt?since=2024-05-01&until=2024-01-01", "until"),
                      ("/tiles/reports.json?colour=red", "colour")):
        resp = client.get(url)
        assert resp.status_code == 400 and resp.get_json()["detail"].startswith(f"{name}:")


def test_gzip_when_accepted(client, city):
    z, x, y = tile_of(*h3.cell_to_latlng(h3.int_to_str(city.hot_cells[0])), 13)
    plain = client.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt")
    packed = client.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt",
                        headers={"Accept-Encoding": "gzip, br"})
    refused = client.get(f"/tiles/hotspots/{z}/{x}/{y}.mvt",
                         headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data)
    assert plain.headers["ETag"] == packed.headers["ETag"]  # weak: the same tile


def test_if_none_match_is_304_without_running_tile_sql(app, client, api_keys, city):
    z, x, y = tile_of(*h3.cell_to_latlng(h3.int_to_str(city.hot_cells[0])), 14)
    url = f"/tiles/hotspots/{z}/{x}/{y}.mvt"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and first.headers["Cache-Control"].startswith("public")
    assert "Authorization" in first.headers["Vary"]
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    eng = app.extensions["civicpulse.engine"]
    event.listen(eng, "before_cursor_execute", record)
    try:
        again = client.get(url, headers={"If-None-Match": f'"other", {etag}'})
    finally:
        event.remove(eng, "before_cursor_execute", record)
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert statements and not any("ST_AsMVT" in s for s in statements)
    # The same public view for an app key; a staff view is another, private, tag.
    assert _get(client, url, "app", api_keys).headers["ETag"] == etag
    staff = _get(client, url, "planner", api_keys)
    assert staff.headers["ETag"] != etag and staff.headers["Cache-Control"].startswith("private")
    assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_report_tile_etag_changes_with_the_data(client, engine, city):
    z, x, y = tile_of(*city.points["flood1"], 12)
    url = f"/tiles/reports/{z}/{x}/{y}.mvt"
    before = client.get(url).headers["ETag"]
    assert client.get(url).headers["ETag"] == before
    with engine.begin() as conn:
        conn.execute(text("UPDATE reports SET status = 'closed' WHERE public_id = :p"),
                     {"p": city.reports["flood3"]})
    assert client.get(url).headers["ETag"] != before


def _report_cells(client, api_keys, city, role, z, query=""):
    cells = {}
    for tz, tx, ty in _tiles_around(*city.centre, z, rings=2 if z == 13 else 1):
        resp = _get(client, f"/tiles/reports/{tz}/{tx}/{ty}.mvt{query}", role, api_keys)
        for f in _decode(resp).get("report_cells", {}).get("features", []):
            cells[f["properties"]["h3"]] = f["properties"]
    return cells


@pytest.mark.parametrize("z", [12, 13])
def test_report_cells_count_what_the_caller_may_see(client, api_keys, city, z):
    anon = _report_cells(client, api_keys, city, None, z)
    staff = _report_cells(client, api_keys, city, "planner", z)
    hidden = {h3.int_to_str(parent(cell_of(*city.points[k]), 8)) for k in ("lead_b1", "lead_c1")}
    assert {p["resolution"] for p in anon.values()} == {8}
    assert {p["resolution"] for p in staff.values()} == {z - 4}
    assert not hidden & set(anon)
    # Public: 3 floods + 1 pothole (the duplicate is not a second problem) + 3 visible lead.
    assert sum(p["reports"] for p in anon.values()) == 7
    assert sum(p["reports"] for p in staff.values()) == 12
    only_flood = _report_cells(client, api_keys, city, None, z, "?service=flooding")
    assert sum(p["reports"] for p in only_flood.values()) == 3
    spring = _report_cells(client, api_keys, city, "planner", z,
                           "?since=2024-03-01&until=2024-04-01")
    assert sum(p["reports"] for p in spring.values()) == 6  # flood2, lead_b1-2, lead_c1-3


def test_report_points_from_zoom_14_only_where_allowed(client, api_keys, city):
    tiles = {tile_of(*pt, 14) for pt in city.points.values()}
    seen = {None: set(), "planner": set()}
    for role in seen:
        for z, x, y in tiles:
            resp = _get(client, f"/tiles/reports/{z}/{x}/{y}.mvt", role, api_keys)
            layers = _decode(resp)
            assert "report_cells" not in layers
            for f in layers.get("report_points", {}).get("features", []):
                seen[role].add(f["properties"]["id"])
                assert f["geometry"]["type"] == "Point" and set(f["properties"]) == {
                    "id", "service_code", "status", "requested_at"}
    ids = city.reports
    public = {ids[k] for k in ("flood1", "flood2", "flood3", "pothole1")}
    assert seen[None] & set(ids.values()) == public
    assert seen["planner"] & set(ids.values()) == set(ids.values()) - {ids["pothole2"]}


def test_boundary_tiles_and_kind_filter(client, city, engine):
    z, x, y = tile_of(*city.centre, 12)
    layers = _decode(client.get(f"/tiles/boundaries/{z}/{x}/{y}.mvt"))
    props = [f["properties"] for f in layers["boundaries"]["features"]]
    assert set(city.boundary_ids) <= {p["id"] for p in props}
    mine = [p for p in props if p["id"] in city.boundary_ids]
    assert sorted(p["kind"] for p in mine) == ["city", "district", "district"]
    districts = _decode(client.get(f"/tiles/boundaries/{z}/{x}/{y}.mvt?kind=district"))
    assert {f["properties"]["kind"] for f in districts["boundaries"]["features"]} == {"district"}


@pytest.mark.parametrize("layer", ["hotspots", "reports", "boundaries"])
def test_tilejson_describes_each_layer(client, city, layer):
    resp = client.get(f"/tiles/{layer}.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == [f"http://localhost/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"]
    assert 0 <= doc["minzoom"] < doc["maxzoom"] <= 22
    x0, y0, x1, y1 = doc["bounds"]
    assert -180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90
    assert all(layer_doc["fields"] for layer_doc in doc["vector_layers"])
    if layer == "hotspots":
        fields = doc["vector_layers"][0]["fields"]
        assert {"h3", "gi_bin", "gi_z", "trend", "priority_rank"} <= set(fields)
        assert x0 <= city.centre[1] <= x1 and y0 <= city.centre[0] <= y1


def test_tilejson_carries_the_filters_into_the_tile_urls(client, city):
    doc = client.get(f"/tiles/hotspots.json?run={city.older_run}").get_json()
    assert doc["tiles"][0].endswith(f"/tiles/hotspots/{{z}}/{{x}}/{{y}}.mvt?run={city.older_run}")
    assert client.get("/tiles/hotspots.json?run=999999999").status_code == 404
    assert client.get(f"/tiles/hotspots.json?run={city.queued_run}").status_code == 404


def test_a_bad_key_is_401_on_tiles(client, city):
    resp = client.get("/tiles/hotspots/1/0/0.mvt", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401
