"""Open311 GeoReport v2 at ``/open311/v2`` (JSON and XML)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

# Routes register on import: reference resources, then service requests and tokens.
from service.open311 import service_requests, views  # noqa: E402,F401
