"""The app's page, service worker, manifest, static files, words and services.

Everything here is public and the same for every caller: the data a resident
sends goes through ``/api/v1`` with the app key the page carries.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, jsonify, render_template, request, url_for
from werkzeug.security import safe_join

from geo.services import list_services
from service.basemap.views import page_basemap
from service.db import engine
from service.planner.views import MAPLIBRE_VERSION
from service.planner.views import STATIC_DIR as PLANNER_STATIC
from service.residents import bp, catalogs

STATIC_DIR = Path(__file__).parent / "static"
MAPLIBRE_DIR = "vendor/maplibre-gl/"
#: A year: a versioned URL never changes content.
LONG_MAX_AGE = 365 * 24 * 3600
#: Text files worth compressing (the shell's budget is counted compressed).
COMPRESSIBLE = (".js", ".mjs", ".css", ".json", ".svg", ".webmanifest")
MIME_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
              ".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json"}

#: The app's own modules and files the service worker keeps for offline use.
SHELL_FILES = (
    "app.css", "app.js", "api.js", "i18n.js", "queue.js", "report.js", "mine.js",
    "map.js", "photos.js", "ui.js", "vendor/idb/idb.mjs",
    "icons/icon-192.png", "icons/icon-512.png",
)
#: MapLibre, kept too so that the map opens offline (loaded only when a map is shown).
MAP_FILES = (MAPLIBRE_DIR + "maplibre-gl.mjs", MAPLIBRE_DIR + "maplibre-gl-worker.mjs",
             MAPLIBRE_DIR + "maplibre-gl.css")

# Same origin only, no inline script or style, no eval: the browser itself refuses
# a CDN or a tracker. The map's worker is a same-origin module; tiles and the
# basemap style come from this origin (a city's own style URL is added below).
_CSP = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)


def _csp() -> str:
    """The page's policy; a city's own basemap origin is allowed to be fetched."""
    connect = "connect-src 'self'"
    basemap = current_app.config["SETTINGS"].basemap
    if basemap.startswith(("https://", "http://")):
        scheme, _, rest = basemap.partition("://")
        connect += f" {scheme}://{rest.split('/', 1)[0]}"
    return "; ".join((*_CSP, connect))


def _file(filename: str) -> Path | None:
    """The file behind ``filename`` (MapLibre from the planner's vendored copy)."""
    if filename.startswith(MAPLIBRE_DIR):
        found = safe_join(str(PLANNER_STATIC), filename)
    else:
        found = safe_join(str(STATIC_DIR), filename)
    if found is None or not Path(found).is_file():
        return None
    return Path(found)


@lru_cache(maxsize=128)
def _read(path: str, mtime_ns: int, size: int) -> tuple[bytes, bytes, str]:
    """A file's bytes, gzipped bytes (empty when not worth it) and 12-hex SHA-256."""
    data = Path(path).read_bytes()
    packed = gzip.compress(data, 9, mtime=0) if path.endswith(COMPRESSIBLE) else b""
    return data, packed, hashlib.sha256(data).hexdigest()[:12]


def _load(filename: str) -> tuple[bytes, bytes, str] | None:
    path = _file(filename)
    if path is None:
        return None
    stat = path.stat()
    return _read(str(path), stat.st_mtime_ns, stat.st_size)


def asset_version(filename: str) -> str:
    """The version a file's URL carries: MapLibre's release, or the file's hash."""
    if filename.startswith(MAPLIBRE_DIR):
        return MAPLIBRE_VERSION
    loaded = _load(filename)
    return loaded[2] if loaded else ""


def asset_url(filename: str) -> str:
    """The versioned URL of a static file."""
    return url_for("residents.asset", filename=filename, v=asset_version(filename))


def _compressed(resp: Response, data: bytes, packed: bytes) -> Response:
    """Send ``packed`` (gzip) when the client takes it, else ``data``."""
    resp.vary.add("Accept-Encoding")
    if packed and "gzip" in request.headers.get("Accept-Encoding", ""):
        resp.set_data(packed)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp.set_data(data)
    return resp


def _page_headers(resp: Response) -> Response:
    resp.headers["Content-Security-Policy"] = _csp()
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.cache_control.no_cache = True
    return resp


def _text(body: str, mimetype: str) -> Response:
    """A small generated text answer, gzipped when the client takes it."""
    data = body.encode("utf-8")
    resp = Response(mimetype=mimetype)
    _compressed(resp, data, gzip.compress(data, 9, mtime=0) if len(data) > 1024 else b"")
    resp.set_etag(hashlib.sha256(data).hexdigest()[:16])
    resp.cache_control.no_cache = True
    resp.make_conditional(request)
    return resp


@bp.get("/")
def page() -> Response:
    """The app shell: public HTML; the browser fetches everything else itself."""
    html = render_template(
        "residents/index.html",
        asset_url=asset_url,
        app_key=current_app.config["SETTINGS"].app_key,
        languages=catalogs.languages(),
        basemap=page_basemap(),
    )
    resp = _text(html, "text/html")
    return _page_headers(resp)


def shell_urls() -> list[str]:
    """Every URL the service worker keeps, as the page and modules request them."""
    urls = [url_for("residents.page"), url_for("residents.manifest"),
            url_for("residents.services")]
    urls += [url_for("residents.words", language=lang) for lang in catalogs.languages()]
    for name in (*SHELL_FILES, *MAP_FILES):
        # Modules import each other without a version query; the page links versioned.
        urls += [url_for("residents.asset", filename=name), asset_url(name)]
    basemap = page_basemap()
    # Our basemap's style and reader (its tiles are read by range: not kept offline).
    urls += [basemap[k] for k in ("module", "pmtiles") if basemap[k]]
    if basemap["style"].startswith("/"):
        urls.append(basemap["style"])
    return urls


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker; its cache is named after every shell file's version."""
    urls = shell_urls()
    version = hashlib.sha256("\n".join(urls).encode()).hexdigest()[:12]
    body = render_template("residents/sw.js", urls=urls, version=version,
                           scope=url_for("residents.page"))
    resp = _text(body, "text/javascript")
    # Browsers check for a new worker at least daily; no-cache makes it every visit.
    resp.headers["Service-Worker-Allowed"] = url_for("residents.page")
    return resp


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web manifest: what makes the app installable to a home screen."""
    icons = [{"src": asset_url(f"icons/icon-{size}.png"), "sizes": f"{size}x{size}",
              "type": "image/png", "purpose": "any"} for size in (192, 512)]
    body: dict[str, Any] = {
        "name": "CivicPulse: report a problem",
        "short_name": "CivicPulse",
        "description": "Report a problem in your street to the city, even offline.",
        "start_url": url_for("residents.page"),
        "scope": url_for("residents.page"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0e548c",
        "lang": "en",
        "icons": icons,
    }
    resp = jsonify(body)
    resp.mimetype = "application/manifest+json"
    resp.cache_control.no_cache = True
    return resp


@bp.get("/static/<path:filename>")
def asset(filename: str) -> Response:
    """A static file, gzipped when useful; a year of caching when the URL is versioned."""
    loaded = _load(filename)
    if loaded is None:
        abort(404)
    data, packed, digest = loaded
    suffix = Path(filename).suffix
    resp = Response(mimetype=MIME_TYPES.get(suffix, "application/octet-stream"))
    _compressed(resp, data, packed)
    resp.set_etag(digest + ("-gz" if resp.headers.get("Content-Encoding") else ""))
    if request.args.get("v") == asset_version(filename):
        resp.cache_control.public = True
        resp.cache_control.max_age = LONG_MAX_AGE
        resp.cache_control.immutable = True
    else:
        resp.cache_control.no_cache = True
    resp.make_conditional(request)
    return resp


@bp.get("/services.json")
def services() -> Response:
    """The services as the app shows them: questions, privacy and the city's translations."""
    with engine().connect() as conn:
        rows = list_services(conn)
    items = [
        {
            "service_code": s["code"],
            "service_name": s["name"],
            "description": s["description"],
            "group": s["group"],
            "privacy": s["privacy"],
            "attributes": sorted(
                (a for a in s["attributes"] or [] if a.get("variable", True)),
                key=lambda a: int(a.get("order", 1)),
            ),
            "translations": s["translations"] or [],
        }
        for s in rows
    ]
    return _text(json.dumps({"services": items}, ensure_ascii=False), "application/json")


@bp.get("/i18n/<language>.json")
def words(language: str) -> Response:
    """The app's words in ``language`` as ``{English: translation}``; 404 if not spoken."""
    if language not in catalogs.languages():
        abort(404)
    body = json.dumps(catalogs.messages(language), ensure_ascii=False, sort_keys=True)
    return _text(body, "application/json")
