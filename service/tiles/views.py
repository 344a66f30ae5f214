"""Vector tile routes: ``/tiles/{layer}/{z}/{x}/{y}.mvt`` and TileJSON at ``/tiles/{layer}.json``.

A tile answer is cacheable: its ETag is derived from the layer's data version
(:func:`geo.layers.tiles.version`, a few indexed reads), the tile address, the caller's
view (public or staff) and the filters, so ``If-None-Match`` is answered with a
304 before any tile SQL runs.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
from typing import Any

from flask import Response, request

from geo.errors import NotFound
from geo.hotspots.runs import latest_run_id
from geo.layers import extents as feature_extents
from geo.layers import features, tiles
from geo.layers.extents import Extent
from geo.layers.intervention_features import interventions_extent
from service.auth import principal
from service.db import read_engine
from service.errors import Problem
from service.openapi import Body, operation
from service.origin import public_origin
from service.tiles import bp

MVT = "application/vnd.mapbox-vector-tile"
LAYERS = tuple(tiles.FIELDS)
#: Query parameters each layer takes (anything else is a 400).
PARAMS = {"hotspots": {"run"}, "reports": {"service", "since", "until"}, "boundaries": {"kind"},
          "interventions": set()}
MAX_AGE = 60  # seconds a client may reuse a tile before revalidating (a 304 is cheap)
WORLD = (-180.0, -85.0511, 180.0, 85.0511)
#: The TileJSON 3.0.0 fields this server fills (https://github.com/mapbox/tilejson-spec).
TILEJSON = {
    "type": "object", "required": ["tilejson", "tiles"],
    "properties": {
        "tilejson": {"const": "3.0.0"}, "name": {"type": "string"},
        "scheme": {"const": "xyz"},
        "tiles": {"type": "array", "items": {"type": "string", "format": "uri-reference"}},
        "minzoom": {"type": "integer"}, "maxzoom": {"type": "integer"},
        "bounds": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "vector_layers": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "fields": {"type": "object"}}}},
    },
}
_ERRORS = {400: "Invalid z, x, y or parameter (named in the message)", 401: "Invalid API key",
           404: "Unknown layer, or run not succeeded"}


def _bad(name: str, message: str) -> Problem:
    return Problem(400, f"{name}: {message}", field=name, kind="invalid-parameter")


#: Path parameters as the views check them (a bad one is a 400 naming it, not a 404).
LAYER: dict[str, Any] = {"type": "string", "enum": list(LAYERS)}
_TILE_INDEX: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 2**22 - 1}
TILE_PATH: dict[str, dict[str, Any]] = {
    "layer": LAYER, "z": {"type": "integer", "minimum": 0, "maximum": tiles.MAX_ZOOM},
    "x": _TILE_INDEX, "y": _TILE_INDEX}


def _layer(layer: str) -> str:
    if layer not in LAYERS:
        raise Problem(404, f"layer: no layer {layer!r}; layers: {', '.join(LAYERS)}",
                      field="layer", kind="not-found")
    return layer


def _address(z: str, x: str, y: str) -> tuple[int, int, int]:
    """Checked z/x/y: z in 0–22, x and y in 0…2^z−1."""
    out: list[int] = []
    for name, raw, high in (("z", z, tiles.MAX_ZOOM), ("x", x, None), ("y", y, None)):
        if not re.fullmatch(r"[0-9]{1,8}", raw):
            raise _bad(name, "must be a non-negative integer")
        value = int(raw)
        top = high if high is not None else 2 ** out[0] - 1
        if value > top:
            raise _bad(name, f"must be between 0 and {top}")
        out.append(value)
    return out[0], out[1], out[2]


def _arg(name: str) -> str | None:
    values = [v for v in request.args.getlist(name) if v != ""]
    if len(values) > 1:
        raise _bad(name, "give it once")
    return values[0] if values else None


def _when(name: str) -> dt.datetime | None:
    raw = _arg(name)
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise _bad(name, "must be an ISO date or date-time such as 2024-05-01") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _query(layer: str) -> dict[str, Any]:
    """The layer's checked query parameters as TileRequest fields."""
    allowed = PARAMS[layer]
    for name in request.args:
        if name not in allowed:
            raise _bad(name, "unknown query parameter; allowed: " + (", ".join(sorted(allowed))))
    out: dict[str, Any] = {}
    run = _arg("run")
    if run is not None:
        if not re.fullmatch(r"[1-9][0-9]{0,17}", run):
            raise _bad("run", "must be a run id")
        out["run_id"] = int(run)
    service = _arg("service")
    if service is not None:
        codes = tuple(c.strip() for c in service.split(",") if c.strip())
        if not codes or any(len(c) > 64 for c in codes):
            raise _bad("service", "a comma-separated list of service codes")
        out["services"] = codes
    out["since"], out["until"] = _when("since"), _when("until")
    if out["since"] and out["until"] and out["since"] >= out["until"]:
        raise _bad("until", "must be after since")
    kind = _arg("kind")
    if kind is not None:
        if kind not in features.BOUNDARY_KINDS:
            raise _bad("kind", "must be one of " + ", ".join(features.BOUNDARY_KINDS))
        out["kind"] = kind
    return out


