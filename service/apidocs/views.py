"""The ``/docs`` page: static HTML that loads Swagger UI and points it at ``/openapi.json``."""

from __future__ import annotations

from flask import Response, render_template, url_for

from service.apidocs import STATIC_DIR, bp
from service.assets import content_version
from service.headers import page_csp

# Only this origin: Swagger UI's bundle, our start-up module, the API document and
# "Try it out" calls. It sets styles from script (CSSOM, allowed) and draws icons as
# data: images; nothing inline, nothing evaluated: the self-only page policy.
CSP = page_csp()


def _asset(filename: str) -> str:
    """A static file's URL, versioned by its content so caches refresh on any change."""
    return url_for("apidocs.static", filename=filename, v=content_version(STATIC_DIR, filename))


@bp.get("/docs")
@bp.get("/docs/")
def page() -> Response:
    """The interactive API documentation (the document itself is ``/openapi.json``)."""
    html = render_template("apidocs/index.html", asset=_asset,
                           spec_url=url_for("openapi.openapi_json"))
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = CSP
    resp.cache_control.no_cache = True
    return resp
