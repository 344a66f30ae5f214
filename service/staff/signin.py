"""Sign in with a local account (argon2id, optional TOTP, lock-out) and sign out.

A good sign-in replaces the whole Flask session (no fixation): a new session row,
a new token, and a new CSRF token on the next page.
"""

from __future__ import annotations

from flask import Response, current_app, redirect, request, session
from sqlalchemy import Connection
from werkzeug.wrappers import Response as BaseResponse

from geo.accounts import passwords
from geo.accounts import sessions as staff_sessions
from service.auth import SESSION_TOKEN, check_csrf, principal
from service.db import engine
from service.staff import bp
from service.staff.render import home_of, page, safe_next

#: Longest value accepted in each sign-in field (longer is refused before any work).
_FIELD_MAX = {"email": 254, "password": passwords.MAX_PASSWORD, "code": 10}


def _login_form(message: str = "", status: int = 200, email: str = "") -> Response:
    settings = current_app.config["SETTINGS"]
    return page("staff/login.html", status=status, message=message, email=email,
                next=safe_next(request.values.get("next"), ""),
                oidc=bool(settings.oidc_issuer),
                signed_out=False)


@bp.get("/login")
def login() -> BaseResponse:
    """The sign-in form; someone signed in already goes on to where they were going."""
    who = principal()
    if who.user_id is not None:
        return redirect(safe_next(request.args.get("next"), home_of(who.role)))
    return _login_form()


@bp.post("/login")
def login_submit() -> BaseResponse:
    """Check the password (and code), then start a session; refusals say why in plain words."""
    check_csrf()
    fields = {name: request.form.get(name, "") for name in _FIELD_MAX}
    too_long = [name for name, value in fields.items() if len(value) > _FIELD_MAX[name]]
    if too_long:
        return _login_form(f"{too_long[0]}: too long", 400)
    if not fields["email"].strip() or not fields["password"]:
        return _login_form("enter your email and password", 400, fields["email"])
    settings = current_app.config["SETTINGS"]
    with engine().begin() as conn:
        outcome = passwords.sign_in(
            conn, fields["email"], fields["password"], fields["code"],
            max_failures=settings.login_max_failures,
            lockout_minutes=settings.login_lockout_minutes,
        )
        token = (start_session(conn, outcome.user["id"], "password")
                 if outcome.user is not None else None)
    if token is None or outcome.user is None:
        return _login_form(outcome.message, 401, fields["email"])
    begin_session(token)
    return redirect(safe_next(request.form.get("next"), home_of(outcome.user["role"])), 303)


def start_session(conn: Connection, user_id: int, method: str) -> str:
    """A new session row for ``user_id`` with this deployment's lifetimes; its token."""
    settings = current_app.config["SETTINGS"]
    return staff_sessions.start(conn, user_id, method, idle_minutes=settings.session_idle_minutes,
                                max_hours=settings.session_max_hours)


def begin_session(token: str) -> None:
    """Replace the browser's session with a signed-in one."""
    session.clear()
    session[SESSION_TOKEN] = token
    session.permanent = True


@bp.post("/logout")
def logout() -> Response:
    """End the session here and in the database (the old cookie no longer works); the form."""
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str):
        check_csrf()
        with engine().begin() as conn:
            staff_sessions.end(conn, token)
    session.clear()
    return page("staff/login.html", message="", email="", next="",
                oidc=bool(current_app.config["SETTINGS"].oidc_issuer), signed_out=True)
