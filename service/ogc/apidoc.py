"""The OpenAPI 3.0 document of ``/ogc``, generated from the collection definitions.

GDAL and QGIS read ``components/parameters/limit`` (page size) and the
parameters under ``paths./collections/{id}/items`` (per-collection filters), so
both come from the same tables the views validate with: ``params`` for the
common parameters and ``catalog.PROPERTIES``/``catalog.FILTERS`` per collection.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from service.ogc import catalog, params
from service.ogc.links import GEOJSON, HTML, JSON, root

_REF = "#/components/"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"{_REF}{kind}/{name}"}


def _parameters() -> dict[str, Any]:
    common = {
        "limit": {
            "name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "Features per page; larger values are clamped to the maximum.",
            "schema": {"type": "integer", "minimum": 1, "maximum": params.MAX_LIMIT,
                       "default": params.DEFAULT_LIMIT},
        },
        "offset": {
            "name": "offset", "in": "query", "required": False,
            "description": "Index of the first feature (the next/prev links set it).",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        "bbox": {
            "name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "minx,miny,maxx,maxy in CRS84 (6 numbers: heights ignored).",
            "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        },
        "datetime": {
            "name": "datetime", "in": "query", "required": False, "style": "form",
            "explode": False,
            "description": "RFC 3339 instant or interval start/end; '..' or empty for an open end.",
            "schema": {"type": "string"},
        },
        "f": {
            "name": "f", "in": "query", "required": False,
            "description": "Output format (default from Accept: JSON unless a browser).",
            "schema": {"type": "string", "enum": list(params.FORMATS)},
        },
        "collectionId": {"name": "collectionId", "in": "path", "required": True,
                         "schema": {"type": "string"}},
        "featureId": {"name": "featureId", "in": "path", "required": True,
                      "schema": {"type": "string"}},
    }
    for filters in catalog.FILTERS.values():
        for name, flt in filters.items():
            common[name] = {
                "name": name, "in": "query", "required": False, "style": "form",
                "explode": False, "description": f"Only features whose {name} is one of these.",
                "schema": {"type": "array", "items": {"type": flt.kind}},
            }
    return common


def _responses() -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": _ref("schemas", "exception")}}
    return {
        "LandingPage": {"description": "The landing page.", "content": {
            JSON: {"schema": _ref("schemas", "landingPage")}, HTML: {}}},
        "Conformance": {"description": "The conformance classes.", "content": {
            JSON: {"schema": _ref("schemas", "confClasses")}, HTML: {}}},
        "Collections": {"description": "The feature collections.", "content": {
            JSON: {"schema": _ref("schemas", "collections")}, HTML: {}}},
        "Collection": {"description": "One collection's metadata.", "content": {
            JSON: {"schema": _ref("schemas", "collection")}, HTML: {}}},
        "InvalidParameter": {"description": "A query parameter is unknown or invalid; the "
                             "message names it.", "content": problem},
        "NotFound": {"description": "No such collection or feature.", "content": problem},
        "Unauthorized": {"description": "The API key in Authorization is not valid.",
                         "content": problem},
        "ServerError": {"description": "A server error.", "content": problem},
    }


def _schemas() -> dict[str, Any]:
    link = {"type": "object", "required": ["href", "rel"], "properties": {
        k: {"type": "string"} for k in ("href", "rel", "type", "title")}}
    links = {"type": "array", "items": _ref("schemas", "link")}
    out: dict[str, Any] = {
        "link": link,
        "exception": {"type": "object", "required": ["code"], "properties": {
            "code": {"type": "string"}, "description": {"type": "string"},
            "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}}},
        "landingPage": {"type": "object", "required": ["links"], "properties": {
            "title": {"type": "string"}, "description": {"type": "string"}, "links": links}},
        "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
            "conformsTo": {"type": "array", "items": {"type": "string"}}}},
        "collection": {"type": "object", "required": ["id", "links"], "properties": {
            "id": {"type": "string"}, "title": {"type": "string"},
            "description": {"type": "string"}, "itemType": {"type": "string"},
            "crs": {"type": "array", "items": {"type": "string"}},
            "extent": {"type": "object"}, "links": links}},
        "collections": {"type": "object", "required": ["links", "collections"], "properties": {
            "links": links, "collections": {"type": "array",
                                            "items": _ref("schemas", "collection")}}},
    }
    for family, props in catalog.PROPERTIES.items():
        out[f"{family}Feature"] = {
            "type": "object", "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": "integer" if family in ("areas", "boundaries") else "string"},
                "geometry": {"type": "object", "description": catalog.GEOMETRY[family]},
                "properties": {"type": "object", "properties": {
                    name: {"type": t} for name, t in props.items()}},
                "links": links,
            },
        }
        out[f"{family}Collection"] = {
            "type": "object", "required": ["type", "features"], "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": _ref("schemas", f"{family}Feature")},
                "links": links, "timeStamp": {"type": "string", "format": "date-time"},
                "numberMatched": {"type": "integer", "minimum": 0},
                "numberReturned": {"type": "integer", "minimum": 0},
            },
        }
    return out


def _errors(*codes: str) -> dict[str, Any]:
    names = {"400": "InvalidParameter", "401": "Unauthorized", "404": "NotFound",
             "500": "ServerError"}
    return {c: _ref("responses", names[c]) for c in ("401", *codes)}


def _get(op_id: str, summary: str, ok: dict[str, Any], parameters: list[Any],
         errors: tuple[str, ...] = ("400", "500")) -> dict[str, Any]:
    return {"get": {"operationId": op_id, "summary": summary, "tags": ["OGC API - Features"],
                    "parameters": parameters, "responses": {"200": ok, **_errors(*errors)}}}


def _items_paths(path_id: str, op: str, family: str | None) -> dict[str, Any]:
    p = _ref("parameters", "")["$ref"]
    common = [{"$ref": p + n} for n in ("bbox", "datetime", "limit", "offset", "f")]
    filters = [{"$ref": p + n} for n in catalog.FILTERS.get(family or "", {})]
    path_params = [] if family else [{"$ref": p + "collectionId"}]
    schema = _ref("schemas", f"{family}Collection") if family else {"type": "object"}
    feature = _ref("schemas", f"{family}Feature") if family else {"type": "object"}
    items_ok = {"description": "A page of features.", "content": {
        GEOJSON: {"schema": schema}, HTML: {}}}
    item_ok = {"description": "One feature.", "content": {GEOJSON: {"schema": feature}, HTML: {}}}
    base = f"/collections/{path_id}"
    return {
        base + "/items": _get(f"{op}Items", "Features of the collection", items_ok,
                              path_params + common + filters, ("400", "404", "500")),
        base + "/items/{featureId}": _get(
            f"{op}Feature", "One feature by id", item_ok,
            [*path_params, {"$ref": p + "featureId"}, {"$ref": p + "f"}], ("400", "404", "500")),
    }


def build() -> dict[str, Any]:
    """The OpenAPI 3.0 document of the OGC endpoints."""
    p = _ref("parameters", "f")
    resp = _ref("responses", "")["$ref"]
    paths: dict[str, Any] = {
        "/": _get("getLandingPage", "Landing page", {"$ref": resp + "LandingPage"}, [p]),
        "/conformance": _get("getConformance", "Conformance classes",
                             {"$ref": resp + "Conformance"}, [p]),
        "/collections": _get("getCollections", "Feature collections",
                             {"$ref": resp + "Collections"}, [p]),
        "/collections/{collectionId}": _get(
            "describeCollection", "One collection's metadata", {"$ref": resp + "Collection"},
            [_ref("parameters", "collectionId"), p], ("400", "404", "500")),
    }
    for cid, (family, _title, _desc) in catalog.STATIC.items():
        op = "".join(part.capitalize() for part in cid.split("-"))
        paths.update(_items_paths(cid, "get" + op, family))
    # Per-run collections (hotspot-run-{id}) have the cells' filters too, but their
    # ids are open-ended: the generic path documents them.
    paths.update(_items_paths("{collectionId}", "getCollection", None))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "CivicPulse OGC API - Features",
            "version": current_app.config.get("VERSION", "0"),
            "description": "Hotspot cells and areas, resident reports (privacy-filtered) and "
                           "boundaries as OGC API - Features Part 1 "
                           "(Core, GeoJSON, HTML, OAS 3.0).",
            "contact": {"name": "CivicPulse"},
            "license": {"name": "Apache-2.0"},
        },
        "servers": [{"url": root()}],
        "paths": paths,
        "components": {
            "parameters": _parameters(),
            "responses": _responses(),
            "schemas": _schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "Planners and admins see exact "
                                           "report points; anonymous callers public data."}},
        },
        "security": [{}, {"bearer": []}],
    }
