"""Mapbox Vector Tiles at ``/tiles`` (built in PostGIS) and their TileJSON."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("tiles", __name__, url_prefix="/tiles")

from service.tiles import views  # noqa: E402,F401  (routes register on import)
