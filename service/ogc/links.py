"""Absolute, typed links of the OGC API (every link carries ``rel`` and ``type``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import request

from service.origin import public_origin

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


def root() -> str:
    """The absolute URL of the OGC landing page, without a trailing slash.

    ``CIVICPULSE_PUBLIC_URL`` wins over the request's host, so links stay right
    behind a proxy that rewrites Host.
    """
    return public_origin() + request.script_root + "/ogc"


def href(path: str, **query: Any) -> str:
    """``path`` (relative to the landing page) as an absolute URL with ``query``."""
    pairs = [(k, v) for k, v in query.items() if v is not None]
    return root() + path + ("?" + urlencode(pairs) if pairs else "")


def link(
    path: str, rel: str, media_type: str, title: str | None = None, **query: Any
) -> dict[str, str]:
    """A link object; ``title`` is optional in the standard but helps QGIS and humans."""
    out = {"href": href(path, **query), "rel": rel, "type": media_type}
    if title:
        out["title"] = title
    return out


def page_links(path: str, args: dict[str, str], *, limit: int, offset: int, returned: int,
               matched: int) -> list[dict[str, str]]:
    """self/alternate/next/prev for an items page; next and prev keep every filter."""
    kept = {k: v for k, v in args.items() if k not in ("f", "limit", "offset")}
    here = {**kept, "limit": limit, "offset": offset or None}
    out = [
        link(path, "self", GEOJSON, "This page", **here),
        link(path, "alternate", HTML, "This page as HTML", **here, f="html"),
    ]
    if offset + returned < matched:
        out.append(link(path, "next", GEOJSON, "Next page",
                        **{**kept, "limit": limit, "offset": offset + limit}))
    if offset > 0:
        out.append(link(path, "prev", GEOJSON, "Previous page",
                        **{**kept, "limit": limit, "offset": max(0, offset - limit) or None}))
    return out
