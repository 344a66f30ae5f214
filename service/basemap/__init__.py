"""The basemap at ``/basemap``: a PMTiles file served with range requests, and its style.

``CIVICPULSE_BASEMAP`` names a ``.pmtiles`` file (``make demo`` writes one of the
demo city) or the URL of a MapLibre style the city serves itself. The residents'
app and the planners' map draw their data over it; without it they have no streets.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("basemap", __name__, url_prefix="/basemap")

from service.basemap import views  # noqa: E402,F401  (routes register on import)
