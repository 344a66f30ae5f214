"""OGC API - Features Part 1 Core: resources, links, media types, paging and parameters."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import h3
import pytest
from sqlalchemy import text

from tests.cities.ogc import synthetic_run

OAS30 = "application/vnd.oai.openapi+json;version=3.0"
CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"


def _rels(doc):
    return {(ln["rel"], ln["type"]): ln["href"] for ln in doc["links"]}


def _path(url):
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def _cell_count(engine, run, where="true", **params):
    with engine.connect() as conn:
        return conn.execute(
            text(f"SELECT count(*) FROM hotspot_cells WHERE run_id = :r AND {where}"),
            {"r": run, **params},
        ).scalar_one()


def test_landing_page_links_everything_typed(client):
    resp = client.get("/ogc/")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    rels = _rels(resp.get_json())
    assert rels[("service-desc", OAS30)].endswith("/ogc/api")
    assert rels[("service-doc", "text/html")].endswith("/ogc/api.html")
    assert rels[("conformance", "application/json")].endswith("/ogc/conformance")
    assert rels[("data", "application/json")].endswith("/ogc/collections")
    assert ("self", "application/json") in rels and ("alternate", "text/html") in rels
    # No trailing slash: same document, no redirect (OWSLib and GDAL strip it).
    assert client.get("/ogc").status_code == 200


def test_landing_page_html_for_browsers_json_for_wildcards(client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get("/ogc/", headers={"Accept": browser}).mimetype == "text/html"
    assert client.get("/ogc/", headers={"Accept": "*/*"}).mimetype == "application/json"
    assert client.get("/ogc/?f=html").mimetype == "text/html"
    assert client.get("/ogc/?f=json", headers={"Accept": browser}).mimetype == "application/json"


def test_conformance_lists_the_classes_served(client):
    doc = client.get("/ogc/conformance").get_json()
    assert set(doc["conformsTo"]) == {CONF + c for c in ("core", "geojson", "html", "oas30")}


def test_api_document_is_openapi_30_with_limit_and_filters(client, city):
    resp = client.get("/ogc/api")
    assert resp.status_code == 200 and resp.mimetype == OAS30.split(";")[0]
    assert resp.headers["Content-Type"].startswith(OAS30)
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.0")
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 10_000, 100)
    names = [p["$ref"].rsplit("/", 1)[-1]
             for p in doc["paths"]["/collections/hotspots/items"]["get"]["parameters"]]
    assert {"bbox", "datetime", "limit", "offset", "gi_bin", "trend"} <= set(names)
    reports = doc["paths"]["/collections/reports/items"]["get"]["parameters"]
    assert {"service_code", "status"} <= {p["$ref"].rsplit("/", 1)[-1] for p in reports}
    # Every status code the views use is declared (oas30 class).
    assert {"200", "400", "401", "404"} <= set(
        doc["paths"]["/collections/hotspots/items"]["get"]["responses"])
    assert client.get("/ogc/api.html").mimetype == "text/html"


def test_collections_list_every_collection_with_extent(client, city, engine):
    resp = client.get("/ogc/collections")
    assert resp.mimetype == "application/json"
    colls = {c["id"]: c for c in resp.get_json()["collections"]}
    assert {"hotspots", "hotspot-areas", "reports", "boundaries",
            f"hotspot-run-{city.latest_run}", f"hotspot-run-{city.older_run}"} <= set(colls)
    assert f"hotspot-run-{city.queued_run}" not in colls
    for c in colls.values():
        assert c["itemType"] == "feature"
        items = [ln for ln in c["links"] if ln["rel"] == "items"]
        assert {ln["type"] for ln in items} == {"application/geo+json", "text/html"}
        assert all("rel" in ln and "type" in ln for ln in c["links"])
    hot = colls["hotspots"]
    with engine.connect() as conn:
        box = conn.execute(
            text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                 "(SELECT ST_Extent(geom) e FROM hotspot_cells WHERE run_id = :r) x"),
            {"r": city.latest_run},
        ).one()
    assert hot["extent"]["spatial"]["bbox"] == [pytest.approx(list(box))]
    assert hot["extent"]["spatial"]["crs"].endswith("CRS84")
    # The standing run has no start; an ad-hoc run's period is its own.
    assert hot["extent"]["temporal"]["interval"][0][0] is None
    period = colls[f"hotspot-run-{city.period_run}"]["extent"]["temporal"]["interval"]
    assert period == [["2024-01-01T00:00:00Z", "2024-07-01T00:00:00Z"]]
    older = colls[f"hotspot-run-{city.older_run}"]["extent"]["temporal"]["interval"]
    assert older == [["2023-01-01T00:00:00Z", "2023-07-01T00:00:00Z"]]


@pytest.mark.parametrize("cid", ["hotspots", "hotspot-areas", "reports", "boundaries"])
def test_collection_equals_its_entry_in_collections(client, city, cid):
    listed = {c["id"]: c for c in client.get("/ogc/collections").get_json()["collections"]}
    assert client.get(f"/ogc/collections/{cid}").get_json() == listed[cid]


def test_items_are_geojson_with_exact_counts_and_contract_fields(client, city, engine):
    resp = client.get("/ogc/collections/hotspots/items")
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    doc = resp.get_json()
    assert doc["type"] == "FeatureCollection"
    assert doc["numberMatched"] == _cell_count(engine, city.latest_run) == len(city.cells)
    assert doc["numberReturned"] == len(doc["features"]) == 100  # the default limit
    assert doc["timeStamp"].endswith("Z")
    feature = doc["features"][0]
    assert h3.is_valid_cell(feature["id"]) and feature["id"] == feature["properties"]["h3"]
    assert {"h3", "reports", "weight", "gi_z", "gi_p", "gi_bin", "n_neighbors", "trend",
            "priority_score", "priority_rank", "no_data", "area_id"} <= set(feature["properties"])
    assert feature["geometry"]["type"] == "Polygon"


def test_paging_follows_next_links_through_every_cell(client, city):
    seen, url, pages = [], "/ogc/collections/hotspots/items?limit=50&gi_bin=0", 0
    while url:
        doc = client.get(url).get_json()
        seen += [f["id"] for f in doc["features"]]
        links = {ln["rel"]: ln for ln in doc["links"]}
        assert links["self"]["type"] == "application/geo+json"
        if pages:
            assert links["prev"]["type"] == "application/geo+json"
        nxt = links.get("next")
        if nxt:
            assert nxt["type"] == "application/geo+json"
            assert parse_qs(urlsplit(nxt["href"]).query)["gi_bin"] == ["0"]  # filters kept
        url = _path(nxt["href"]) if nxt else None
        pages += 1
    expected = [c for i, c in enumerate(city.cells) if not i < 6]
    assert sorted(seen) == sorted(h3.int_to_str(c) for c in expected)
    assert len(set(seen)) == len(seen) and pages == -(-len(expected) // 50)


def test_limit_is_clamped_above_the_maximum_and_refused_below_one(client, city):
    doc = client.get("/ogc/collections/hotspots/items?limit=20000").get_json()
    assert doc["numberReturned"] == len(city.cells)
    self_link = next(ln for ln in doc["links"] if ln["rel"] == "self")
    assert parse_qs(urlsplit(self_link["href"]).query)["limit"] == ["10000"]
    for bad in ("0", "-5", "ten", "1.5"):
        resp = client.get(f"/ogc/collections/hotspots/items?limit={bad}")
        assert resp.status_code == 400 and "limit" in resp.get_json()["detail"]
    resp = client.get("/ogc/collections/hotspots/items?offset=-1")
    assert resp.status_code == 400 and "offset" in resp.get_json()["detail"]


def test_offset_past_the_end_is_an_empty_page_without_next(client, city):
    doc = client.get(f"/ogc/collections/hotspots/items?offset={len(city.cells) + 5}").get_json()
    assert doc["features"] == [] and doc["numberReturned"] == 0
    assert doc["numberMatched"] == len(city.cells)
    assert "next" not in {ln["rel"] for ln in doc["links"]}


def test_bbox_selects_intersecting_cells(client, city, engine):
    lat, lng = h3.cell_to_latlng(h3.int_to_str(city.cells[0]))
    box = (lng - 0.004, lat - 0.003, lng + 0.004, lat + 0.003)
    doc = client.get("/ogc/collections/hotspots/items?bbox=" + ",".join(map(str, box))).get_json()
    expected = _cell_count(engine, city.latest_run,
                           "ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4326))",
                           a=box[0], b=box[1], c=box[2], d=box[3])
    assert 1 < doc["numberMatched"] == expected < len(city.cells)
    assert h3.int_to_str(city.cells[0]) in {f["id"] for f in doc["features"]}
    six = f"{box[0]},{box[1]},0,{box[2]},{box[3]},100"
    assert client.get("/ogc/collections/hotspots/items?bbox=" + six).get_json()[
        "numberMatched"] == expected


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "0,10,1,5", "0,-91,1,5", "-181,0,1,1",
                                  "1,2,3,4,5", "nan,1,2,3"])
def test_invalid_bbox_is_a_400_naming_bbox(client, city, bbox):
    resp = client.get(f"/ogc/collections/hotspots/items?bbox={bbox}")
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["detail"].startswith("bbox:") and body["code"] == "InvalidParameterValue"


@pytest.mark.parametrize(
    ("value", "all_match"),
    [
        ("2024-03-01T00:00:00Z", True),
        ("2024-03-01", True),
        ("2024-01-01T00:00:00Z/2024-02-01T00:00:00Z", True),
        ("2024-06-30T00:00:00Z/..", True),
        ("../2024-01-01T00:00:00Z", True),  # an inclusive end touches the period's start
        ("/2023-12-31", False),
        ("2024-07-01T00:00:00Z/..", False),  # the period's end is exclusive
        ("2025-01-01/2025-02-01", False),
    ],
)
def test_datetime_selects_cells_by_the_runs_period(client, city, value, all_match):
    doc = client.get(f"/ogc/collections/hotspot-run-{city.period_run}/items?limit=1"
                     f"&datetime={value}").get_json()
    assert doc["numberMatched"] == (len(city.cells) if all_match else 0)


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "../..", "..",
                                   "2024-05-01/2024-04-01", "2024-01-01/2024-02-01/2024-03-01",
                                   "9999-12-31"])
def test_invalid_datetime_is_a_400_naming_datetime(client, city, value):
    resp = client.get(f"/ogc/collections/hotspots/items?datetime={value}")
    assert resp.status_code == 400 and resp.get_json()["detail"].startswith("datetime:")


def test_property_filters_on_cells(client, city, engine):
    doc = client.get("/ogc/collections/hotspots/items?gi_bin=3").get_json()
    assert doc["numberMatched"] == _cell_count(engine, city.latest_run, "gi_bin = 3") == 4
    assert {f["properties"]["gi_bin"] for f in doc["features"]} == {3}
    two = client.get("/ogc/collections/hotspots/items?gi_bin=3,-2").get_json()
    assert two["numberMatched"] == 6
    trend = client.get("/ogc/collections/hotspots/items?trend=intensifying").get_json()
    assert {f["id"] for f in trend["features"]} == {h3.int_to_str(c) for c in city.hot_cells}
    for bad in ("gi_bin=4", "gi_bin=hot"):
        resp = client.get(f"/ogc/collections/hotspots/items?{bad}")
        assert resp.status_code == 400 and resp.get_json()["detail"].startswith("gi_bin:")


def test_boundary_kind_filter(client, city, engine):
    doc = client.get("/ogc/collections/boundaries/items?kind=district&limit=1000").get_json()
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM boundaries WHERE kind = 'district'")).scalar()
    assert doc["numberMatched"] == n >= 2
    assert {f["properties"]["kind"] for f in doc["features"]} == {"district"}
    assert client.get("/ogc/collections/boundaries/items?kind=county").status_code == 400


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/ogc/collections/hotspots/items?colour=red", "colour"),
        ("/ogc/collections/hotspots/items?service_code=x", "service_code"),  # not a cell filter
        ("/ogc/collections/boundaries/items?gi_bin=3", "gi_bin"),
        ("/ogc/collections?limit=3", "limit"),
        ("/ogc/?foo=1", "foo"),
        ("/ogc/collections/hotspots/items?f=xml", "f"),
        ("/ogc/api?f=yaml", "f"),
        ("/ogc/collections/hotspots/items?limit=1&limit=2", "limit"),
        # NUL cannot reach PostgreSQL text: a 400 naming the filter, not a 500.
        ("/ogc/collections/hotspots/items?trend=%00", "trend"),
        ("/ogc/collections/reports/items?service_code=pot%00hole", "service_code"),
    ],
)
def test_unknown_or_bad_parameters_are_400_naming_them(client, city, url, name):
    resp = client.get(url)
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["detail"].startswith(f"{name}:") and body["description"] == body["detail"]


def test_feature_by_id_and_404s(client, city):
    fid = h3.int_to_str(city.hot_cells[0])
    resp = client.get(f"/ogc/collections/hotspots/items/{fid}")
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    doc = resp.get_json()
    assert doc["id"] == fid and doc["properties"]["gi_bin"] == 3
    assert doc["properties"]["trend"] == "intensifying"
    rels = {(ln["rel"], ln["type"]) for ln in doc["links"]}
    assert {("self", "application/geo+json"), ("alternate", "text/html"),
            ("collection", "application/json")} <= rels
    assert client.get(f"/ogc/collections/hotspots/items/{fid}?f=html").mimetype == "text/html"
    outside = h3.int_to_str(h3.str_to_int(h3.latlng_to_cell(0, 0, 9)))
    for url in (
        f"/ogc/collections/hotspots/items/{outside}",
        "/ogc/collections/hotspots/items/not-a-cell",
        "/ogc/collections/boundaries/items/99999999",
        "/ogc/collections/boundaries/items/abc",
        "/ogc/collections/reports/items/nope",
        "/ogc/collections/reports/items/PE-%00",
        "/ogc/collections/nothing",
        "/ogc/collections/nothing/items",
        "/ogc/collections/hotspot-run-999999999/items",
        f"/ogc/collections/hotspot-run-{city.queued_run}/items",
        "/ogc/collections/hotspot-run-0/items",
    ):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert resp.get_json()["code"] == "NotFound"


def test_per_run_collection_and_its_alias(client, city, engine):
    cid = f"hotspot-run-{city.older_run}"
    doc = client.get(f"/ogc/collections/{cid}/items?limit=1000").get_json()
    assert doc["numberMatched"] == _cell_count(engine, city.older_run) == 37
    alias = client.get(f"/ogc/collections/hotspot-runs/{city.older_run}/items?limit=1000")
    assert alias.status_code == 200
    assert [f["id"] for f in alias.get_json()["features"]] == [f["id"] for f in doc["features"]]
    meta = client.get(f"/ogc/collections/hotspot-runs/{city.older_run}").get_json()
    assert meta["id"] == cid
    fid = doc["features"][0]["id"]
    one = client.get(f"/ogc/collections/hotspot-runs/{city.older_run}/items/{fid}")
    assert one.status_code == 200 and one.get_json()["id"] == fid
    assert client.get("/ogc/collections/hotspot-runs/abc/items").status_code == 404


def test_hotspot_areas_of_the_latest_run(client, city):
    doc = client.get("/ogc/collections/hotspot-areas/items").get_json()
    assert doc["numberMatched"] == 1
    props = doc["features"][0]["properties"]
    assert props["run_id"] == city.latest_run and props["priority_rank"] == 1
    assert props["components"] == {"significance": 1.0}
    assert doc["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert client.get("/ogc/collections/hotspot-areas/items/1").get_json()["id"] == 1


def test_an_ad_hoc_run_is_its_own_collection_and_never_replaces_hotspots(client, city, engine):
    lead, _ = synthetic_run(engine, city, 2, 9, {"services": ["lead_paint"]})
    ids = {f["properties"]["run_id"]
           for f in client.get("/ogc/collections/hotspots/items?limit=1000").get_json()["features"]}
    assert ids == {city.latest_run}
    own = client.get(f"/ogc/collections/hotspot-run-{lead}/items?limit=1").get_json()
    assert own["numberMatched"] == _cell_count(engine, lead) > 0
    areas = client.get("/ogc/collections/hotspot-areas/items").get_json()["features"]
    assert {a["properties"]["run_id"] for a in areas} == {city.latest_run}


def test_items_html_is_a_table_with_paging_links(client, city):
    resp = client.get("/ogc/collections/hotspots/items?f=html&limit=5")
    body = resp.get_data(as_text=True)
    assert resp.mimetype == "text/html" and body.count("<tr>") == 6
    assert "rel=next" not in body and "next" in body


def test_routes_appear_in_the_apps_api_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "/ogc/collections/{collection_id}/items" in paths
    assert "/tiles/{layer}/{z}/{x}/{y}.mvt" in paths


def test_head_and_cors_for_browser_clients(client, city):
    head = client.head("/ogc/collections/hotspots/items?limit=1")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Access-Control-Allow-Origin"] == "*"
    pre = client.options("/ogc/collections/reports/items",
                         headers={"Origin": "https://maps.example.org",
                                  "Access-Control-Request-Headers": "authorization"})
    assert pre.status_code == 200
    assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
