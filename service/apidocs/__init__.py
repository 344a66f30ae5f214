"""Interactive API documentation at ``/docs``: Swagger UI over ``/openapi.json``.

Swagger UI is vendored from npm (``static/vendor/swagger-ui``, checksums in its
SHA256SUMS) and served by this app, so the page works with no internet and under a
policy that allows only this origin's scripts. ``/openapi.json`` itself is generated
in :mod:`service.openapi` from the schemas that validate requests.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

#: The vendored release (see static/vendor/swagger-ui/VENDOR.txt).
SWAGGER_UI_VERSION = "5.36.0"

STATIC_DIR = Path(__file__).parent / "static"
bp = Blueprint("apidocs", __name__, template_folder="templates", static_folder="static",
               static_url_path="/docs/static")

from service.apidocs import views  # noqa: E402,F401  (routes register on import)
