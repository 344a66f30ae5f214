"""The native JSON API at ``/api/v1`` (problem+json errors)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from service.api import reports  # noqa: E402,F401  (routes register on import)
