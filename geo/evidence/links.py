"""Signed, expiring download links: HMAC-SHA256 over the export id and the expiry.

A link needs no API key, so the signature is the only thing that authorises it:
whoever holds the link may download until it expires (default 24 h). Changing
the id or the expiry breaks the signature; the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import time

DEFAULT_TTL_SECONDS = 24 * 3600


def signature(secret: str, export_id: int, expires: int) -> str:
    """Hex HMAC-SHA256 of ``export_id`` and ``expires`` (Unix seconds).

    >>> signature("k", 1, 2)[:16]
    '83b404ac4bc99bfc'
    """
    message = f"evidence-export|{int(export_id)}|{int(expires)}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(
    secret: str, export_id: int, *, now: float | None = None, ttl: int = DEFAULT_TTL_SECONDS
) -> tuple[int, str]:
    """``(expires, signature)`` for a link valid ``ttl`` seconds from ``now``."""
    expires = int(now if now is not None else time.time()) + int(ttl)
    return expires, signature(secret, export_id, expires)


def verify(
    secret: str, export_id: int, expires: str | None, sig: str | None, *, now: float | None = None
) -> str | None:
    """None when the link is good, else why not (``"expired"`` or ``"invalid"``)."""
    if not expires or not sig or not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
        return "invalid"
    expected = signature(secret, export_id, int(expires))
    # compare_digest refuses non-ASCII text with a TypeError (a 500): compare bytes.
    if not hmac.compare_digest(expected.encode(), sig.lower().encode("utf-8")):
        return "invalid"
    if int(expires) < (now if now is not None else time.time()):
        return "expired"
    return None
