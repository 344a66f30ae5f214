"""Request validation and the OpenAPI document from the same pydantic models.

A view declares its payloads once with :func:`operation`; the decorator validates the
request against them and ``/openapi.json`` is generated from the same declarations,
so the document cannot drift from what the server accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Literal, TypeVar

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from service.errors import from_validation
from service.inputs import json_body

F = TypeVar("F", bound=Callable[..., Any])

#: A body that is bytes, not JSON (an image, a tile, a zip).
BINARY: dict[str, Any] = {"type": "string", "format": "binary"}

#: GeoJSON (RFC 7946), as the OGC API and the run layers answer it.
GEOMETRY: dict[str, Any] = {
    "type": ["object", "null"], "description": "A GeoJSON geometry in WGS 84 (RFC 7946)",
    "required": ["type"],
    "properties": {"type": {"enum": ["Point", "MultiPoint", "LineString", "MultiLineString",
                                     "Polygon", "MultiPolygon"]},
                   "coordinates": {"type": "array"}},
}
FEATURE: dict[str, Any] = {
    "type": "object", "required": ["type", "geometry", "properties"],
    "properties": {"type": {"const": "Feature"}, "id": {"type": ["string", "integer"]},
                   "geometry": GEOMETRY,
                   "properties": {"type": ["object", "null"],
                                  "description": "The collection's fields (see its queryables "
                                                 "in docs/ogc-and-tiles.md)"},
                   "links": {"type": "array", "items": {"type": "object"}}},
}
FEATURE_COLLECTION: dict[str, Any] = {
    "type": "object", "required": ["type", "features"],
    "properties": {"type": {"const": "FeatureCollection"},
                   "features": {"type": "array", "items": FEATURE},
                   "links": {"type": "array", "items": {"type": "object"}},
                   "timeStamp": {"type": "string", "format": "date-time"},
                   "numberMatched": {"type": "integer"}, "numberReturned": {"type": "integer"}},
}


@dataclass(frozen=True)
class Body:
    """A documented response that is not one pydantic model: media types and their schemas.

    Each value of ``content`` is a pydantic model, a JSON Schema dict, or ``None`` for
    bytes (e.g. ``{"image/jpeg": None}``).
    """

    description: str
    content: dict[str, type[BaseModel] | dict[str, Any] | None] = field(default_factory=dict)


def validate(model: type[BaseModel], data: Any, *, prefix: str = "", status: int = 422) -> Any:
    """Validate ``data`` against ``model``; a failure becomes a Problem naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, status=status, prefix=prefix, model=model) from None


def query_args(model: type[BaseModel]) -> Any:
    """Validate the query string; empty parameters count as absent, unknown ones are 400."""
    data: dict[str, Any] = {}
    for key in request.args:
        values = [v for v in request.args.getlist(key) if v != ""]
        if not values:
            continue
        field = model.model_fields.get(key)
        is_list = field is not None and "list" in str(field.annotation).lower()
        data[key] = values if is_list else values[-1]
    return validate(model, data, status=400)


def operation(
    *,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: dict[Any, Any] | None = None,  # status (int, or "4XX") → answer
    roles: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    idempotent: bool = False,
    request_content: dict[str, Any] | None = None,
    path: dict[str, dict[str, Any]] | None = None,
) -> Callable[[F], F]:
    """Declare a view's payloads; validated ``body``/``query`` are passed as keywords.

    Path parameters are documented from the URL rule's converters (``int``, ``uuid``);
    ``path`` gives the schema of those the view checks itself (a tile's ``z``).
    ``responses`` may document ``"4XX"`` where a surface does not answer problem+json.
    """

    def wrap(view: F) -> F:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if query is not None:
                kwargs["query"] = query_args(query)
            if body is not None:
                kwargs["body"] = validate(body, json_body())
            return view(*args, **kwargs)

        inner.openapi = {  # type: ignore[attr-defined]
            "summary": summary,
            "body": body,
            "query": query,
            "responses": responses or {},
            "roles": roles,
            "tags": tags,
            "idempotent": idempotent,
            "request_content": request_content,
            "path": path or {},
        }
        return inner  # type: ignore[return-value]

    return wrap


