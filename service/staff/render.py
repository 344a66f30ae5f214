"""Staff pages as responses: their security headers, errors as pages, who may see them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Flask, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from geo.access.keys import Principal
from service.auth import principal
from service.errors import Problem

F = TypeVar("F", bound=Callable[..., Any])

#: As the planner map's policy, but forms may post to this site.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "worker-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def page(template: str, status: int = 200, **context: Any) -> Response:
    """Render a staff page: never cached (it depends on who asks), with its own CSP."""
    resp = Response(render_template(template, **context), status=status, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["Cache-Control"] = "private, no-store"
    # Not no-referrer (the default elsewhere): under it a browser sends "Origin: null"
    # with the page's own form posts, and check_csrf refuses them as cross-site.
    resp.headers["Referrer-Policy"] = "same-origin"
    return resp


def home_of(role: str | None) -> str:
    """Where a person lands after signing in without a destination: planners on the map."""
    return "/planner/" if role == "planner" else "/staff/"


def safe_next(target: str | None, default: str = "/staff/") -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirect).

    >>> safe_next("/staff/reports?status=open"), safe_next("//evil.example/"), safe_next(None)
    ('/staff/reports?status=open', '/staff/', '/staff/')
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


def to_login() -> BaseResponse:
    """Send the browser to sign in, coming back here afterwards."""
    here = request.full_path.rstrip("?")
    resp = redirect(url_for("staff.login") + "?" + urlencode({"next": here}))
    # No body: werkzeug's would repeat the address, and with it whatever id was asked.
    resp.set_data(b"")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def staff_page(*roles: str) -> Callable[[F], F]:
    """A page for people holding one of ``roles``: others sign in first, or see 'no access'."""

    def wrap(view: F) -> F:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            who = principal()
            if who.role is None:
                return to_login()
            if not who.has(*roles):
                return no_access(who)
            return view(*args, **kwargs)

        inner.required_roles = roles  # type: ignore[attr-defined]
        return inner  # type: ignore[return-value]

    return wrap


def no_access(who: Principal | None, status: int = 403, reason: str = "") -> Response:
    """The plain 'no access' page (not an error trace)."""
    return page("staff/no_access.html", status=status, who=who, reason=reason)


def _problem_page(problem: Problem) -> BaseResponse:
    """Errors on staff pages as pages; a missing sign-in as the way to it."""
    if problem.status == 401 and request.method in ("GET", "HEAD"):
        return to_login()
    resp = page("staff/error.html", status=problem.status, problem=problem)
    for name, value in problem.headers.items():
        resp.headers.setdefault(name, value)
    return resp


def install(app: Flask) -> None:
    """Render the staff blueprint's errors as pages."""
    app.config["ERROR_RENDERERS"]["staff"] = _problem_page
