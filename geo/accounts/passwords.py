"""Local sign-in: argon2id password hashes, optional TOTP, lock-out after failures.

:func:`sign_in` checks one attempt and records its outcome in one transaction:
a good attempt resets the failure count, a bad one raises it, and the
``max_failures``-th bad one in a row locks the account for ``lockout_minutes``
(audited), during which even the right password is refused. The messages never
say whether the email or the password was wrong; an unknown email costs the same
argon2 work as a known one, so timing does not tell either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, text

from geo.access import audit
from geo.errors import FieldError

#: argon2id with argon2-cffi's defaults (RFC 9106's second recommended profile).
_HASHER = PasswordHasher()
#: Verified against when the email is unknown, so both cases cost the same.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
MIN_PASSWORD = 12
#: argon2 takes any length; this bounds the work one request can ask for.
MAX_PASSWORD = 1024
WRONG = "email or password is wrong"


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``; :class:`FieldError` when it is too short or long.

    >>> hash_password("short")
    Traceback (most recent call last):
    ...
    geo.errors.FieldError: password: must be at least 12 characters
    >>> hash_password("correct horse battery").startswith("$argon2id$")
    True
    """
    if len(password) < MIN_PASSWORD:
        raise FieldError("password", f"must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise FieldError("password", f"must be at most {MAX_PASSWORD} characters")
    return _HASHER.hash(password)


def new_totp_secret() -> str:
    """A random base32 TOTP secret (160 bits, as authenticator apps expect)."""
    return pyotp.random_base32(32)


def totp_uri(secret: str, email: str, issuer: str = "CivicPulse") -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def _totp_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step ``code`` is good for (±1 step of clock drift), unless used already."""
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in (now, now - 1, now + 1):
        if (last_step is None or step > last_step) and pyotp.utils.strings_equal(
            code.strip(), totp.generate_otp(step)
        ):
            return step
    return None


@dataclass(frozen=True)
class SignIn:
    """The outcome of one attempt: ``user`` when it succeeded, else a message to show."""

    user: dict[str, Any] | None
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the person is signed in."""
        return self.user is not None


def sign_in(
    conn: Connection, email: str, password: str, code: str | None = "", *,
    max_failures: int = 5, lockout_minutes: int = 15,
) -> SignIn:
    """Check one sign-in attempt and record its outcome in ``conn``'s transaction.

    ``code=None`` is a client that cannot ask for a code (HTTP Basic from desktop
    GIS): it is refused for an account with TOTP, and a success is not audited as
    a sign-in (it repeats with every request).
    """
    row = conn.execute(
        text(
            "SELECT id, email, name, role, password_hash, totp_secret, totp_last_step, "
            "failed_logins, disabled_at, locked_until > now() AS locked "
            "FROM users WHERE email = :email FOR UPDATE"
        ),
        {"email": email.strip().lower()[:254]},
    ).first()
    good_password = _verify(row.password_hash if row else None, password)
    if row is None:
        return SignIn(None, WRONG)
    if row.locked:
        return SignIn(None, f"too many failed sign-ins: this account is locked for up to "
                            f"{lockout_minutes} minutes; an admin can unlock it")
    step = None
    if good_password and row.totp_secret and code is None:
        return SignIn(None, "this account signs in with a code: use an API key as the "
                            "password instead")
    if good_password and row.totp_secret and code is not None:
        if not code.strip():
            return _failed(conn, row, "enter the 6-digit code from your authenticator app",
                           max_failures, lockout_minutes)
        step = _totp_step(row.totp_secret, code, row.totp_last_step)
        if step is None:
            return _failed(conn, row, "the code is wrong or was used already",
                           max_failures, lockout_minutes)
    if not good_password:
        return _failed(conn, row, WRONG, max_failures, lockout_minutes)
    if row.disabled_at is not None:
        return SignIn(None, "this account is disabled; ask an admin")
    new_hash = _HASHER.hash(password) if _HASHER.check_needs_rehash(row.password_hash) else None
    conn.execute(
        text(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = now(), "
            "totp_last_step = coalesce(:step, totp_last_step), "
            "password_hash = coalesce(:hash, password_hash) WHERE id = :id"
        ),
        {"id": row.id, "step": step, "hash": new_hash},
    )
    if code is not None:
        audit.record(conn, "user.signed_in", target_type="user", target_id=row.id,
                     actor_key_id=None, actor_user_id=row.id, details={"method": "password"})
    return SignIn({"id": row.id, "email": row.email, "name": row.name, "role": row.role})


def _verify(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored`` (always doing the argon2 work)."""
    try:
        return _HASHER.verify(stored or _DUMMY_HASH, password[:MAX_PASSWORD]) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


def _failed(conn: Connection, row: Any, message: str, max_failures: int,
            lockout_minutes: int) -> SignIn:
    """Count a failed attempt; the ``max_failures``-th in a row locks the account."""
    failures = row.failed_logins + 1
    locks = failures >= max_failures
    conn.execute(
        text(
            "UPDATE users SET failed_logins = CASE WHEN :locks THEN 0 ELSE :n END, "
            "locked_until = CASE WHEN :locks THEN now() + make_interval(mins => :mins) "
            "    ELSE locked_until END WHERE id = :id"
        ),
        {"id": row.id, "n": failures, "locks": locks, "mins": lockout_minutes},
    )
    if locks:
        audit.record(conn, "user.locked_out", target_type="user", target_id=row.id,
                     actor_key_id=None, actor="sign-in", details={"failures": failures})
        return SignIn(None, f"too many failed sign-ins: this account is locked for up to "
                            f"{lockout_minutes} minutes; an admin can unlock it")
    return SignIn(None, message)


def set_password(conn: Connection, user_id: int, password: str) -> None:
    """Replace a person's password (hashed here)."""
    conn.execute(text("UPDATE users SET password_hash = :h WHERE id = :id"),
                 {"id": user_id, "h": hash_password(password)})
