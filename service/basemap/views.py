"""The basemap file (byte ranges, cached), its style, and the PMTiles reader the pages load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, jsonify, request, send_file, url_for

from service.basemap import bp

STATIC_DIR = Path(__file__).parent / "static"
PMTILES_JS = "vendor/pmtiles/pmtiles.js"
#: The module that registers the ``pmtiles://`` protocol with MapLibre (both pages use it).
MODULE = "basemap.js"
#: The vendored PMTiles reader's release (static/vendor/pmtiles/NOTICE).
PMTILES_VERSION = "4.5.0"
#: Tiles change only when the file is written again: an hour, then revalidate by ETag.
MAX_AGE = 3600

# A small hand style over the Protomaps layer names the demo basemap (or a
# Protomaps extract) carries. No labels: they need glyph files, which are not vendored.
_COLOURS = {"earth": "#f4f1ea", "water": "#a8cbe3", "park": "#cfe5c0",
            "major": "#f7c66b", "medium": "#ffffff", "minor": "#ffffff", "casing": "#d6d0c4"}


def _file() -> Path | None:
    """The configured PMTiles file, if the basemap is a file."""
    configured = current_app.config["SETTINGS"].basemap
    if not configured or configured.startswith(("https://", "http://")):
        return None
    path = Path(configured)
    return path if path.is_file() else None


def page_basemap() -> dict[str, str]:
    """What a map page needs: the style URL, the module and, for our file, the reader."""
    configured = current_app.config["SETTINGS"].basemap
    module = url_for("basemap.asset", filename=MODULE)
    if configured.startswith(("https://", "http://")):
        return {"style": configured, "module": module, "pmtiles": ""}
    if _file() is None:
        return {"style": "", "module": "", "pmtiles": ""}
    return {"style": url_for("basemap.style"), "module": module,
            "pmtiles": url_for("basemap.asset", filename=PMTILES_JS, v=PMTILES_VERSION)}


def _road(kind: str, width: tuple[float, float], colour: str) -> dict[str, Any]:
    return {"id": f"roads-{kind}", "type": "line", "source": "basemap", "source-layer": "roads",
            "filter": ["==", ["get", "kind"], f"{kind}_road"],
            "layout": {"line-cap": "round", "line-join": "round"},
            "paint": {"line-color": colour,
                      "line-width": ["interpolate", ["exponential", 1.6], ["zoom"],
                                     12, width[0], 17, width[1]]}}


def style_document() -> dict[str, Any]:
    """The MapLibre style of the served PMTiles file."""
    c = _COLOURS
    return {
        "version": 8,
        "name": "CivicPulse basemap",
        "sources": {"basemap": {
            "type": "vector", "url": "pmtiles://" + url_for("basemap.archive"),
            "attribution": "Basemap: the city's own data"}},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": c["water"]}},
            {"id": "earth", "type": "fill", "source": "basemap", "source-layer": "earth",
             "paint": {"fill-color": c["earth"]}},
            {"id": "parks", "type": "fill", "source": "basemap", "source-layer": "landuse",
             "filter": ["==", ["get", "kind"], "park"], "paint": {"fill-color": c["park"]}},
            {"id": "water", "type": "fill", "source": "basemap", "source-layer": "water",
             "filter": ["==", ["geometry-type"], "Polygon"], "paint": {"fill-color": c["water"]}},
            {"id": "streams", "type": "line", "source": "basemap", "source-layer": "water",
             "filter": ["==", ["geometry-type"], "LineString"],
             "paint": {"line-color": c["water"], "line-width": 3}},
            {"id": "roads-casing", "type": "line", "source": "basemap", "source-layer": "roads",
             "layout": {"line-cap": "round", "line-join": "round"},
             "paint": {"line-color": c["casing"],
                       "line-width": ["interpolate", ["exponential", 1.6], ["zoom"],
                                      12, 1.5, 17, 16]}},
            _road("minor", (0.5, 12), c["minor"]),
            _road("medium", (1, 14), c["medium"]),
            _road("major", (1.5, 18), c["major"]),
        ],
    }


@bp.get("/style.json")
def style() -> Response:
    """The style the pages draw the served basemap with; 404 when no file is configured."""
    if _file() is None:
        abort(404)
    resp = jsonify(style_document())
    resp.cache_control.no_cache = True
    return resp


@bp.get("/basemap.pmtiles")
def archive() -> Response:
    """The PMTiles file: clients read it with HTTP range requests (206)."""
    path = _file()
    if path is None:
        abort(404)
    resp = send_file(path, mimetype="application/vnd.pmtiles", conditional=True, etag=True,
                     max_age=MAX_AGE)
    resp.cache_control.public = True
    return resp


@bp.get("/static/<path:filename>")
def asset(filename: str) -> Response:
    """The vendored PMTiles reader (versioned: a year of caching) and the module."""
    if filename not in (PMTILES_JS, MODULE):
        abort(404)
    resp = send_file(STATIC_DIR / filename, mimetype="text/javascript", conditional=True,
                     max_age=0)
    if request.args.get("v") == PMTILES_VERSION:
        resp.cache_control.public = True
        resp.cache_control.max_age = 365 * 24 * 3600
        resp.cache_control.immutable = True
    else:
        resp.cache_control.no_cache = True
    return resp