_RULE_VAR = re.compile(r"<(?:([a-z_]+)(?:\([^)]*\))?:)?([a-z_]+)>")
#: What each URL converter accepts (``int`` is bounded to BIGINT, see service.inputs).
_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
    "uuid": {"type": "string", "format": "uuid"},
}


#: The 4XX answer of the native API, OGC and tiles.
PROBLEM_RESPONSE: dict[str, Any] = {
    "description": "Client error",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _path_parameters(rule: str, declared: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The rule's variables as OpenAPI path parameters, typed by converter or declaration."""
    return [
        {"name": name, "in": "path", "required": True,
         "schema": declared.get(name) or _CONVERTER_SCHEMAS.get(converter, {"type": "string"})}
        for converter, name in _RULE_VAR.findall(rule)
    ]


def _schema_ref(
    model: type[BaseModel],
    components: dict[str, Any],
    mode: Literal["validation", "serialization"],
) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _media_schema(
    schema: type[BaseModel] | dict[str, Any] | None, components: dict[str, Any]
) -> dict[str, Any]:
    """The schema of one media type of a :class:`Body`."""
    if schema is None:
        return BINARY
    if isinstance(schema, dict):
        return schema
    return _schema_ref(schema, components, "serialization")


def build_document(app: Flask) -> dict[str, Any]:
    """Generate the OpenAPI 3.1 document from the registered operations."""
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "openapi", None)
        if meta is None:
            continue
        path = _RULE_VAR.sub(r"{\2}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "summary": meta["summary"],
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "tags": list(meta["tags"]) or [rule.endpoint.split(".")[0]],
                "responses": {},
            }
            params = _path_parameters(rule.rule, meta["path"])
            if meta["query"] is not None:
                qschema = meta["query"].model_json_schema()
                required = set(qschema.get("required", []))
                for name, prop in qschema.get("properties", {}).items():
                    params.append(
                        {"name": name, "in": "query", "required": name in required, "schema": prop}
                    )
            if meta["idempotent"]:
                params.append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Replays the first response for 48 h; reuse with "
                        "another body is 422, a retry while the first is running 409.",
                        "schema": {"type": "string", "maxLength": 255},
                    }
                )
            if params:
                op["parameters"] = params
            if meta["body"] is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _schema_ref(meta["body"], components, "validation")
                        }
                    },
                }
            elif meta["request_content"]:
                op["requestBody"] = {"required": True, "content": meta["request_content"]}
            for status, resp in (meta["responses"] or {200: "OK"}).items():
                if isinstance(resp, Body):
                    op["responses"][str(status)] = {
                        "description": resp.description,
                        "content": {media: {"schema": _media_schema(schema, components)}
                                    for media, schema in resp.content.items()},
                    }
                elif isinstance(resp, type) and issubclass(resp, BaseModel):
                    op["responses"][str(status)] = {
                        "description": resp.__doc__.strip().splitlines()[0] if resp.__doc__ else "",
                        "content": {
                            "application/json": {
                                "schema": _schema_ref(resp, components, "serialization")
                            }
                        },
                    }
                else:
                    op["responses"][str(status)] = {"description": str(resp)}
            op["responses"].setdefault("4XX", PROBLEM_RESPONSE)
            roles = meta["roles"] or getattr(view, "required_roles", ())
            if roles:
                op["security"] = [{"bearer": []}]
                op["description"] = "Roles: " + ", ".join(roles)
            paths.setdefault(path, {})[method.lower()] = op
    components["Problem"] = {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CivicPulse API",
            "version": current_app.config.get("VERSION", "0"),
            "description": "Resident reports, hotspot runs and evidence exports.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The API description, generated from the schemas that validate requests."""
    return jsonify(build_document(current_app._get_current_object()))  # type: ignore[attr-defined]
