"""The scheme and host of every absolute URL the service writes.

``CIVICPULSE_PUBLIC_URL`` when set; otherwise the request's host, which Flask has
already checked against ``CIVICPULSE_TRUSTED_HOSTS`` (any other host is a 400).
Never a ``Host`` header taken on trust: links in export downloads, TileJSON served
``Cache-Control: public``, Open311 discovery and OGC documents would point
wherever a client said.
"""

from __future__ import annotations

from flask import current_app, request


def public_origin() -> str:
    """``scheme://host[:port]`` (plus any configured path), without a trailing slash."""
    configured: str = current_app.config["SETTINGS"].public_base_url
    return configured or request.host_url.rstrip("/")


def external_url(path: str) -> str:
    """An absolute URL for ``path`` (as ``url_for`` returns it, script root included)."""
    return public_origin() + path
