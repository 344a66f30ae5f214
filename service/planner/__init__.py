"""The planners' map page at ``/planner`` (placeholder until it lands)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("planner", __name__, url_prefix="/planner")
