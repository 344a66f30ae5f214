"""Open311 read-only resources: service discovery, the service list and definitions.

None needs an API key. Each answers ``.json`` and ``.xml``; a service list or
definition is the same data the native API validates reports against.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, request
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from geo.services import EXTENSIONS, list_services
from service.db import engine
from service.errors import Problem
from service.open311 import bp, documents
from service.open311.documents import json_or_xml
from service.open311.params import JurisdictionQuery, base_url, check_jurisdiction, settings
from service.open311.render import known_format, open311_operation, respond

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MIME_TYPES = ["text/xml", "application/json"]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _changeset() -> dt.datetime:
    """When the service list last changed: clients refresh their caches when it moves."""
    with engine().connect() as conn:
        latest = conn.execute(text("SELECT max(updated_at) FROM services")).scalar()
    return latest or _EPOCH


@bp.get("/discovery.<fmt>")
@known_format
@open311_operation(summary="Open311 service discovery", query=JurisdictionQuery, tags=("open311",),
                   responses={200: json_or_xml("The discovery document", documents.Discovery)})
def discovery(fmt: str, query: JurisdictionQuery) -> Any:
    """Where this endpoint is, what it speaks, and how to get a key."""
    check_jurisdiction(query.jurisdiction_id)
    changeset = _changeset()
    extra = settings().extra
    body = {
        "changeset": changeset,
        "contact": extra.get("open311_contact", "Contact the city's 311 service team."),
        "key_service": extra.get(
            "open311_key_service",
            "Ask the city's CivicPulse administrator for an app key "
            "(civicpulse keys create --role app).",
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base_url()}{bp.url_prefix}",
                "changeset": changeset,
                "type": "production",
                "formats": MIME_TYPES,
            }
        ],
    }
    return respond(fmt, "discovery", body)


def _service_item(svc: dict[str, Any]) -> dict[str, Any]:
    """One entry of ``services``, with the spec's fields in the spec's order."""
    return {
        "service_code": svc["code"],
        "service_name": svc["name"],
        "description": svc["description"],
        "metadata": bool(svc["attributes"]),
        # Every report gets its id at once: no tokens to exchange later.
        "type": "realtime",
        "keywords": ",".join(svc["keywords"] or []),
        "group": svc["group"],
    }


@bp.get("/services.<fmt>")
@known_format
@open311_operation(summary="Open311 list of services (report categories)", query=JurisdictionQuery,
                   tags=("open311",),
                   responses={200: json_or_xml("The services", documents.Services)})
def services(fmt: str, query: JurisdictionQuery) -> Any:
    """Every active service, grouped as the city groups them."""
    check_jurisdiction(query.jurisdiction_id)
    with engine().connect() as conn:
        items = [_service_item(s) for s in list_services(conn)]
    return respond(fmt, "services", items)


def _attribute(attr: dict[str, Any]) -> dict[str, Any]:
    """One attribute of a service definition, in the spec's field order."""
    return {
        "variable": bool(attr.get("variable", True)),
        "code": attr["code"],
        "datatype": attr.get("datatype", "string"),
        "required": bool(attr.get("required", False)),
        "datatype_description": attr.get("datatype_description", ""),
        "order": int(attr.get("order", 1)),
        "description": attr.get("description", ""),
        "values": [{"key": v["key"], "name": v["name"]} for v in attr.get("values", [])],
    }


@bp.get("/services/<code>.<fmt>")
@known_format
@open311_operation(summary="Open311 service definition (the questions a report answers)",
                   query=JurisdictionQuery, tags=("open311",),
                   responses={200: json_or_xml("The service definition",
                                               documents.ServiceDefinition),
                              404: "unknown service_code"})
def service_definition(code: str, fmt: str, query: JurisdictionQuery) -> Any:
    """The attributes (questions) of one service; 404 for an unknown code."""
    check_jurisdiction(query.jurisdiction_id)
    with engine().connect() as conn:
        found = next((s for s in list_services(conn) if s["code"] == code), None)
    if found is None:
        raise Problem(404, f"service_code: unknown service {code!r}", field="service_code")
    attributes = sorted(found["attributes"] or [], key=lambda a: int(a.get("order", 1)))
    body = {"service_code": found["code"], "attributes": [_attribute(a) for a in attributes],
            # CivicPulse's extensions, after the spec's fields: clients ignore them, and
            # `civicpulse services load` reads them back (privacy is the residents' too).
            **{key: found[key] for key in EXTENSIONS}}
    return respond(fmt, "service_definition", body)


_ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.route("/", defaults={"rest": ""}, methods=_ANY_METHOD)
@bp.route("/<path:rest>", methods=_ANY_METHOD)
def not_an_operation(rest: str) -> Any:
    """Unknown paths and methods under the prefix: 404/405 in Open311's error shape.

    Without this, routing errors happen before any blueprint is chosen and would
    answer problem+json, which Open311 clients cannot read. Not an operation, so
    it is deliberately left out of the API document.
    """
    allowed = _served_methods()
    if allowed:
        raise Problem(405, f"method: {request.method} is not allowed here; use "
                           f"{' or '.join(allowed)}", field="method",
                      headers={"Allow": ", ".join(allowed)})
    raise Problem(404, f"path: no Open311 resource at {request.path}", field="path")


def _served_methods() -> list[str]:
    """The methods an Open311 operation (not the catch-all) serves at this path."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != "open311.not_an_operation":
            allowed.append(method)
    return allowed


@bp.after_request
def _allow_what_is_served(resp: Any) -> Any:
    """OPTIONS names the operation's methods: Werkzeug would add the catch-all's PUT,
    PATCH and DELETE, which answer 405."""
    if request.method == "OPTIONS" and "Allow" in resp.headers:
        served = _served_methods()
        if served:
            resp.headers["Allow"] = ", ".join(
                sorted({*served, "OPTIONS", *(["HEAD"] if "GET" in served else [])}))
    return resp
