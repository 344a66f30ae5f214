"""The planners' map page at ``/planner``: self-hosted MapLibre, data over the API with a key."""

from __future__ import annotations

from flask import Blueprint

# No ``static_folder``: views.py serves the files itself, to set long-lived caching
# only when the request names the file's current version.
bp = Blueprint("planner", __name__, url_prefix="/planner", template_folder="templates")

from service.planner import views  # noqa: E402,F401  (routes register on import)
