"""Mapbox Vector Tiles at ``/tiles`` (placeholder until it lands)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("tiles", __name__, url_prefix="/tiles")
