"""Request validation and the OpenAPI document from the same pydantic models.

A view declares its payloads once with :func:`operation`; the decorator validates the
request against them and ``/openapi.json`` is generated from the same declarations,
so the document cannot drift from what the server accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from html import escape
from typing import Any, Literal, TypeVar

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from service.errors import from_validation
from service.inputs import json_body

F = TypeVar("F", bound=Callable[..., Any])


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
    responses: dict[int, Any] | None = None,
    roles: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    idempotent: bool = False,
    request_content: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    """Declare a view's payloads; validated ``body``/``query`` are passed as keywords."""

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
        }
        return inner  # type: ignore[return-value]

    return wrap


_RULE_VAR = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


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


def build_document(app: Flask) -> dict[str, Any]:
    """Generate the OpenAPI 3.1 document from the registered operations."""
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "openapi", None)
        if meta is None:
            continue
        path = _RULE_VAR.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "summary": meta["summary"],
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "tags": list(meta["tags"]) or [rule.endpoint.split(".")[0]],
                "responses": {},
            }
            params = [
                {"name": v, "in": "path", "required": True, "schema": {"type": "string"}}
                for v in _RULE_VAR.findall(rule.rule)
            ]
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
                if isinstance(resp, type) and issubclass(resp, BaseModel):
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
            op["responses"].setdefault(
                "4XX",
                {
                    "description": "Client error",
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                },
            )
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


@bp.get("/docs")
def docs() -> Response:
    """A readable, dependency-free rendering of the API description."""
    doc = build_document(current_app._get_current_object())  # type: ignore[attr-defined]
    rows = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{escape(path)}</code></td>"
                f"<td>{escape(op['summary'])}</td><td>{escape(op.get('description', ''))}</td></tr>"
            )
    html = (
        "<!doctype html><meta charset=utf-8><title>CivicPulse API</title>"
        "<style>body{font-family:sans-serif;margin:2em}"
        "td{padding:.2em .8em;border-bottom:1px solid #ddd}</style>"
        "<h1>CivicPulse API</h1><p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>. "
        "Open311 GeoReport v2 at <a href='/open311/v2/discovery.json'>/open311/v2/</a>.</p>"
        "<table><tr><th>method</th><th>path</th><th>what</th><th>who</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return Response(html, mimetype="text/html")
