"""The native JSON API at ``/api/v1`` (problem+json errors)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Routes register on import; one module per resource.
from service.api import (  # noqa: E402,F401
    audit,
    exports,
    hotspot_runs,
    interventions,
    keys,
    photos,
    reports,
)
