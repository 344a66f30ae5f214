"""Query parameters of the OGC endpoints: every value checked, every unknown name a 400.

The standard requires a 400 for an unknown parameter (``/req/core/query-param-unknown``)
and for an invalid value; each message names the parameter. ``limit`` above the
maximum is clamped, not refused (``/req/core/fc-limit-response-1``).
"""

from __future__ import annotations

import datetime as dt
import math
import re

from flask import request

from geo.errors import FieldError
from geo.layers.features import FeatureQuery, Filter, Interval, parse_filter
from service.errors import Problem

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
MAX_OFFSET = 2**53
FORMATS = ("json", "html")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def bad(name: str, message: str) -> Problem:
    """A 400 naming the parameter."""
    return Problem(400, f"{name}: {message}", field=name, kind="invalid-parameter")


def check_names(allowed: set[str]) -> None:
    """Reject any query parameter not in ``allowed`` (``f`` is always allowed)."""
    for name in request.args:
        if name not in allowed and name != "f":
            allowed_list = ", ".join(sorted(allowed | {"f"}))
            raise bad(name, f"unknown query parameter; allowed: {allowed_list}")


def one(name: str) -> str | None:
    """The single value of ``name``; empty counts as absent, repeats are a 400."""
    values = [v for v in request.args.getlist(name) if v != ""]
    if len(values) > 1:
        raise bad(name, "give it once")
    return values[0] if values else None


def output_format() -> str:
    """``json`` or ``html``: from ``f``, else from Accept (a browser gets HTML)."""
    f = one("f")
    if f is not None:
        if f not in FORMATS and f != "geojson":
            raise bad("f", "must be json or html")
        return "html" if f == "html" else "json"
    # A bare */* (OWSLib, curl) ties and gets JSON; only a client that prefers
    # text/html (a browser) gets the HTML page.
    accept = request.accept_mimetypes
    wants_json = max(accept["application/json"], accept["application/geo+json"])
    return "html" if accept["text/html"] > wants_json else "json"


def _integer(name: str, raw: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,20}", raw.strip()):
        raise bad(name, "must be an integer")
    return int(raw)


def limit() -> int:
    """Page size: default 100; above 10,000 clamped to 10,000; below 1 refused."""
    raw = one("limit")
    if raw is None:
        return DEFAULT_LIMIT
    value = _integer("limit", raw)
    if value < 1:
        raise bad("limit", "must be at least 1")
    return min(value, MAX_LIMIT)


def offset() -> int:
    """Index of the first feature of the page (the ``next`` links use it)."""
    raw = one("offset")
    if raw is None:
        return 0
    value = _integer("offset", raw)
    if not 0 <= value <= MAX_OFFSET:
        raise bad("offset", "must be zero or more")
    return value


def bbox() -> tuple[float, float, float, float] | None:
    """``minx,miny,maxx,maxy`` in CRS84 (6 numbers: heights ignored); minx > maxx crosses 180°."""
    raw = one("bbox")
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise bad("bbox", "must be 4 (or 6) comma-separated numbers: minx,miny,maxx,maxy")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise bad("bbox", "must be numbers") from None
    if not all(math.isfinite(n) for n in nums):
        raise bad("bbox", "must be finite numbers")
    x0, y0, x1, y1 = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else nums
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180):
        raise bad("bbox", "longitudes must be between -180 and 180")
    if not (-90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise bad("bbox", "latitudes must be between -90 and 90")
    if y0 > y1:
        raise bad("bbox", "miny must not exceed maxy")
    return (x0, y0, x1, y1)


def _instant(raw: str, *, end: bool) -> dt.datetime:
    """An RFC 3339 date-time (naive = UTC), or a date meaning its whole day.

    Intervals are half-open inside: an inclusive end instant becomes end + 1 µs
    (PostgreSQL's resolution), an end date the next midnight.
    """
    value = raw.strip()
    try:
        if _DATE.match(value):
            day = dt.date.fromisoformat(value) + dt.timedelta(days=1 if end else 0)
            return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed + dt.timedelta(microseconds=1) if end else parsed
    except (ValueError, OverflowError):
        raise bad("datetime", f"{raw!r} is not an RFC 3339 date-time (2024-05-01T00:00:00Z) "
                  "or date") from None


def interval() -> Interval | None:
    """An instant, ``start/end``, or half-bounded ``../end``, ``start/..`` (empty = open)."""
    raw = one("datetime")
    if raw is None:
        return None
    if "/" not in raw:
        if raw.strip() == "..":
            raise bad("datetime", "'..' is only allowed as one end of an interval")
        return Interval(_instant(raw, end=False), _instant(raw, end=True))
    parts = raw.split("/")
    if len(parts) != 2:
        raise bad("datetime", "an interval is start/end")
    lo, hi = (p.strip() for p in parts)
    start = None if lo in ("", "..") else _instant(lo, end=False)
    end = None if hi in ("", "..") else _instant(hi, end=True)
    if start is None and end is None:
        raise bad("datetime", "at least one end of the interval must be given")
    if start and end and start >= end:
        raise bad("datetime", "the start must be before the end")
    return Interval(start, end)


ITEMS_PARAMS = {"bbox", "datetime", "limit", "offset"}


def feature_query(allowed: dict[str, Filter]) -> FeatureQuery:
    """The checked items request for a collection with the property filters ``allowed``."""
    check_names(ITEMS_PARAMS | set(allowed))
    filters = {}
    for name in allowed:
        raw = one(name)
        if raw is not None:
            try:
                filters[name] = parse_filter(allowed, name, raw)
            except FieldError as exc:
                raise bad(exc.field, exc.message) from None
    return FeatureQuery(
        bbox=bbox(), interval=interval(), filters=filters, limit=limit(), offset=offset()
    )
