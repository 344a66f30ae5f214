"""API keys: created once, shown once, stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, text

from geo import audit
from geo.schema import ROLES

KEY_PREFIX = "cp_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key's id and role, or anonymous (``key_id`` None)."""

    key_id: int | None
    role: str | None
    name: str = ""

    @property
    def is_staff(self) -> bool:
        """Planners and admins may see exact points, device ids and contacts."""
        return self.role in ("planner", "admin")

    def has(self, *roles: str) -> bool:
        """True when the caller holds one of ``roles`` (admin holds them all)."""
        return self.role == "admin" or self.role in roles


ANONYMOUS = Principal(key_id=None, role=None)


def digest(key: str) -> bytes:
    """SHA-256 of a key; keys are 256-bit random so a plain hash is enough."""
    return hashlib.sha256(key.encode("utf-8")).digest()


def create_key(
    conn: Connection, role: str, name: str = "", *, actor_key_id: int | None = None
) -> str:
    """Store a new key for ``role`` and return it; it cannot be recovered later.

    The audit trail records who created it: ``actor_key_id``, or the command line.

    Example, on a database connection (not run as a doctest)::

        key = create_key(conn, "planner", "GIS team")
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
                 actor_key_id=actor_key_id, details={"role": role, "name": name})
    return key


def revoke_key(conn: Connection, key_id: int, *, actor_key_id: int | None = None) -> bool:
    """Revoke key ``key_id``; False when there is no such key or it was revoked already.

    Web processes remember known keys briefly (``service.caches``), so a
    revocation takes effect there within that time.
    """
    row = conn.execute(
        text("UPDATE api_keys SET revoked_at = now() WHERE id = :id AND revoked_at IS NULL "
             "RETURNING role, name"),
        {"id": key_id},
    ).first()
    if row is None:
        return False
    audit.record(conn, "key.revoked", target_type="api_key", target_id=key_id,
                 actor_key_id=actor_key_id, details={"role": row.role, "name": row.name})
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
