"""OGC API - Features Part 1 routes: landing page, conformance, collections, items."""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from typing import Any

from flask import Response, request

from geo.layers import features
from service.auth import principal
from service.db import read_engine
from service.errors import Problem
from service.ogc import apidoc, bp, catalog, documents, html, params
from service.ogc.documents import json_or_html
from service.ogc.links import GEOJSON, HTML, JSON, OPENAPI, href, link, page_links
from service.openapi import FEATURE, FEATURE_COLLECTION, Body, operation

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
_ERRORS = {400: "Invalid parameter (named in the message)", 401: "Invalid API key",
           404: "No such collection or feature"}


def _json(doc: Any, media_type: str = JSON) -> Response:
    return Response(json.dumps(doc, default=str), mimetype=media_type)


def _metadata_format() -> str:
    """The format of a metadata resource, which takes no parameter but ``f``."""
    params.check_names(set())
    return params.output_format()


@bp.get("/", strict_slashes=False)
@operation(summary="OGC API landing page", tags=("ogc",),
           responses={200: json_or_html("Landing page", documents.LANDING), **_ERRORS})
def landing() -> Response:
    """The landing page: links to the API definition, conformance and collections."""
    fmt = _metadata_format()
    doc = {
        "title": "CivicPulse OGC API - Features",
        "description": "Hotspot cells and areas, resident reports and boundaries of the city.",
        "links": [
            link("/", "self", JSON, "This document"),
            link("/", "alternate", HTML, "This document as HTML", f="html"),
            link("/api", "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
            link("/api.html", "service-doc", HTML, "The API documentation"),
            link("/conformance", "conformance", JSON, "Conformance classes"),
            link("/collections", "data", JSON, "Feature collections"),
        ],
    }
    return html.landing(doc) if fmt == "html" else _json(doc)


@bp.get("/api")
@operation(summary="OGC API definition (OpenAPI 3.0)", tags=("ogc",),
           responses={200: Body("OpenAPI 3.0", {OPENAPI: {"type": "object"}})})
def api() -> Response:
    """The OpenAPI 3.0 document of these endpoints (GDAL and QGIS read the page size here)."""
    if _metadata_format() == "html":
        return api_html()
    return _json(apidoc.build(), OPENAPI)


@bp.get("/api.html")
@operation(summary="OGC API documentation (HTML)", tags=("ogc",),
           responses={200: Body("HTML", {"text/html": documents.HTML_PAGE})})
def api_html() -> Response:
    """A readable list of the operations and their parameters."""
    doc = apidoc.build()
    rows = []
    for path, ops in doc["paths"].items():
        names = [p["$ref"].rsplit("/", 1)[-1] for p in ops["get"]["parameters"]]
        rows.append({"path": f"<code>GET {escape(path)}</code>",
                     "summary": escape(ops["get"]["summary"]),
                     "parameters": escape(", ".join(names))})
    body = html.table(rows) + f"<p>Machine-readable: <a href='{href('/api')}'>/ogc/api</a></p>"
    return html.page(doc["info"]["title"], body)


@bp.get("/conformance")
@operation(summary="OGC conformance classes", tags=("ogc",),
           responses={200: json_or_html("Conformance", documents.CONFORMANCE), **_ERRORS})
def conformance() -> Response:
    """The conformance classes this server implements."""
    fmt = _metadata_format()
    doc = {"conformsTo": CONFORMANCE}
    return html.conformance(doc) if fmt == "html" else _json(doc)


@bp.get("/collections")
@operation(summary="OGC feature collections", tags=("ogc",),
           responses={200: json_or_html("Collections", documents.COLLECTIONS), **_ERRORS})
def collections() -> Response:
    """Every collection with its extent and links."""
    fmt = _metadata_format()
    with read_engine().connect() as conn:
        colls = catalog.listed(conn)
        extents = catalog.extents(conn, colls)
    doc = {
        "links": [
            link("/collections", "self", JSON, "This document"),
            link("/collections", "alternate", HTML, "This document as HTML", f="html"),
        ],
        "collections": [catalog.document(c, extents[c.id]) for c in colls],
    }
    return html.collections(doc) if fmt == "html" else _json(doc)


@bp.get("/collections/<collection_id>")
@operation(summary="OGC collection metadata", tags=("ogc",),
           responses={200: json_or_html("Collection", documents.COLLECTION), **_ERRORS})
def collection(collection_id: str) -> Response:
    """One collection's metadata, the same document as its entry in /collections."""
    fmt = _metadata_format()
    with read_engine().connect() as conn:
        coll = catalog.resolve(conn, collection_id)
        doc = catalog.document(coll, catalog.extents(conn, [coll])[coll.id])
    return html.collection(doc) if fmt == "html" else _json(doc)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@bp.get("/collections/<collection_id>/items")
@operation(summary="OGC features of a collection", tags=("ogc",),
           responses={200: json_or_html("GeoJSON FeatureCollection", FEATURE_COLLECTION,
                                             GEOJSON), **_ERRORS})
def items(collection_id: str) -> Response:
    """A page of features: bbox, datetime, property filters, limit/offset paging."""
    who = principal()
    fmt = params.output_format()
    with read_engine().connect() as conn:
        coll = catalog.resolve(conn, collection_id)
        q = params.feature_query(catalog.FILTERS[coll.family])
        page = features.collect(conn, catalog.source(conn, coll, q, who), q)
    path = f"/collections/{coll.id}/items"
    links = page_links(path, request.args.to_dict(), limit=q.limit, offset=q.offset,
                       returned=page.returned, matched=page.matched)
    links.append(link(f"/collections/{coll.id}", "collection", JSON, coll.title))
    if fmt == "html":
        return html.items(coll.title, page.features, page.matched, links, href(path + "/"))
    # The features array is PostGIS's text, spliced in unparsed.
    body = (
        '{"type":"FeatureCollection","features":' + page.features
        + f',"numberMatched":{page.matched},"numberReturned":{page.returned}'
        + f',"timeStamp":"{_now()}","links":{json.dumps(links)}}}'
    )
    return Response(body, mimetype=GEOJSON)


@bp.get("/collections/<collection_id>/items/<feature_id>")
@operation(summary="OGC feature by id", tags=("ogc",),
           responses={200: json_or_html("GeoJSON Feature", FEATURE, GEOJSON),
                      **_ERRORS})
def item(collection_id: str, feature_id: str) -> Response:
    """One feature; 404 when the collection holds no feature with that id."""
    who = principal()
    fmt = _metadata_format()
    with read_engine().connect() as conn:
        coll = catalog.resolve(conn, collection_id)
        key = catalog.feature_key(coll, feature_id)
        found = None
        if key is not None:
            found = features.get(conn, catalog.source(conn, coll, None, who), key)
    if found is None:
        raise Problem(404, f"featureId: no feature {feature_id!r} in {coll.id}",
                      field="featureId", kind="not-found")
    path = f"/collections/{coll.id}/items/{feature_id}"
    links = [
        link(path, "self", GEOJSON, "This feature"),
        link(path, "alternate", HTML, "This feature as HTML", f="html"),
        link(f"/collections/{coll.id}", "collection", JSON, coll.title),
    ]
    if fmt == "html":
        return html.item(f"{coll.title}: {feature_id}", {**json.loads(found), "links": links})
    return Response(found[:-1] + ',"links":' + json.dumps(links) + "}", mimetype=GEOJSON)


# The contract names per-run collections ``hotspot-runs/{id}``; a collection id cannot
# hold '/', so these spellings answer exactly what ``hotspot-run-{id}`` answers.
@bp.get("/collections/hotspot-runs/<int:run_id>")
def run_alias(run_id: int) -> Response:
    """Alias of /collections/hotspot-run-{id}."""
    return collection(f"hotspot-run-{run_id}")


@bp.get("/collections/hotspot-runs/<int:run_id>/items")
def run_items_alias(run_id: int) -> Response:
    """Alias of /collections/hotspot-run-{id}/items."""
    return items(f"hotspot-run-{run_id}")


@bp.get("/collections/hotspot-runs/<int:run_id>/items/<feature_id>")
def run_item_alias(run_id: int, feature_id: str) -> Response:
    """Alias of /collections/hotspot-run-{id}/items/{featureId}."""
    return item(f"hotspot-run-{run_id}", feature_id)


@bp.after_request
def _headers(resp: Response) -> Response:
    """CORS for browser clients; answers differ by format and caller, so no cache keeps them.

    ``Vary`` alone was not enough: QGIS's HTTP cache served an anonymous answer to a
    layer opened with a key. ``private, no-cache`` keeps shared caches out and makes
    every client ask again.
    """
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Access-Control-Allow-Headers"] = "Authorization"
    resp.headers["Vary"] = "Accept, Authorization, Cookie"
    resp.headers.setdefault("Cache-Control", "private, no-cache")
    return resp
