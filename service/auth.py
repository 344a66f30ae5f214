"""Who is calling: an API key, or a person signed in to the staff pages.

Machines send ``Authorization: Bearer <key>`` (Open311 POST also ``api_key``); desktop
GIS may read the OGC API and tiles with HTTP Basic: a staff account's email and
password, or any user name with an API key as the password.
People carry a session cookie (:mod:`service.staff`): a signed Flask session holding
a random token whose row in ``staff_sessions`` says who they are
(:mod:`geo.accounts.sessions`). Both give a :class:`~geo.access.keys.Principal` that goes
through the same role checks, so nothing can do more in the browser than over the
API. A write authenticated by the cookie must carry the page's CSRF token and, when
the browser says where it comes from, come from this origin: another site can make a
browser send the cookie, but not read the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect

from geo.access import keys
from geo.access.keys import ANONYMOUS, Principal
from geo.accounts import passwords
from geo.accounts import sessions as staff_sessions
from service import caches
from service.db import engine
from service.errors import Problem

F = TypeVar("F", bound=Callable[..., Any])

#: Where the Flask session keeps the staff session's token.
SESSION_TOKEN = "staff_token"  # nosec B105
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

csrf = CSRFProtect()


#: Surfaces that also take HTTP Basic, for reading only: what desktop GIS (QGIS's
#: Basic auth configs, GDAL's GDAL_HTTP_AUTH=BASIC) can send. Nowhere else: a browser
#: replays remembered Basic credentials on any request, cross-site forms included.
BASIC_SURFACES = ("ogc", "tiles")


def _challenge() -> dict[str, str]:
    """``WWW-Authenticate``: Basic too where it is accepted."""
    if request.blueprint in BASIC_SURFACES:
        return {"WWW-Authenticate": 'Basic realm="civicpulse", Bearer realm="civicpulse"'}
    return {"WWW-Authenticate": 'Bearer realm="civicpulse"'}


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, kind="unauthorized", field="Authorization", headers=_challenge())


def bearer_key() -> str | None:
    """The key from the Authorization header, if any (Basic: see :func:`principal`)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and request.blueprint in BASIC_SURFACES:
        return None
    if scheme.lower() != "bearer" or not value.strip():
        raise _unauthorized("Authorization: expected 'Bearer <api key>'" + (
            " or HTTP Basic" if request.blueprint in BASIC_SURFACES else ""))
    return value.strip()


def _basic_credentials() -> tuple[str, str] | None:
    """``(user, password)`` of an HTTP Basic header on a surface that takes it."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or request.blueprint not in BASIC_SURFACES:
        return None
    if request.method not in SAFE_METHODS:
        raise _unauthorized("Authorization: HTTP Basic is for reading only")
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(
            ":")
    except (ValueError, UnicodeDecodeError):
        raise _unauthorized("Authorization: malformed HTTP Basic credentials") from None
    if not sep or not password:
        raise _unauthorized("Authorization: HTTP Basic needs user:password")
    return user, password


def principal(form_key: str | None = None) -> Principal:
    """The caller of this request (cached); an unknown key is a 401, never anonymous."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    basic = _basic_credentials()
    if basic is not None and not basic[1].startswith(keys.KEY_PREFIX):
        g.principal = _account_principal(*basic)
        return g.principal
    key = basic[1] if basic is not None else (bearer_key() or form_key)
    if not key:
        g.principal = _session_principal() or ANONYMOUS
        return g.principal
    # Known keys are remembered while api_keys is unchanged (a revocation takes
    # effect on the next request, in every process); unknown ones are asked again.
    with engine().connect() as conn:
        found = caches.principal(conn, keys.digest(key), lambda: keys.lookup(conn, key))
    if found is None:
        raise _unauthorized("api key is not valid")
    g.principal = found
    return found


#: Desktop GIS sends the password with every tile; checking argon2 each time would cost
#: ~0.1 s a tile, so a good one is remembered this long (a disabled account's Basic
#: access ends within it; its sessions and any key end at once).
ACCOUNT_TTL = 30.0
_accounts: dict[bytes, tuple[float, Principal]] = {}
_accounts_lock = threading.Lock()


