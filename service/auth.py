"""Who is calling: ``Authorization: Bearer <key>`` (Open311 POST also ``api_key``)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request

from geo.access import keys
from geo.access.keys import ANONYMOUS, Principal
from service import caches
from service.db import engine
from service.errors import Problem

F = TypeVar("F", bound=Callable[..., Any])


def bearer_key() -> str | None:
    """The key from the Authorization header, if any."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Problem(401, "Authorization: expected 'Bearer <api key>'", kind="unauthorized",
                      field="Authorization")
    return value.strip()


def principal(form_key: str | None = None) -> Principal:
    """The caller of this request (cached); an unknown key is a 401, never anonymous."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    key = bearer_key() or form_key
    if not key:
        g.principal = ANONYMOUS
        return ANONYMOUS
    # Known keys are remembered while api_keys is unchanged (a revocation takes
    # effect on the next request, in every process); unknown ones are asked again.
    with engine().connect() as conn:
        found = caches.principal(conn, keys.digest(key), lambda: keys.lookup(conn, key))
    if found is None:
        raise Problem(401, "api key is not valid", kind="unauthorized", field="Authorization",
                      headers={"WWW-Authenticate": 'Bearer realm="civicpulse"'})
    g.principal = found
    return found


def require(*roles: str) -> Principal:
    """The caller, who must hold one of ``roles``: 401 without a key, 403 with the wrong one."""
    who = principal()
    if who.role is None:
        raise Problem(401, "an api key is required", kind="unauthorized", field="Authorization",
                      headers={"WWW-Authenticate": 'Bearer realm="civicpulse"'})
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