def _etag(req: tiles.TileRequest, ver: tiles.Version) -> str:
    """A weak ETag: a gzipped and a plain body are the same tile."""
    key = f"{req!r}|{ver.tag}"
    return 'W/"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'


def _matches(etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _cache_headers(resp: Response, etag: str, staff: bool) -> Response:
    resp.headers["ETag"] = etag
    # A staff view holds what the public may not see: never in a shared cache, and
    # revalidated (a cheap 304) every time, so a client that ignores Vary (QGIS) cannot
    # hand it to the next caller.
    resp.headers["Cache-Control"] = "private, no-cache" if staff else f"public, max-age={MAX_AGE}"
    resp.headers["Vary"] = "Accept-Encoding, Authorization, Cookie"
    return resp


@bp.get("/<layer>/<z>/<x>/<y>.mvt")
@operation(summary="Vector tile of a layer", tags=("tiles",), path=TILE_PATH,
           responses={200: Body("Mapbox Vector Tile (empty body: nothing in the tile)",
                                {"application/vnd.mapbox-vector-tile": None}),
                      304: "Not modified", **_ERRORS})
def tile(layer: str, z: str, x: str, y: str) -> Response:
    """One tile; 304 when the caller's ETag is current."""
    layer = _layer(layer)
    tz, tx, ty = _address(z, x, y)
    req = tiles.TileRequest(layer, tz, tx, ty, staff=principal().is_staff, **_query(layer))
    with read_engine().connect() as conn:
        try:
            ver = tiles.version(conn, req)
        except NotFound:
            raise Problem(404, f"run: no succeeded run {req.run_id}", field="run",
                          kind="not-found") from None
        etag = _etag(req, ver)
        if _matches(etag):
            return _cache_headers(Response(status=304), etag, req.staff)
        data = tiles.render(conn, req, ver)
    resp = Response(data, mimetype=MVT)
    if data and request.accept_encodings["gzip"] > 0:
        resp.set_data(gzip.compress(data, compresslevel=5))
        resp.headers["Content-Encoding"] = "gzip"
    return _cache_headers(resp, etag, req.staff)


def _bounds(layer: str, run_id: int | None) -> tuple[float, float, float, float]:
    with read_engine().connect() as conn:
        if layer == "hotspots":
            if run_id is not None and not feature_extents.is_succeeded(conn, run_id):
                raise Problem(404, f"run: no succeeded run {run_id}", field="run", kind="not-found")
            run = run_id or latest_run_id(conn)
            extents = feature_extents.run_extents(conn, [run]) if run else {}
            extent = extents.get(run or 0, Extent())
        elif layer == "reports":
            extent = feature_extents.reports_extent(conn)
        elif layer == "interventions":
            extent = interventions_extent(conn)
        else:
            extent = feature_extents.boundaries_extent(conn)
    return extent.bbox or WORLD


@bp.get("/<layer>.json")
@operation(summary="TileJSON 3.0.0 of a layer", tags=("tiles",), path={"layer": LAYER},
           responses={200: Body("TileJSON 3.0.0", {"application/json": TILEJSON}), **_ERRORS})
def tilejson(layer: str) -> Response:
    """TileJSON 3.0.0: the absolute tile URL template (with the filters), bounds, fields."""
    layer = _layer(layer)
    query = _query(layer)
    principal()  # a bad key is a 401 here too, as on the tiles it points to
    base = public_origin()
    qs = request.query_string.decode()
    x0, y0, x1, y1 = _bounds(layer, query.get("run_id"))
    doc = {
        "tilejson": "3.0.0",
        "name": f"CivicPulse {layer}",
        "scheme": "xyz",
        # The braces must stay literal: clients substitute them.
        "tiles": [f"{base}{request.script_root}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"
                  + (f"?{qs}" if qs else "")],
        "minzoom": 0,
        "maxzoom": 16,
        "bounds": [x0, y0, x1, y1],
        "center": [(x0 + x1) / 2, (y0 + y1) / 2, 12],
        "vector_layers": [
            {"id": name, "fields": fields, **_zooms(name)}
            for name, fields in tiles.FIELDS[layer].items()
        ],
    }
    resp = Response(json.dumps(doc), mimetype="application/json")
    resp.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return resp


def _zooms(mvt_layer: str) -> dict[str, int]:
    """Report cells and points take turns at zoom 14."""
    if mvt_layer == "report_cells":
        return {"minzoom": 0, "maxzoom": tiles.POINTS_ZOOM - 1}
    return {"minzoom": tiles.POINTS_ZOOM if mvt_layer == "report_points" else 0, "maxzoom": 16}


@bp.after_request
def _cors(resp: Response) -> Response:
    """Maps in any origin's browser may read tiles (a key travels in Authorization)."""
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Access-Control-Allow-Headers"] = "Authorization, If-None-Match"
    resp.headers["Access-Control-Expose-Headers"] = "ETag"
    return resp
