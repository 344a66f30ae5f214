"""One error shape per surface, raised from one place.

``/api/v1`` answers RFC 9457 ``application/problem+json``; ``/open311/v2`` answers
Open311's ``[{"code": …, "description": …}]`` (JSON or XML by the URL's suffix).
Views raise :class:`Problem`; the handlers below pick the surface's shape.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from flask import Flask, Response, current_app, g, json, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from service import error_messages

log = logging.getLogger("civicpulse.errors")

PROBLEM_BASE = "https://civicpulse.dev/problems/"


class Problem(Exception):
    """A client error with a message that names the offending field."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        kind: str = "invalid-request",
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.kind = kind
        self.field = field
        self.errors = errors or ([{"field": field, "message": detail}] if field else [])
        self.headers = headers or {}

    def as_problem(self) -> dict[str, Any]:
        """The RFC 9457 body."""
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        rid = getattr(g, "request_id", None)
        if rid:
            body["request_id"] = rid
        return body


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

#: Seconds a client should wait before retrying while the database is unavailable.
DB_RETRY_AFTER = 5


def database_problem(exc: BaseException) -> Problem:
    """A 503 for a database that is unreachable, restarting, overloaded or too slow."""
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, psycopg.errors.QueryCanceled):
        limit = current_app.config["SETTINGS"].statement_timeout_ms
        return Problem(503, f"database: the query took longer than {limit} ms; narrow it "
                       "or retry later", kind="query-timeout",
                       headers={"Retry-After": str(DB_RETRY_AFTER)})
    return Problem(503, "database: unavailable; retry shortly", kind="database-unavailable",
                   headers={"Retry-After": str(DB_RETRY_AFTER)})


def field_path(loc: tuple[Any, ...]) -> str:
    """Render a pydantic error location as a dotted field name (``reports[3].lat``)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before", "function-wrap"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def from_validation(exc: ValidationError, status: int = 422, prefix: str = "",
                    model: type[BaseModel] | None = None) -> Problem:
    """Turn a pydantic error into a Problem whose message names each field and its rule.

    ``model`` is what was validated: with it, a range names both of its bounds.
    """
    errors: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        if model is not None:
            loc = error_messages.locate(model, loc)[1]
        name = field_path(((prefix,) if prefix else ()) + loc)
        text = error_messages.message(err, model, loc)
        if errors and errors[-1]["field"] == name:
            # One value failing each member of a union: one message listing what it may be.
            errors[-1]["message"] += " or " + text.removeprefix("must be ")
            continue
        errors.append({"field": name, "message": text})
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    detail = f"{first['field']}: {first['message']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return Problem(status, detail, kind="validation", errors=errors)


def problem_response(problem: Problem) -> Response:
    """Serialise a Problem as ``application/problem+json``."""
    resp = Response(
        json.dumps(problem.as_problem()),
        status=problem.status,
        mimetype="application/problem+json",
    )
    for k, v in problem.headers.items():
        resp.headers[k] = v
    return resp


def _surface_response(problem: Problem) -> Response:
    renderer = current_app.config.get("ERROR_RENDERERS", {}).get(request.blueprint or "")
    if renderer is not None:
        return renderer(problem)
    return problem_response(problem)


def register(app: Flask) -> None:
    """Install the error handlers on ``app``."""

    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return _surface_response(exc)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        return _surface_response(from_validation(exc))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        detail = exc.description or _TITLES.get(status, "Error")
        if status == 413:
            detail = (
                f"body: request body exceeds the limit of "
                f"{current_app.config.get('MAX_CONTENT_LENGTH')} bytes"
            )
        kind = _TITLES.get(status, "error").lower().replace(" ", "-")
        if status == 429:  # Flask-Limiter's; it adds Retry-After after the response is made
            detail, kind = f"too many requests: at most {exc.description}; retry later", \
                "rate-limited"
        problem = Problem(status, detail, kind=kind)
        resp = _surface_response(problem)
        if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return resp

    # OperationalError covers refused connections, a server shutting down, broken
    # connections and statement timeouts; TimeoutError is the pool's own wait.
    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.TimeoutError)
    @app.errorhandler(psycopg.OperationalError)
    def _database_unavailable(exc: Exception) -> Response:
        log.warning("database unavailable: %s", type(getattr(exc, "orig", exc)).__name__,
                    extra={"request_id": getattr(g, "request_id", None)})
        return _surface_response(database_problem(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Transactions are scoped with ``engine.begin()`` so they have rolled back
        # already; log with the request id so an operator can find the trace.
        log.exception("unhandled error", extra={"request_id": getattr(g, "request_id", None)})
        return _surface_response(
            Problem(500, "internal error; quote the request id to the operator", kind="internal")
        )
