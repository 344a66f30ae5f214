"""Staff accounts: create, list, find, disable, change role (each audited).

A person is found by their lower-cased email. Disabling a person ends their
sessions in the same transaction, so a disabled account is refused at its next
request. People from the identity provider are matched by issuer and subject
(:func:`from_identity_provider`), never by a claim they could change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from geo.access import audit
from geo.accounts.schema import STAFF_ROLES
from geo.errors import FieldError, NotFound

#: Enough to catch a typo (``name@`` or a missing domain), not a full RFC 5322 parser.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")

_COLUMNS = (
    "id, email, name, role, password_hash IS NOT NULL AS has_password, "
    "totp_secret IS NOT NULL AS has_totp, oidc_subject IS NOT NULL AS via_provider, "
    "failed_logins, locked_until, disabled_at, created_at, last_login_at"
)


@dataclass(frozen=True)
class Actor:
    """Who changes an account, for the audit trail: a person, a key, or the CLI (both None)."""

    user_id: int | None = None
    key_id: int | None = None


CLI = Actor()


def normal_email(email: str) -> str:
    """``email`` trimmed and lower-cased, or :class:`FieldError` when it is not one.

    >>> normal_email("  Ana.Planner@City.GOV ")
    'ana.planner@city.gov'
    >>> normal_email("ana@")
    Traceback (most recent call last):
    ...
    geo.errors.FieldError: email: must look like name@example.org
    """
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise FieldError("email", "must look like name@example.org")
    return value


def check_role(role: str) -> str:
    """``role`` when a person may hold it, else :class:`FieldError`.

    >>> check_role("app")
    Traceback (most recent call last):
    ...
    geo.errors.FieldError: role: must be one of planner, grant_writer, admin
    """
    if role not in STAFF_ROLES:
        raise FieldError("role", f"must be one of {', '.join(STAFF_ROLES)}")
    return role


def create_user(
    conn: Connection, email: str, role: str, *, name: str = "",
    password_hash: str | None = None, totp_secret: str | None = None, by: Actor = CLI,
) -> int:
    """Store a new person and return their id; :class:`FieldError` when the email is taken.

    Hash the password with :func:`geo.accounts.passwords.hash_password` first.
    """
    email, role = normal_email(email), check_role(role)
    user_id = conn.execute(
        text(
            "INSERT INTO users (email, name, role, password_hash, totp_secret) "
            "VALUES (:email, :name, :role, :hash, :totp) "
            "ON CONFLICT (email) DO NOTHING RETURNING id"
        ),
        {"email": email, "name": name[:200], "role": role, "hash": password_hash,
         "totp": totp_secret},
    ).scalar_one_or_none()
    if user_id is None:
        raise FieldError("email", f"{email} already has an account")
    audit.record(conn, "user.created", target_type="user", target_id=user_id,
                 actor_key_id=by.key_id, actor_user_id=by.user_id,
                 details={"email": email, "role": role, "totp": totp_secret is not None})
    return int(user_id)


def list_users(conn: Connection) -> list[dict[str, Any]]:
    """Every account, by email, without secrets."""
    return [dict(r._mapping) for r in conn.execute(
        text(f"SELECT {_COLUMNS} FROM users ORDER BY email"))]


def get_user(conn: Connection, user_id: int) -> dict[str, Any]:
    """One account without secrets; :class:`NotFound` when there is none."""
    row = conn.execute(text(f"SELECT {_COLUMNS} FROM users WHERE id = :id"),
                       {"id": user_id}).first()
    if row is None:
        raise NotFound(f"user {user_id}")
    return dict(row._mapping)


def find_user(conn: Connection, email: str) -> dict[str, Any]:
    """The account of ``email``; :class:`NotFound` when there is none."""
    row = conn.execute(text(f"SELECT {_COLUMNS} FROM users WHERE email = :email"),
                       {"email": email.strip().lower()}).first()
    if row is None:
        raise NotFound(f"no account for {email.strip()}")
    return dict(row._mapping)


def set_disabled(conn: Connection, user_id: int, disabled: bool, *, by: Actor = CLI) -> bool:
    """Disable (ending every session) or enable an account; False when nothing changed.

    Enabling also lifts a lock-out.
    """
    changed = conn.execute(
        text(
            "UPDATE users SET disabled_at = CASE WHEN :off THEN now() END, "
            "failed_logins = 0, locked_until = NULL "
            "WHERE id = :id AND (disabled_at IS NOT NULL) <> :off RETURNING id"
        ),
        {"id": user_id, "off": disabled},
    ).first()
    if changed is None:
        get_user(conn, user_id)  # NotFound for an unknown id
        return False
    if disabled:
        conn.execute(text("DELETE FROM staff_sessions WHERE user_id = :id"), {"id": user_id})
    audit.record(conn, "user.disabled" if disabled else "user.enabled", target_type="user",
                 target_id=user_id, actor_key_id=by.key_id, actor_user_id=by.user_id)
    return True


def set_role(conn: Connection, user_id: int, role: str, *, by: Actor = CLI) -> bool:
    """Give a person another role (effective at their next request); False if unchanged."""
    role = check_role(role)
    before = conn.execute(
        text("SELECT role FROM users WHERE id = :id FOR UPDATE"), {"id": user_id}
    ).scalar_one_or_none()
    if before is None:
        raise NotFound(f"user {user_id}")
    if before == role:
        return False
    conn.execute(text("UPDATE users SET role = :role WHERE id = :id"),
                 {"id": user_id, "role": role})
    audit.record(conn, "user.updated", target_type="user", target_id=user_id,
                 actor_key_id=by.key_id, actor_user_id=by.user_id,
                 details={"role_from": before, "role_to": role})
    return True


def from_identity_provider(
    conn: Connection, *, issuer: str, subject: str, email: str, name: str, role: str,
) -> dict[str, Any]:
    """The account of a person the identity provider vouched for, created or updated.

    They are matched by ``issuer`` and ``subject``; the role comes from the
    provider's claims at every sign-in, so a change of group there is a change of
    role here. A disabled account stays disabled (the caller refuses it).
    """
    role = check_role(role)
    email = email.strip().lower()[:254] or f"{subject}@{issuer}"[:254]
    row = conn.execute(
        text("SELECT id, role FROM users WHERE oidc_issuer = :iss AND oidc_subject = :sub "
             "FOR UPDATE"),
        {"iss": issuer, "sub": subject},
    ).first()
    if row is None:
        user_id = conn.execute(
            text(
                "INSERT INTO users (email, name, role, oidc_issuer, oidc_subject) "
                "VALUES (:email, :name, :role, :iss, :sub) "
                "ON CONFLICT (email) DO UPDATE SET oidc_issuer = :iss, oidc_subject = :sub, "
                "    role = :role, name = :name "
                "  WHERE users.oidc_subject IS NULL RETURNING id"
            ),
            {"email": email, "name": name[:200], "role": role, "iss": issuer, "sub": subject},
        ).scalar_one_or_none()
        if user_id is None:
            raise FieldError("email", f"{email} belongs to another account")
        audit.record(conn, "user.created", target_type="user", target_id=user_id,
                     actor_key_id=None, actor=f"identity provider {issuer}"[:200],
                     details={"email": email, "role": role})
    else:
        user_id = row.id
        conn.execute(text("UPDATE users SET role = :role, name = :name WHERE id = :id"),
                     {"id": user_id, "role": role, "name": name[:200]})
        if row.role != role:
            audit.record(conn, "user.updated", target_type="user", target_id=user_id,
                         actor_key_id=None, actor=f"identity provider {issuer}"[:200],
                         details={"role_from": row.role, "role_to": role})
    return get_user(conn, int(user_id))


def record_sign_in(conn: Connection, user_id: int, method: str) -> None:
    """Stamp a person's last sign-in and audit it (``method``: ``password`` or ``oidc``)."""
    conn.execute(text("UPDATE users SET last_login_at = now() WHERE id = :id"), {"id": user_id})
    audit.record(conn, "user.signed_in", target_type="user", target_id=user_id,
                 actor_key_id=None, actor_user_id=user_id, details={"method": method})
