"""Plain helpers shared by the Open311 tests (fixtures live in conftest.py)."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

BASE = "/open311/v2"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


def parse_xml(resp: Any) -> ET.Element:
    """The XML document of ``resp``, after checking its declaration and content type."""
    assert resp.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert resp.data.startswith(XML_DECLARATION)
    return ET.fromstring(resp.data)


def error_of(resp: Any, fmt: str = "json") -> tuple[int, str]:
    """``(code, description)`` of an Open311 error response in ``fmt``."""
    if fmt == "xml":
        root = parse_xml(resp)
        assert root.tag == "errors" and [e.tag for e in root] == ["error"]
        return int(root.findtext("error/code")), root.findtext("error/description")
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    body = resp.get_json()
    assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code", "description"}
    return body[0]["code"], body[0]["description"]


def shift(lat: float, lng: float, north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    """A point ``north_m``/``east_m`` metres from ``(lat, lng)`` (small-offset approximation)."""
    return (
        lat + north_m / 111_320.0,
        lng + east_m / (111_320.0 * math.cos(math.radians(lat))),
    )
