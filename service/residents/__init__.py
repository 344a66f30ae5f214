"""The residents' app at ``/app``: an installable, offline-first reporting web app.

The page is public: it holds the city's web app key (``CIVICPULSE_APP_KEY``, role
``app``), which every browser may read; the per-device and per-address rate limits
and the device hash, not secrecy, keep one phone from flooding the service. Modules:

- ``views``: the page, its service worker, web manifest and static files;
- ``catalogs``: the app's words in each language (gettext ``.po`` files read with
  Babel) and the services as the app shows them, translated by the city.
"""

from __future__ import annotations

from flask import Blueprint

# No ``static_folder``: views.py serves the files itself (versioned caching, gzip).
bp = Blueprint("residents", __name__, url_prefix="/app", template_folder="templates")

from service.residents import views  # noqa: E402,F401  (routes register on import)
