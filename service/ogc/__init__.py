"""OGC API – Features Part 1 at ``/ogc`` (placeholder until it lands)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
