"""``/staff/admin``: people and roles, API keys (shown once, revoked at once), settings.

Forms post back here with the page's CSRF token; each action goes through the same
``geo`` functions as the CLI and the keys API, and the audit trail names the admin.
The settings view shows what is in effect with every secret left out.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Response, current_app, request
from werkzeug.wrappers import Response as BaseResponse

from geo.access import keys
from geo.accounts import passwords, users
from geo.accounts.schema import STAFF_ROLES
from geo.errors import FieldError, NotFound
from geo.schema import ROLES
from service.auth import principal
from service.db import engine
from service.staff import bp
from service.staff.render import page, staff_page

ADMIN = ("admin",)
#: Settings never shown, not even to admins: they would let someone act as the service.
SECRET_SETTINGS = {"secret_key", "oidc_client_secret", "app_key"}


def _form() -> dict[str, Any]:
    """The posted fields (a form from the page, or JSON from a script)."""
    return dict(request.form) if request.form else (request.get_json(silent=True) or {})


def _without_password(url: str) -> str:
    """A database or Redis URL with its password replaced.

    >>> _without_password("postgresql+psycopg://app:s3cret@db:5432/civic")
    'postgresql+psycopg://app:***@db:5432/civic'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def visible_settings() -> list[tuple[str, str]]:
    """``(name, value)`` of every setting in effect, secrets left out, passwords masked."""
    settings = current_app.config["SETTINGS"]
    out = []
    for f in dataclasses.fields(settings):
        if f.name in SECRET_SETTINGS or f.name == "extra":
            continue
        value = getattr(settings, f.name)
        if isinstance(value, str) and "://" in value:
            value = _without_password(value)
        out.append((f.name, str(value)))
    return out


def _admin_page(status: int = 200, **context: Any) -> Response:
    with engine().connect() as conn:
        people = users.list_users(conn)
        api_keys = keys.list_keys(conn)
    return page("staff/admin.html", status=status, who=principal(), people=people,
                api_keys=api_keys, staff_roles=STAFF_ROLES, key_roles=ROLES,
                settings=visible_settings(), **context)


@bp.get("/staff/admin")
@staff_page(*ADMIN)
def admin() -> Response:
    """People, keys and settings."""
    return _admin_page()


@bp.post("/staff/admin/keys")
@staff_page(*ADMIN)
def admin_create_key() -> Response:
    """Create a key; this answer is the only place it is ever shown."""
    form, who = _form(), principal()
    role, name = str(form.get("role", "")), str(form.get("name", ""))[:200]
    if role not in ROLES:
        return _admin_page(422, message=f"role: must be one of {', '.join(ROLES)}")
    with engine().begin() as conn:
        issued = keys.issue_key(conn, role, name, actor_key_id=who.key_id,
                                actor_user_id=who.user_id)
    return _admin_page(created_key=issued)


@bp.post("/staff/admin/keys/<int:key_id>/revoke")
@staff_page(*ADMIN)
def admin_revoke_key(key_id: int) -> Response:
    """Revoke a key: refused from the next request on, in every process."""
    who = principal()
    with engine().begin() as conn:
        done = keys.revoke_key(conn, key_id, actor_key_id=who.key_id, actor_user_id=who.user_id)
    if not done:
        return _admin_page(404, message=f"key {key_id}: no such key, or revoked already")
    return _admin_page(message=f"Key {key_id} is revoked.")


@bp.post("/staff/admin/users")
@staff_page(*ADMIN)
def admin_create_user() -> Response:
    """Add a person (with a password, or to sign in through the identity provider)."""
    form, who = _form(), principal()
    try:
        password = str(form.get("password") or "")
        with engine().begin() as conn:
            users.create_user(
                conn, str(form.get("email", "")), str(form.get("role", "")),
                name=str(form.get("name", "")),
                password_hash=passwords.hash_password(password) if password else None,
                by=users.Actor(user_id=who.user_id, key_id=who.key_id))
    except FieldError as exc:
        return _admin_page(422, message=str(exc))
    return _admin_page(message=f"Added {users.normal_email(str(form.get('email', '')))}.")


@bp.post("/staff/admin/users/<int:user_id>")
@staff_page(*ADMIN)
def admin_update_user(user_id: int) -> BaseResponse:
    """Change a person's role, or disable (ending their sessions) or enable them."""
    form, who = _form(), principal()
    by = users.Actor(user_id=who.user_id, key_id=who.key_id)
    try:
        with engine().begin() as conn:
            if form.get("role"):
                users.set_role(conn, user_id, str(form["role"]), by=by)
            if form.get("state") in ("disabled", "active"):
                if user_id == who.user_id and form["state"] == "disabled":
                    raise FieldError("state", "you cannot disable your own account")
                users.set_disabled(conn, user_id, form["state"] == "disabled", by=by)
    except NotFound:
        return _admin_page(404, message=f"user {user_id}: no such account")
    except FieldError as exc:
        return _admin_page(422, message=str(exc))
    return _admin_page(message="Saved.")
