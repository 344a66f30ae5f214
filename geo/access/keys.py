"""API keys: created once, shown once, stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from geo.access import audit
from geo.schema import ROLES

KEY_PREFIX = "cp_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key, a person signed in (``user_id``), or anonymous.

    A person's ``name`` is their email; anonymous has neither id and ``role`` None.
    """

    key_id: int | None
    role: str | None
    name: str = ""
    user_id: int | None = None

    @property
    def is_staff(self) -> bool:
        """Planners and admins may see exact points, device ids and contacts."""
        return self.role in ("planner", "admin")

    @property
    def scope(self) -> str | None:
        """Who this is across requests (rate limits, idempotency): the key or the person.

        >>> Principal(key_id=7, role="app").scope, Principal(None, "planner", user_id=3).scope
        ('7', 'user:3')
        """
        if self.key_id is not None:
            return str(self.key_id)
        return f"user:{self.user_id}" if self.user_id is not None else None

    def has(self, *roles: str) -> bool:
        """True when the caller holds one of ``roles`` (admin holds them all)."""
        return self.role == "admin" or self.role in roles


ANONYMOUS = Principal(key_id=None, role=None)


def digest(key: str) -> bytes:
    """SHA-256 of a key; keys are 256-bit random so a plain hash is enough."""
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: the only time the key itself is known."""

    id: int
    role: str
    name: str
    key: str
    prefix: str


def issue_key(
    conn: Connection, role: str, name: str = "", *, actor_key_id: int | None = None,
    actor_user_id: int | None = None,
) -> IssuedKey:
    """Store a new key for ``role``; it cannot be recovered later.

    The audit trail records who created it: ``actor_user_id`` (a person signed in),
    ``actor_key_id``, or the command line.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = conn.execute(
        text(
            "INSERT INTO api_keys (name, role, key_hash, prefix) "
            "VALUES (:name, :role, :hash, :prefix) RETURNING id"
        ),
        {"name": name, "role": role, "hash": digest(key), "prefix": key[:10]},
    ).scalar_one()
    audit.record(conn, "key.created", target_type="api_key", target_id=key_id,
                 actor_key_id=actor_key_id, actor_user_id=actor_user_id,
                 details={"role": role, "name": name})
    return IssuedKey(int(key_id), role, name, key, key[:10])


def create_key(
    conn: Connection, role: str, name: str = "", *, actor_key_id: int | None = None
) -> str:
    """Store a new key for ``role`` and return it (see :func:`issue_key`).

    Example, on a database connection (not run as a doctest)::

        key = create_key(conn, "planner", "GIS team")
    """
    return issue_key(conn, role, name, actor_key_id=actor_key_id).key


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    """Every key, newest first, without anything that would let one be used."""
    rows = conn.execute(text(
        "SELECT id, name, role, prefix, created_at, revoked_at FROM api_keys ORDER BY id DESC"))
    return [dict(r._mapping) for r in rows]


def revoke_key(
    conn: Connection, key_id: int, *, actor_key_id: int | None = None,
    actor_user_id: int | None = None,
) -> bool:
    """Revoke key ``key_id``; False when there is no such key or it was revoked already.

    Web processes check ``cache_versions`` (bumped by a trigger) on every request,
    so the key is refused from the next request on, in every process.
    """
    row = conn.execute(
        text("UPDATE api_keys SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL "
             "RETURNING role, name"),
        {"id": key_id},
    ).first()
    if row is None:
        return False
    audit.record(conn, "key.revoked", target_type="api_key", target_id=key_id,
                 actor_key_id=actor_key_id, actor_user_id=actor_user_id,
                 details={"role": row.role, "name": row.name})
    return True


def lookup(conn: Connection, key: str) -> Principal | None:
    """The principal for ``key``, or None when it is unknown or revoked."""
    row = conn.execute(
        text(
            "SELECT id, role, name FROM api_keys "
            "WHERE key_hash = :hash AND revoked_at IS NULL"
        ),
        {"hash": digest(key)},
    ).first()
    return Principal(key_id=row.id, role=row.role, name=row.name) if row else None
