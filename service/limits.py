"""Rate limits (Flask-Limiter over Redis): one phone, key or address cannot flood us.

What is limited, and by what (the values are settings, see the README):

- every write (POST/PATCH) per API key, per client IP address, and per device id
  when the body names one (``device_id`` in JSON or an Open311 form);
- ``GET /api/v1/reports/nearby`` per client IP (it answers "is there a report near
  here", which must not be asked a thousand times);
- ``POST /api/v1/exports`` per API key (each pack is minutes of worker time).

Counters live in Redis, so the limit holds across every web process. When Redis is
down each process counts in memory instead (Flask-Limiter's fallback) and
submissions go on: a resident's report matters more than an exact count. A refused
request is a 429 in the surface's error shape with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, request
from flask_limiter import Limiter

from geo.settings import Settings
from service.auth import principal
from service.errors import Problem
from service.inputs import json_body

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
NEARBY = "api.nearby_reports"
EXPORT = "api.create_export"


def _ip() -> str:
    """The client's address (the proxy-corrected one when CIVICPULSE_TRUSTED_PROXIES is set)."""
    return f"ip:{request.remote_addr or 'unknown'}"


def _key() -> str:
    """The caller's API key id or person; anonymous callers and bad keys count by address."""
    form_key = None
    if request.blueprint == "open311" and request.mimetype in FORMS:
        form_key = request.form.get("api_key") or None
    try:
        who = principal(form_key)
    except Problem:
        return _ip()  # the view refuses the key in its surface's own words
    return f"key:{who.scope}" if who.scope is not None else _ip()


def _sent_device_id() -> Any:
    """The device id the body names, unvalidated (the view validates it)."""
    if request.mimetype in FORMS:
        return request.form.get("device_id")
    try:
        body = json_body()
    except Problem:
        return None  # the view will refuse the body; the address is still counted
    if not isinstance(body, dict):
        return None
    props = body.get("properties")
    return props.get("device_id") if isinstance(props, dict) else body.get("device_id")


def device() -> str | None:
    """A keyed hash of the device id the body names, or None (once per request)."""
    if "limits_device" not in g:
        raw = _sent_device_id()
        found = None
        if isinstance(raw, str) and raw:
            secret = current_app.config["SETTINGS"].secret_key.encode()
            digest = hashlib.blake2b(raw.encode(), key=secret[:64], digest_size=16)
            found = "device:" + digest.hexdigest()
        g.limits_device = found
    return g.limits_device


def _device_key() -> str:
    return device() or _ip()


def _setting(name: str) -> Callable[[], str]:
    """The limit string of setting ``name`` for this app (read per request: tests vary it)."""
    return lambda: getattr(current_app.config["SETTINGS"], name)


def limits_for(endpoint: str, methods: set[str]) -> list[tuple[str, Callable[[], str], bool]]:
    """(setting name, key function, only-with-a-device) of each limit on ``endpoint``."""
    out: list[tuple[str, Callable[[], str], bool]] = []
    if methods & WRITES:
        out += [("rate_limit_writes_per_key", _key, False),
                ("rate_limit_writes_per_ip", _ip, False),
                ("rate_limit_writes_per_device", _device_key, True)]
    if endpoint == NEARBY:
        out.append(("rate_limit_nearby", _ip, False))
    if endpoint == EXPORT:
        out.append(("rate_limit_exports", _key, False))
    return out


# Fail fast to the in-memory fallback rather than hold a request on a dead Redis.
_FAST_REDIS: Any = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def install(app: Flask, settings: Settings) -> Limiter | None:
    """Attach the limits to every route of ``app`` (call after the blueprints)."""
    if not settings.rate_limits_enabled:
        return None
    limiter = Limiter(
        key_func=_ip,
        app=app,
        storage_uri=settings.rate_limit_storage_url or settings.redis_url,
        storage_options=_FAST_REDIS,
        strategy="moving-window",
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=True,
        key_prefix="civicpulse:limits",
    )
    done: set[str] = set()
    for rule in app.url_map.iter_rules():
        methods = {m for r in app.url_map.iter_rules(rule.endpoint) for m in r.methods or ()}
        if rule.endpoint in done:
            continue
        done.add(rule.endpoint)
        wrapped: Any = app.view_functions[rule.endpoint]
        for name, key_func, device_only in limits_for(rule.endpoint, methods):
            wrapped = limiter.limit(
                _setting(name),
                key_func=key_func,
                methods=sorted(WRITES) if name.startswith("rate_limit_writes") else None,
                exempt_when=(lambda: device() is None) if device_only else None,
                scope=name,
            )(wrapped)
        app.view_functions[rule.endpoint] = wrapped

    return limiter