def _account_principal(email: str, password: str) -> Principal:
    """A staff account's HTTP Basic credentials, checked with argon2, remembered briefly."""
    settings = current_app.config["SETTINGS"]
    # Keyed by an HMAC, so the cache holds nothing a memory dump could replay elsewhere.
    digest = hmac.new(settings.secret_key.encode(), f"{email}\0{password}".encode(),
                      hashlib.sha256).digest()
    now = time.monotonic()
    with _accounts_lock:
        hit = _accounts.get(digest)
    if hit is not None and hit[0] > now:
        return hit[1]
    refused: list[str] = []

    def load() -> Principal | None:
        with engine().begin() as conn:
            outcome = passwords.sign_in(
                conn, email, password, None, max_failures=settings.login_max_failures,
                lockout_minutes=settings.login_lockout_minutes)
        if outcome.user is None:
            refused.append(outcome.message)
            return None
        return Principal(key_id=None, role=outcome.user["role"], name=outcome.user["email"],
                         user_id=outcome.user["id"])

    found = load()
    if found is None:
        raise _unauthorized(f"Authorization: {refused[0] if refused else 'refused'}")
    with _accounts_lock:
        if len(_accounts) >= 10_000:
            _accounts.clear()
        _accounts[digest] = (now + ACCOUNT_TTL, found)
    return found


def _session_principal() -> Principal | None:
    """The person of the session cookie, if it names a live session; checks CSRF on writes."""
    token = session.get(SESSION_TOKEN)
    if not isinstance(token, str):
        return None
    settings = current_app.config["SETTINGS"]
    with engine().begin() as conn:
        who = staff_sessions.lookup(conn, token, idle_minutes=settings.session_idle_minutes,
                                    max_hours=settings.session_max_hours)
    if who is None:
        session.pop(SESSION_TOKEN, None)  # ended, idle or disabled: forget the cookie
        return None
    if request.method not in SAFE_METHODS:
        check_csrf()
    return who


def check_csrf() -> None:
    """Refuse (403) a cookie-authenticated write from another origin or without the token."""
    origin = request.headers.get("Origin")
    if origin is not None:
        public = current_app.config["SETTINGS"].public_base_url
        # Host names, not schemes: behind a TLS proxy the request itself is http.
        ours = {request.host, urlsplit(public).netloc} - {""}
        if urlsplit(origin).netloc not in ours:
            raise Problem(403, f"Origin: {origin} is not this site; cross-site writes are "
                          "refused", kind="forbidden", field="Origin")
    try:
        csrf.protect()
    except CSRFError as exc:
        raise Problem(403, f"csrf_token: {exc.description} Reload the page and try again.",
                      kind="forbidden", field="csrf_token") from exc


def install(app: Flask) -> None:
    """Session cookie flags and CSRF for ``app``'s cookie-authenticated writes."""
    settings = app.config["SETTINGS"]
    app.config.update(
        SESSION_COOKIE_NAME="civicpulse_session",
        SESSION_COOKIE_HTTPONLY=True,
        # Lax, not Strict: the identity provider sends the browser back with a
        # top-level GET that must carry the cookie; cross-site POSTs never do.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env not in ("dev", "test"),
        PERMANENT_SESSION_LIFETIME=settings.session_max_hours * 3600,
        # Checked by check_csrf only where the cookie authenticates: bearer-key
        # clients (phone apps, scripts) are not asked for a token they cannot have.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # Flask-WTF would want a Referer on HTTPS, which our no-referrer policy
        # withholds; check_csrf compares the Origin instead.
        WTF_CSRF_SSL_STRICT=False,
    )
    csrf.init_app(app)


def require(*roles: str) -> Principal:
    """The caller, who must hold one of ``roles``: 401 without a key, 403 with the wrong one."""
    who = principal()
    if who.role is None:
        raise _unauthorized("an api key is required")
    if not who.has(*roles):
        raise Problem(403, f"this needs one of the roles: {', '.join(roles)}", kind="forbidden")
    return who


def roles_required(*roles: str) -> Callable[[F], F]:
    """Decorator form of :func:`require`; also records the roles for the API document."""

    def wrap(view: F) -> F:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            require(*roles)
            return view(*args, **kwargs)

        inner.required_roles = roles  # type: ignore[attr-defined]
        return inner  # type: ignore[return-value]

    return wrap
