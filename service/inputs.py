"""Hostile input stops here: the limits every request meets before a view runs.

One place for what any surface must refuse with a 4xx naming the input, never a 500:

- JSON bodies: at most ``Settings.max_json_bytes`` (413 naming ``body``), nested at
  most :data:`MAX_JSON_DEPTH` deep (400), strict UTF-8, no NaN/Infinity, no NUL
  characters (PostgreSQL text cannot hold them).
- Query strings: no NUL characters (400 naming the parameter), no value longer than
  :data:`MAX_PARAM_CHARS`. A path with a NUL names no resource (404).
- Integer path segments (``<int:…>``) fit PostgreSQL's BIGINT: a larger one matches
  no route (404) instead of overflowing in the database.

Everything else about a value (its type, range, format) is the view's schema's job.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app, g, request
from werkzeug.routing import IntegerConverter, Map

from service.errors import Problem, field_path

#: Deepest nesting of arrays/objects a JSON body may have; real payloads use 4.
MAX_JSON_DEPTH = 32
#: Longest query-string value or path segment (a bbox or service list is < 200).
MAX_PARAM_CHARS = 4096
#: Largest id PostgreSQL's BIGINT holds.
MAX_BIGINT = 2**63 - 1
#: Path parameter names as the surfaces' documents spell them.
ALIASES = {"request_id": "service_request_id", "feature_id": "featureId",
           "collection_id": "collectionId", "code": "service_code"}
JSON_TYPES = ("application/json", "application/geo+json", "application/merge-patch+json")


def at_most(limit: int) -> str:
    """A regex matching exactly the decimal numbers 0…``limit`` in ASCII digits (``\\d``
    would take other scripts' digits too, and ``int()`` reads them).

    >>> import re
    >>> [bool(re.fullmatch(at_most(250), s)) for s in ("0", "99", "249", "250", "251", "300")]
    [True, True, True, True, False, False]
    """
    top = str(limit)
    parts = [f"[0-9]{{1,{len(top) - 1}}}"] if len(top) > 1 else []
    for i, digit in enumerate(top):
        if digit != "0":
            rest = len(top) - i - 1
            parts.append(top[:i] + f"[0-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(top)
    return "(?:" + "|".join(parts) + ")"


class BigIntConverter(IntegerConverter):
    """``<int:…>`` bounded to BIGINT, so an id too large for the database is a 404.

    The bound is in the *regex*: a converter that refuses a value after matching makes
    Werkzeug answer 405 when another rule of the same path serves other methods
    (``PATCH /api/v1/reports/<20 digits>`` was a 405 while GET was a 404).
    """

    regex = at_most(MAX_BIGINT)

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("max", MAX_BIGINT)
        super().__init__(map, *args, **kwargs)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _nul(name: str) -> Problem:
    """A 400 naming the parameter that held a NUL."""
    name = name.replace("\x00", "") or "query"
    return Problem(400, f"{name}: must not contain NUL characters", kind="validation",
                   field=name)


def _check_tree(data: Any) -> None:
    """Depth and NUL check of a parsed JSON value, without recursion (depth is bounded
    by the parser's own limit, but the check must not be the next thing to overflow)."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, (dict, list)) and len(loc) >= MAX_JSON_DEPTH:
            raise Problem(400, f"body: nested more than {MAX_JSON_DEPTH} levels deep",
                          field="body", kind="invalid-json")
        if isinstance(value, str):
            if "\x00" in value:
                name = field_path(loc)
                raise Problem(422, f"{name}: must not contain NUL characters", kind="validation",
                              errors=[{"field": name,
                                       "message": "must not contain NUL characters"}])
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    name = field_path((*loc, key.replace("\x00", "")))
                    raise Problem(422, f"{name}: must not contain NUL characters",
                                  kind="validation",
                                  errors=[{"field": name,
                                           "message": "must not contain NUL characters"}])
                stack.append((item, (*loc, key)))
        elif isinstance(value, list):
            stack.extend((item, (*loc, i)) for i, item in enumerate(value))


def load_json(raw: bytes) -> Any:
    """Parse a JSON body strictly (see the module notes for the limits)."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise Problem(400, "body: not valid UTF-8", field="body", kind="invalid-json") from exc
    except RecursionError:
        # The C parser gives up at the interpreter's recursion limit, far past ours.
        raise Problem(400, f"body: nested more than {MAX_JSON_DEPTH} levels deep",
                      field="body", kind="invalid-json") from None
    except ValueError as exc:
        raise Problem(
            400, f"body: invalid JSON ({exc})", field="body", kind="invalid-json"
        ) from exc
    _check_tree(data)
    return data


def json_body() -> Any:
    """The request's JSON body, after checking its content type and size (parsed once)."""
    if "json_body" in g:
        return g.json_body
    mimetype = request.mimetype
    if mimetype not in JSON_TYPES:
        raise Problem(
            415,
            f"Content-Type: expected application/json, got {mimetype or 'nothing'}",
            field="Content-Type",
            kind="unsupported-media-type",
        )
    limit = current_app.config["SETTINGS"].max_json_bytes
    too_large = Problem(413, f"body: a JSON body may be at most {limit} bytes", field="body",
                        kind="body-too-large")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    raw = request.get_data(cache=True)
    if len(raw) > limit:  # a chunked body has no Content-Length to check first
        raise too_large
    if not raw:
        raise Problem(400, "body: a JSON body is required", field="body", kind="invalid-json")
    g.json_body = load_json(raw)
    return g.json_body


def _check_request() -> None:
    """Refuse NULs and overlong values in the path and query string of every request."""
    if "\x00" in request.path:
        # No resource is named with a NUL: the path names nothing (as OGC wants for ids).
        args = request.view_args or {}
        name = next((k for k, v in args.items() if isinstance(v, str) and "\x00" in v), "path")
        raise Problem(404, f"{ALIASES.get(name, name)}: no resource is named with a NUL "
                      "character", kind="not-found", field=ALIASES.get(name, name))
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and len(value) > MAX_PARAM_CHARS:
            raise Problem(400, f"{name}: longer than {MAX_PARAM_CHARS} characters",
                          field=name)
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise _nul(name)
        if len(value) > MAX_PARAM_CHARS:
            raise Problem(400, f"{name}: longer than {MAX_PARAM_CHARS} characters",
                          field=name)


def install(app: Flask) -> None:
    """Bound ``<int:…>`` to BIGINT and check every request's path and query string."""
    app.url_map.converters["int"] = BigIntConverter
    app.before_request(_check_request)
