"""Plain server-rendered HTML of the OGC resources, for a planner's browser.

Each page renders the same document the JSON answer carries (links, tables of
properties), escaped, with no scripts or external assets.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from flask import Response

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5em;max-width:80em}"
    "table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;"
    "text-align:left;vertical-align:top}code{font-size:.9em}"
)


def page(title: str, body: str) -> Response:
    """A whole HTML page around ``body`` (already escaped)."""
    html = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style><h1>{escape(title)}</h1>{body}</html>"
    )
    return Response(html, mimetype="text/html")


def _links(links: list[dict[str, str]]) -> str:
    rows = "".join(
        f"<li><a href='{escape(ln['href'])}'>{escape(ln.get('title') or ln['href'])}</a> "
        f"<small>({escape(ln['rel'])}, {escape(ln.get('type', ''))})</small></li>"
        for ln in links
    )
    return f"<ul>{rows}</ul>"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return f"<code>{escape(json.dumps(value))}</code>"
    return escape(str(value))


def table(rows: list[dict[str, Any]]) -> str:
    """An HTML table of ``rows`` whose values are already escaped HTML."""
    if not rows:
        return "<p>No features.</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{r[c]}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def landing(doc: dict[str, Any]) -> Response:
    """The landing page."""
    return page(doc["title"], f"<p>{escape(doc['description'])}</p>{_links(doc['links'])}")


def conformance(doc: dict[str, Any]) -> Response:
    """The conformance classes."""
    items = "".join(f"<li><code>{escape(c)}</code></li>" for c in doc["conformsTo"])
    return page("Conformance", f"<ul>{items}</ul>")


def _items_href(coll: dict[str, Any]) -> str:
    return next(
        ln["href"] for ln in coll["links"] if ln["rel"] == "items" and ln["type"] == "text/html"
    )


def collections(doc: dict[str, Any]) -> Response:
    """The list of collections."""
    rows = [
        {
            "id": f"<a href='{escape(_items_href(c))}'>{escape(c['id'])}</a>",
            "title": escape(c["title"]),
            "description": escape(c["description"]),
        }
        for c in doc["collections"]
    ]
    return page("Collections", table(rows) + _links(doc["links"]))


def collection(doc: dict[str, Any]) -> Response:
    """One collection's metadata."""
    extent = doc.get("extent", {})
    body = (
        f"<p>{escape(doc['description'])}</p>"
        f"<p>Extent: <code>{escape(json.dumps(extent))}</code></p>{_links(doc['links'])}"
    )
    return page(doc["title"], body)


def items(title: str, features_json: str, matched: int, links: list[dict[str, str]],
          item_href: str) -> Response:
    """A page of features as a table of their properties, with paging links."""
    rows = []
    for f in json.loads(features_json):
        fid = str(f["id"])
        row = {"id": f"<a href='{escape(item_href + fid)}?f=html'>{escape(fid)}</a>"}
        row.update({k: _cell(v) for k, v in f["properties"].items()})
        rows.append(row)
    body = f"<p>{len(rows)} of {matched} features.</p>{_links(links)}{table(rows)}"
    return page(title, body)


def item(title: str, feature: dict[str, Any]) -> Response:
    """One feature: its properties and geometry."""
    rows = [{"property": escape(k), "value": _cell(v)} for k, v in feature["properties"].items()]
    body = (
        table(rows)
        + f"<p>Geometry: <code>{escape(json.dumps(feature['geometry'])[:2000])}</code></p>"
        + _links(feature["links"])
    )
    return page(title, body)
