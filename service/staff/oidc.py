"""Sign in through the city's identity provider (OpenID Connect, authorization code + PKCE).

Authlib does the protocol: discovery, state, nonce, PKCE and the ID token's
signature, issuer, audience and expiry. What we add is who may come in: the
claim named by ``CIVICPULSE_OIDC_ROLE_CLAIM`` (``groups`` by default) must hold a
group that ``CIVICPULSE_OIDC_ROLES`` maps to a role; someone without one sees a
plain "no access" page. The person is matched by issuer and subject and takes
the role their groups give at every sign-in (:func:`geo.accounts.users.from_identity_provider`).
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, Response, current_app, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from geo.accounts import users
from geo.accounts.schema import STAFF_ROLES
from geo.errors import FieldError
from service.db import engine
from service.errors import Problem
from service.origin import external_url
from service.staff import bp
from service.staff.render import home_of, no_access, page, safe_next
from service.staff.signin import begin_session, start_session

#: When groups map to several roles, the one that may do most wins.
_RANK = {role: rank for rank, role in enumerate(("grant_writer", "planner", "admin"))}
assert set(_RANK) == set(STAFF_ROLES)
_NEXT = "oidc_next"


def install(app: Flask) -> None:
    """Register the provider with Authlib when ``CIVICPULSE_OIDC_ISSUER`` is set."""
    settings = app.config["SETTINGS"]
    if not settings.oidc_issuer:
        return
    oauth = OAuth(app)
    oauth.register(
        "city",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        server_metadata_url=settings.oidc_issuer + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile " + settings.oidc_role_claim,
                       "code_challenge_method": "S256", "timeout": 10},
    )
    app.extensions["civicpulse.oidc"] = oauth


def role_from_claims(claims: dict[str, Any], claim: str, mapping: dict[str, str]) -> str | None:
    """The role the person's groups give (the strongest), or None.

    >>> role_from_claims({"groups": ["staff", "gis"]}, "groups", {"gis": "planner"})
    'planner'
    >>> role_from_claims({"groups": "grants"}, "groups", {"grants": "grant_writer"})
    'grant_writer'
    >>> role_from_claims({}, "groups", {"gis": "planner"}) is None
    True
    """
    value = claims.get(claim)
    groups = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    roles = [mapping[g] for g in groups if isinstance(g, str) and g in mapping]
    return max(roles, key=_RANK.__getitem__) if roles else None


def _client() -> Any:
    oauth = current_app.extensions.get("civicpulse.oidc")
    return oauth.city if oauth is not None else None


@bp.get("/login/oidc")
def oidc_start() -> BaseResponse:
    """Send the browser to the identity provider (404 when none is configured)."""
    client = _client()
    if client is None:
        return page("staff/error.html", status=404, problem=Problem(
            404, "this city signs in with CivicPulse accounts only"))
    session[_NEXT] = safe_next(request.args.get("next"), "")
    try:
        return client.authorize_redirect(external_url(url_for("staff.oidc_callback")))
    except (OAuthError, OSError, ValueError) as exc:
        return _failed(f"the identity provider did not answer ({type(exc).__name__})")


@bp.get("/login/oidc/callback")
def oidc_callback() -> BaseResponse:
    """Check the provider's answer, map groups to a role, start a session."""
    client = _client()
    if client is None:
        return page("staff/error.html", status=404, problem=Problem(
            404, "this city signs in with CivicPulse accounts only"))
    if "error" in request.args:
        return _failed(f"the identity provider said: {request.args.get('error')}")
    try:
        token = client.authorize_access_token()
    except (OAuthError, OSError, ValueError) as exc:
        return _failed(f"the answer from the identity provider was not accepted "
                       f"({getattr(exc, 'error', None) or type(exc).__name__})")
    claims = dict(token.get("userinfo") or {})
    settings = current_app.config["SETTINGS"]
    role = role_from_claims(claims, settings.oidc_role_claim, settings.oidc_roles)
    email = str(claims.get("email") or "")
    if role is None:
        return no_access(None, reason=(
            f"You signed in to your city account{f' ({email})' if email else ''}, but it is "
            "not in any group that gives access to CivicPulse."))
    with engine().begin() as conn:
        try:
            user = users.from_identity_provider(
                conn, issuer=settings.oidc_issuer, subject=str(claims["sub"]), email=email,
                name=str(claims.get("name") or ""), role=role)
        except FieldError as exc:
            return _failed(str(exc))
        if user["disabled_at"] is not None:
            return no_access(None, reason="Your CivicPulse account is disabled.")
        users.record_sign_in(conn, user["id"], "oidc")
        token_ = start_session(conn, user["id"], "oidc")
    target = session.pop(_NEXT, None)
    begin_session(token_)
    return Response(status=303, headers={"Location": safe_next(target, home_of(role))})


def _failed(detail: str) -> Response:
    return page("staff/error.html", status=400,
                problem=Problem(400, detail, title="Sign-in failed"))
