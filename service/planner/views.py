"""The map page, its static files (versioned, long-cached) and the caller's role."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.security import safe_join

from service.assets import LONG_MAX_AGE, content_version
from service.auth import principal
from service.basemap.views import page_basemap
from service.headers import page_csp
from service.openapi import operation
from service.planner import bp

STATIC_DIR = Path(__file__).parent / "static"
#: The vendored MapLibre GL JS build (see static/vendor/maplibre-gl/NOTICE).
MAPLIBRE_VERSION = "6.17.0"
MAPLIBRE_DIR = "vendor/maplibre-gl/"

# The page talks only to its own origin: the browser itself then refuses any CDN,
# font or basemap request, and a violation shows up as a console error in the test.
# MapLibre sets element.style from script (allowed) and starts its worker from a
# same-origin module URL, so no 'unsafe-inline', 'unsafe-eval' or blob: scripts.
CSP = page_csp()


class WhoAmI(BaseModel):
    """The caller's role and key name (both null without a key)."""

    role: str | None
    name: str | None


def asset_version(filename: str) -> str:
    """The version query a file's URL carries: MapLibre's release, or our file's hash."""
    # MapLibre loads its own worker as maplibre-gl-worker.mjs?v=<release>, so the
    # vendored files use the release number; our files change with every edit.
    if filename.startswith(MAPLIBRE_DIR):
        return MAPLIBRE_VERSION
    return content_version(STATIC_DIR, filename)


def asset_url(filename: str) -> str:
    """The versioned URL of a static file (what the page links to)."""
    return url_for("planner.asset", filename=filename, v=asset_version(filename))


def _serves(path: str) -> bool:
    """True when a GET of ``path`` reaches a view of this app (not the 404 handler)."""
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except RequestRedirect:
        return True
    except HTTPException:
        return False
    return True


@bp.get("/")
def page() -> Response:
    """The map page: public HTML with no data in it; the browser fetches data with a key."""
    # The page asks only for layers this deployment serves: a probe answered 404
    # would be logged in the browser console as an error.
    html = render_template(
        "planner/index.html",
        asset_url=asset_url,
        maplibre_version=MAPLIBRE_VERSION,
        tiles=_serves("/tiles/reports.json"),
        ogc_boundaries=_serves("/ogc/collections/boundaries/items"),
        basemap=page_basemap(),
    )
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    # The page names asset versions, so it must be revalidated to pick up new ones.
    resp.cache_control.no_cache = True
    return resp


@bp.get("/static/<path:filename>")
def asset(filename: str) -> Response:
    """A static file: a year of caching when the URL names its current version."""
    if safe_join(str(STATIC_DIR), filename) is None:
        abort(404)
    resp = send_from_directory(STATIC_DIR, filename, max_age=0)
    if filename.endswith((".js", ".mjs")):
        # Browsers refuse module scripts served with any other type, and the
        # system's mime.types must not decide that.
        resp.mimetype = "text/javascript"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    wanted = asset_version(filename)
    if wanted and request.args.get("v") == wanted:
        resp.cache_control.public = True
        resp.cache_control.max_age = LONG_MAX_AGE
        resp.cache_control.immutable = True
    else:
        # Unversioned (a module imported by another) or stale: revalidate with the ETag.
        resp.cache_control.max_age = None
        resp.cache_control.no_cache = True
    return resp


@bp.get("/whoami")
@operation(summary="The role of the caller's API key (the map page adapts to it)",
           responses={200: WhoAmI}, tags=("planner",))
def whoami() -> Response:
    """The caller's role and key name; 401 for an unknown key, role null without one."""
    who = principal()
    resp = jsonify(role=who.role, name=who.name if who.role else None)
    resp.cache_control.no_store = True
    resp.cache_control.private = True
    return resp
