"""Idempotency records: the first outcome of a keyed request, replayed on retry.

A record is claimed (``state = 'in_flight'``) in its own committed transaction
before the request runs, so a concurrent retry sees it; it is finished
(``state = 'done'``) with the response, ideally in the same transaction as the
work itself; it is released (deleted) when the outcome must not be replayed.

Expiry: a record older than its ``expires_at`` counts as absent (a claim simply
overwrites it), so pruning only bounds the table's size; :func:`prune_expired`
does it in small batches.

Crash safety: a claim whose holder died stays ``in_flight``; after
:data:`LOCK_SECONDS` a retry with the same body takes it over. The work itself
must then be safe to run twice (reports are, through their ``client_id``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

#: A claim younger than this is assumed to be running; an older one was abandoned.
LOCK_SECONDS = 60
#: Scope keys longer than the column are replaced by a digest (long paths).
_MAX_SCOPE = 400


@dataclass(frozen=True)
class Claim:
    """This request holds the key; ``locked_at`` tells its claim apart from a takeover."""

    scope_key: str
    fingerprint: str
    locked_at: dt.datetime


@dataclass(frozen=True)
class Existing:
    """Someone else's record for the key: finished (``done``) or still running."""

    fingerprint: str
    state: str
    status_code: int | None
    response: dict[str, Any] | None


def scope_key(caller: str, method: str, path: str, key: str) -> str:
    """The record's primary key: the client's key scoped to caller, method and path.

    Scoping to the caller means two API keys can never read each other's responses.

    >>> scope_key("7", "POST", "/api/v1/reports", "abc")
    '7|POST|/api/v1/reports|abc'
    """
    scope = f"{caller}|{method}|{path}|{key}"
    if len(scope) <= _MAX_SCOPE:
        return scope
    return f"{caller}|{method}|sha256:{hashlib.sha256(scope.encode()).hexdigest()}"


def fingerprint(content_type: str, body: bytes) -> str:
    """SHA-256 (hex) of the content type and raw body: the "same request" test.

    >>> len(fingerprint("application/json", b"{}"))
    64
    """
    return hashlib.sha256(content_type.encode() + b"\n" + body).hexdigest()


_CLAIM = text(
    """
    INSERT INTO idempotency_keys AS k
        (scope_key, fingerprint, state, created_at, locked_at, expires_at)
    VALUES (:scope, :fp, 'in_flight', now(), clock_timestamp(),
            now() + make_interval(hours => :ttl))
    ON CONFLICT (scope_key) DO UPDATE SET
        fingerprint = EXCLUDED.fingerprint, state = 'in_flight', status_code = NULL,
        response = NULL, created_at = EXCLUDED.created_at, locked_at = EXCLUDED.locked_at,
        expires_at = EXCLUDED.expires_at
    -- Take over only an expired record, or an abandoned claim for the same body:
    -- a different body under a live key is the client's mistake (422), not ours.
    WHERE k.expires_at < now()
       OR (k.state = 'in_flight' AND k.fingerprint = EXCLUDED.fingerprint
           AND k.locked_at < now() - make_interval(secs => :lock))
    RETURNING k.locked_at
    """
)


def claim(
    conn: Connection, scope: str, fp: str, *, ttl_hours: int, lock_seconds: int = LOCK_SECONDS
) -> Claim | Existing:
    """Claim ``scope`` for this request, or return the record that holds it.

    Commit ``conn`` right after a :class:`Claim` so concurrent retries see it.
    """
    for _ in range(3):
        locked = conn.execute(
            _CLAIM, {"scope": scope, "fp": fp, "ttl": ttl_hours, "lock": lock_seconds}
        ).scalar()
        if locked is not None:
            return Claim(scope, fp, locked)
        row = conn.execute(
            text(
                "SELECT fingerprint, state, status_code, response FROM idempotency_keys "
                "WHERE scope_key = :scope"
            ),
            {"scope": scope},
        ).first()
        if row is not None:
            return Existing(row.fingerprint, row.state, row.status_code, row.response)
        # Released between our insert and select (a validation failure): try again.
    raise RuntimeError(f"idempotency key {scope!r} keeps changing hands")


def finish(conn: Connection, held: Claim, status_code: int, response: dict[str, Any]) -> bool:
    """Store the outcome of a claimed request; False when the claim was taken over."""
    done = conn.execute(
        text(
            "UPDATE idempotency_keys SET state = 'done', status_code = :status, "
            "response = CAST(:response AS jsonb) "
            "WHERE scope_key = :scope AND locked_at = :locked AND state = 'in_flight'"
        ),
        {
            "status": status_code,
            "response": json.dumps(response),
            "scope": held.scope_key,
            "locked": held.locked_at,
        },
    )
    return bool(done.rowcount)


def release(conn: Connection, held: Claim) -> None:
    """Forget a claim whose outcome must not be replayed (a corrected retry may run)."""
    conn.execute(
        text(
            "DELETE FROM idempotency_keys "
            "WHERE scope_key = :scope AND locked_at = :locked AND state = 'in_flight'"
        ),
        {"scope": held.scope_key, "locked": held.locked_at},
    )


def prune_expired(conn: Connection, limit: int = 1000) -> int:
    """Delete up to ``limit`` expired records; returns how many.

    Small batches with ``SKIP LOCKED`` keep it cheap enough to run from a request.
    """
    return conn.execute(
        text(
            "DELETE FROM idempotency_keys WHERE scope_key IN ("
            "SELECT scope_key FROM idempotency_keys WHERE expires_at < now() "
            "ORDER BY expires_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
        ),
        {"limit": limit},
    ).rowcount

