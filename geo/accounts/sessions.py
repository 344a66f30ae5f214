"""Server-side sessions of people signed in to the staff pages.

The browser holds a random token (in a signed, HttpOnly cookie); the database holds
only its SHA-256, with the person and when it was last used. A session ends when
its person signs out (the row is deleted), after ``idle_minutes`` without a
request, after ``max_hours`` in all, or when the person is disabled. Each lookup
reads the person's current role, so a role change applies at the next request.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import Connection, text

from geo.access.keys import Principal

#: Refresh ``last_seen_at`` at most this often: one write a minute per person, not per request.
TOUCH_SECONDS = 60


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def start(conn: Connection, user_id: int, method: str, *, idle_minutes: int,
          max_hours: int) -> str:
    """A new session for ``user_id``; returns the token the browser keeps.

    The person's sessions that can no longer be used are deleted here, so the
    table holds about one row per person who signs in, with no housekeeping.
    """
    conn.execute(
        text(
            "DELETE FROM staff_sessions WHERE user_id = :u AND "
            "(last_seen_at < now() - make_interval(mins => :idle) "
            " OR created_at < now() - make_interval(hours => :max))"
        ),
        {"u": user_id, "idle": idle_minutes, "max": max_hours},
    )
    token = secrets.token_urlsafe(32)
    conn.execute(
        text("INSERT INTO staff_sessions (token_hash, user_id, method) VALUES (:h, :u, :m)"),
        {"h": _digest(token), "u": user_id, "m": method},
    )
    return token


def lookup(
    conn: Connection, token: str, *, idle_minutes: int, max_hours: int
) -> Principal | None:
    """The person of a live session, or None (unknown, ended, idle, too old or disabled)."""
    row = conn.execute(
        text(
            "SELECT u.id, u.email, u.role, "
            "       s.last_seen_at < now() - make_interval(secs => :touch) AS stale "
            "FROM staff_sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token_hash = :h AND u.disabled_at IS NULL "
            "  AND s.last_seen_at > now() - make_interval(mins => :idle) "
            "  AND s.created_at > now() - make_interval(hours => :max)"
        ),
        {"h": _digest(token), "idle": idle_minutes, "max": max_hours, "touch": TOUCH_SECONDS},
    ).first()
    if row is None:
        return None
    if row.stale:
        conn.execute(text("UPDATE staff_sessions SET last_seen_at = now() WHERE token_hash = :h"),
                     {"h": _digest(token)})
    return Principal(key_id=None, role=row.role, name=row.email, user_id=row.id)


def end(conn: Connection, token: str) -> None:
    """End one session (sign-out)."""
    conn.execute(text("DELETE FROM staff_sessions WHERE token_hash = :h"), {"h": _digest(token)})

