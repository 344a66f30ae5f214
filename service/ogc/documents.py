"""JSON Schemas of the OGC API answers, for ``/openapi.json`` and ``/docs``.

The shapes are those of OGC API - Features Part 1 (landing page, conformance,
collections); features are RFC 7946 GeoJSON (``service.openapi.FEATURE``). Each
JSON answer also exists as an HTML page (``?f=html``).
"""

from __future__ import annotations

from typing import Any

from service.openapi import Body

LINK: dict[str, Any] = {
    "type": "object", "required": ["href", "rel"],
    "properties": {"href": {"type": "string", "format": "uri"}, "rel": {"type": "string"},
                   "type": {"type": "string"}, "title": {"type": "string"}},
}
LINKS: dict[str, Any] = {"type": "array", "items": LINK}
HTML_PAGE: dict[str, Any] = {"type": "string", "description": "The same resource as an HTML page"}

LANDING: dict[str, Any] = {
    "type": "object", "required": ["links"],
    "properties": {"title": {"type": "string"}, "description": {"type": "string"},
                   "links": LINKS},
}
CONFORMANCE: dict[str, Any] = {
    "type": "object", "required": ["conformsTo"],
    "properties": {"conformsTo": {"type": "array", "items": {"type": "string", "format": "uri"}}},
}
COLLECTION: dict[str, Any] = {
    "type": "object", "required": ["id", "links"],
    "properties": {
        "id": {"type": "string"}, "title": {"type": "string"},
        "description": {"type": "string"}, "links": LINKS,
        "extent": {"type": "object", "properties": {
            "spatial": {"type": "object", "properties": {
                "bbox": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
                "crs": {"type": "string"}}},
            "temporal": {"type": "object", "properties": {
                "interval": {"type": "array", "items": {"type": "array", "items": {
                    "type": ["string", "null"]}}}}}}},
        "itemType": {"type": "string"}, "crs": {"type": "array", "items": {"type": "string"}},
    },
}
COLLECTIONS: dict[str, Any] = {
    "type": "object", "required": ["links", "collections"],
    "properties": {"links": LINKS, "collections": {"type": "array", "items": COLLECTION}},
}


def json_or_html(description: str, schema: dict[str, Any],
                 media_type: str = "application/json") -> Body:
    """A resource answered as JSON (``schema``) or, with ``f=html``, as a page."""
    return Body(description, {media_type: schema, "text/html": HTML_PAGE})
