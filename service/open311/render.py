"""Open311 serialisation: one data shape rendered as JSON or as namespace-free XML.

Open311 picks the format by the resource suffix (``services.xml``); JSON is the
spec's "programmatic mapping" of the XML, so both are rendered from the same
plain lists and dicts here, and errors follow the suffix of the URL asked for.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, request

from service.errors import Problem
from service.open311 import bp, documents
from service.openapi import operation

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

#: Element name of each item of a list, by the list's element name (the spec's XML).
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "translations": "translation",
}

# Characters XML 1.0 cannot carry at all: a resident's text may hold them
# (pasted control codes), and one would make the whole document unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

#: Open311 names only 400, 403 and 404; statuses our shared helpers raise are
#: folded into those (a bad key is 403 "invalid api_key" in Open311, not 401).
_OPEN311_STATUS = {401: 403, 409: 400, 415: 400, 422: 400}


def scalar(value: Any) -> Any:
    """A value as Open311 JSON carries it: datetimes as W3C strings with their offset."""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return value


def _text(value: Any) -> str:
    """A scalar as XML text (booleans lower-case, as in the spec's examples)."""
    value = scalar(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _element(parent: ET.Element, name: str, value: Any) -> None:
    """Append ``value`` to ``parent`` as element ``name`` (recursing into lists/dicts)."""
    node = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, sub in value.items():
            _element(node, key, sub)
    elif isinstance(value, list):
        item = ITEM_NAMES.get(name, "item")
        for sub in value:
            _element(node, item, sub)
    else:
        node.text = _text(value)


def to_xml(root: str, data: Any) -> str:
    """Serialise ``data`` (a list or dict) under element ``root``, with the UTF-8 declaration.

    >>> to_xml("errors", [{"code": 404, "description": "x"}]).splitlines()[1]
    '<errors><error><code>404</code><description>x</description></error></errors>'
    """
    holder = ET.Element("holder")
    _element(holder, root, data)
    return XML_DECLARATION + ET.tostring(holder[0], encoding="unicode")


def _jsonable(data: Any) -> Any:
    """``data`` with every datetime turned into its W3C string."""
    if isinstance(data, dict):
        return {k: _jsonable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_jsonable(v) for v in data]
    return scalar(data)


def respond(fmt: str, root: str, data: Any, status: int = 200) -> Response:
    """An Open311 response in ``fmt``; ``root`` names the XML document element."""
    if fmt == "xml":
        return Response(to_xml(root, data), status=status, content_type=XML_TYPE)
    body = json.dumps(_jsonable(data), ensure_ascii=False, allow_nan=False)
    return Response(body, status=status, content_type=JSON_TYPE)


def url_format() -> str:
    """The format the URL asked for; anything but ``.xml`` gets JSON (so do errors)."""
    last = request.path.rsplit("/", 1)[-1]
    return "xml" if last.endswith(".xml") else "json"


def known_format(view: F) -> F:
    """Decorator: 404 for a suffix other than ``.json``/``.xml``, before any other check."""

    @wraps(view)
    def inner(*args: Any, **kwargs: Any) -> Any:
        """Check the suffix, then run the view."""
        fmt = kwargs.get("fmt")
        if fmt not in FORMATS:
            raise Problem(404, f"format: unknown format {fmt!r}; use .json or .xml", field="format")
        return view(*args, **kwargs)

    return inner  # type: ignore[return-value]


#: How Open311 operations are documented: the suffix is a format, errors are Open311's.
FORMAT_PATH = {"fmt": {"type": "string", "enum": list(FORMATS)}}


def open311_operation(**declared: Any) -> Callable[[F], F]:
    """:func:`service.openapi.operation` for an Open311 resource (``.json``/``.xml``)."""
    errors = documents.json_or_xml("Open311 errors", documents.Errors)
    responses = {**declared.pop("responses", {}), "4XX": errors}
    return operation(path=FORMAT_PATH, responses=responses, **declared)


def render_error(problem: Problem) -> Response:
    """The Open311 error document for ``problem``, in the URL's format."""
    status = _OPEN311_STATUS.get(problem.status, problem.status)
    body = [{"code": status, "description": problem.detail}]
    resp = respond(url_format(), "errors", body, status=status)
    for key, value in problem.headers.items():
        # A challenge header only makes sense with a 401, which Open311 turns into 403.
        if key != "WWW-Authenticate":
            resp.headers[key] = value
    return resp


@bp.record_once
def _install_renderer(state: Any) -> None:
    """Make every error under ``/open311/v2`` speak Open311 instead of problem+json."""
    state.app.config.setdefault("ERROR_RENDERERS", {})["open311"] = render_error
