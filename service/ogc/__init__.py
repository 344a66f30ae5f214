"""OGC API – Features Part 1 at ``/ogc`` (Core, GeoJSON, HTML, OpenAPI 3.0)."""

from __future__ import annotations

from flask import Blueprint, Response, json

from service.errors import Problem

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

#: OGC exception codes (the OWS names clients recognise) per HTTP status.
_CODES = {400: "InvalidParameterValue", 401: "NotAuthorized", 404: "NotFound"}


def render_error(problem: Problem) -> Response:
    """An RFC 9457 problem that also carries the OGC exception's ``code`` and ``description``."""
    body = problem.as_problem()
    body["code"] = _CODES.get(problem.status, "ServerError" if problem.status >= 500 else "Error")
    body["description"] = problem.detail
    resp = Response(json.dumps(body), status=problem.status, mimetype="application/problem+json")
    for key, value in problem.headers.items():
        resp.headers[key] = value
    return resp


@bp.record_once
def _install_error_renderer(state) -> None:  # type: ignore[no-untyped-def]
    state.app.config["ERROR_RENDERERS"]["ogc"] = render_error


from service.ogc import views  # noqa: E402,F401  (routes register on import)
