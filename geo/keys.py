"""API keys: created once, shown once, stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, text

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


def create_key(conn: Connection, role: str, name: str = "") -> str:
    """Store a new key for ``role`` and return it; it cannot be recovered later.

    Example, on a database connection (not run as a doctest)::

        key = create_key(conn, "planner", "GIS team")
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO api_keys (name, role, key_hash, prefix) "
            "VALUES (:name, :role, :hash, :prefix)"
        ),
        {"name": name, "role": role, "hash": digest(key), "prefix": key[:10]},
    )
    return key


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
