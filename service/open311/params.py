"""Open311 inputs: query and form schemas, and the checks that span several fields.

The pydantic models validate *and* document (they feed ``/openapi.json``).
Open311 clients send extra parameters (``extensions``, ``locale``…), so unknown
ones are ignored rather than rejected; every parameter we know is validated and
an error names it. An empty parameter counts as absent, as the spec requires.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from flask import current_app, request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from werkzeug.datastructures import MultiDict

from geo.access.keys import Principal
from geo.errors import FieldError
from geo.reports.search import MAX_RADIUS_M, STATUS_GROUPS, Near, SearchFilter
from geo.settings import Settings
from service.auth import principal
from service.errors import Problem
from service.openapi import validate
from service.origin import public_origin

MAX_SPAN = dt.timedelta(days=90)
MAX_IDS = 500
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
#: The W3C note's complete date plus hours and minutes (seconds, fraction optional),
#: with the zone designator Open311 makes mandatory.
_W3_DATETIME = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,6})?)?(Z|[+-]\d\d:?\d\d)", re.ASCII
)


def _w3_datetime(value: Any) -> Any:
    """Parse a W3C date-time that carries its offset, as Open311 requires."""
    if not isinstance(value, str):
        return value
    # An unescaped '+' in a query string arrives as a space: "…T00:00:00 05:00".
    raw = re.sub(r" (\d\d:?\d\d)$", r"+\1", value.strip())
    if not _W3_DATETIME.fullmatch(raw):
        raise ValueError("must be a W3C date-time with a time and a zone offset, "
                         "e.g. 2010-01-01T00:00:00Z")
    try:
        return dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError("is not a valid date-time") from None


W3Datetime = Annotated[dt.datetime, BeforeValidator(_w3_datetime)]


def _media_url(value: Any) -> Any:
    """Accept only absolute http(s) URLs without whitespace."""
    if not isinstance(value, str):
        return value
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
        raise ValueError("must be an absolute http or https URL")
    return value


class JurisdictionQuery(BaseModel):
    """Query of the read-only resources: only ``jurisdiction_id``."""

    model_config = ConfigDict(extra="ignore")

    jurisdiction_id: str | None = Field(None, description="Checked when the city configured one")


class SearchQuery(JurisdictionQuery):
    """``GET /requests`` search arguments, with the pagination and spatial extensions."""

    service_request_id: str | None = Field(
        None, description="Comma-separated ids; overrides every other argument"
    )
    service_code: str | None = Field(None, description="Comma-separated service codes")
    status: str | None = Field(None, description="Comma-separated: open, closed")
    start_date: W3Datetime | None = Field(None, description="requested_datetime from (with offset)")
    end_date: W3Datetime | None = Field(None, description="requested_datetime to; span ≤ 90 days")
    updated_after: W3Datetime | None = None
    updated_before: W3Datetime | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=500)
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    long: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    radius: float | None = Field(
        None, gt=0, le=MAX_RADIUS_M, allow_inf_nan=False, description="metres, with lat and long"
    )


Text200 = Annotated[str | None, Field(None, max_length=200)]


class RequestForm(BaseModel):
    """``POST /requests`` form fields (``attribute[code]`` and ``attribute[code][]`` aside)."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "patternProperties": {
                r"^attribute\[[^\]]+\](\[\])?$": {
                    "type": "string",
                    "description": "answer to a service-definition attribute; repeat "
                    "attribute[code][]= for a multivaluelist",
                }
            }
        },
    )

    api_key: str | None = Field(None, description="or an Authorization: Bearer header")
    jurisdiction_id: str | None = None
    service_code: str | None = None
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    long: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    address_string: str | None = Field(None, max_length=1000)
    address_id: Text200 = None
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=64)
    first_name: Text200 = None
    last_name: Text200 = None
    device_id: Text200 = None
    account_id: Text200 = None
    description: str | None = Field(None, max_length=4000)
    media_url: Annotated[str | None, BeforeValidator(_media_url)] = Field(None, max_length=2000)


FORM_SCHEMA = RequestForm.model_json_schema()
FORM_CONTENT = {mime: {"schema": FORM_SCHEMA} for mime in FORM_TYPES}


def settings() -> Settings:
    """This app's settings."""
    return current_app.config["SETTINGS"]


def check_jurisdiction(value: str | None) -> None:
    """404 when the city configured a jurisdiction and the client named another."""
    expected = settings().jurisdiction_id
    if expected and value and value != expected:
        raise Problem(404, f"jurisdiction_id: unknown jurisdiction {value!r}",
                      field="jurisdiction_id")


def caller(form_key: str | None = None) -> Principal:
    """The caller; a key that is not valid is Open311's 403, never anonymous."""
    try:
        return principal(form_key)
    except Problem as exc:
        if exc.status != 401:
            raise
        raise Problem(403, "api_key: invalid api_key received -- can't proceed",
                      field="api_key") from None


def base_url() -> str:
    """The public root URL (configured, else as this request reached us), no trailing slash."""
    return public_origin() + request.script_root


def _split(value: str | None, name: str, limit: int = MAX_IDS) -> tuple[str, ...]:
    """A comma-separated parameter as a tuple of non-empty items (at most ``limit``)."""
    items = tuple(dict.fromkeys(p.strip() for p in (value or "").split(",") if p.strip()))
    if any("\x00" in item for item in items):
        raise Problem(400, f"{name}: must not contain NUL characters", field=name)
    if len(items) > limit:
        raise Problem(400, f"{name}: at most {limit} values", field=name)
    return items


def _bad(name: str, message: str) -> Problem:
    """A 400 naming ``name``."""
    return Problem(400, f"{name}: {message}", field=name)


def _window(q: SearchQuery, now: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The requested_datetime window: at most 90 days, the last 90 by default.

    The default applies only when no date of either kind was given: someone
    downloading a changeset by ``updated_after`` wants every report updated since,
    however old (the v2.1 draft leaves this open).
    """
    start, end = q.start_date, q.end_date
    if start and end:
        if end < start:
            raise _bad("end_date", "must not be before start_date")
        if end - start > MAX_SPAN:
            raise _bad("end_date", "the range from start_date may not exceed 90 days")
        return start, end
    if start:
        return start, start + MAX_SPAN
    if end:
        return end - MAX_SPAN, end
    if q.updated_after or q.updated_before:
        return None, None
    return now - MAX_SPAN, None


def search_filter(q: SearchQuery, *, may_see_exact: bool, now: dt.datetime) -> SearchFilter:
    """Turn validated search arguments into the library's filter (400 on bad combinations)."""
    ids = _split(q.service_request_id, "service_request_id")
    if ids:
        return SearchFilter(ids=ids, may_see_exact=may_see_exact, limit=len(ids), offset=0)
    statuses: list[str] = []
    for item in _split(q.status, "status"):
        if item.lower() not in STATUS_GROUPS:
            raise _bad("status", f"{item!r} is not open or closed")
        statuses.extend(STATUS_GROUPS[item.lower()])
    if q.updated_after and q.updated_before and q.updated_before < q.updated_after:
        raise _bad("updated_before", "must not be before updated_after")
    given = {name: getattr(q, name) for name in ("lat", "long", "radius")}
    if any(v is not None for v in given.values()):
        missing = [name for name, v in given.items() if v is None]
        if missing:
            raise _bad(missing[0], "lat, long and radius are needed together")
    start, end = _window(q, now)
    near = None
    if q.lat is not None and q.long is not None and q.radius is not None:
        near = Near(q.lat, q.long, q.radius)
    return SearchFilter(
        service_codes=_split(q.service_code, "service_code"),
        statuses=tuple(statuses),
        requested_from=start,
        requested_to=end,
        updated_after=q.updated_after,
        updated_before=q.updated_before,
        near=near,
        may_see_exact=may_see_exact,
        limit=q.page_size,
        offset=(q.page - 1) * q.page_size,
    )


def read_form() -> MultiDict[str, str]:
    """The POST body's fields; only form encodings, no files, no NUL characters."""
    if request.mimetype and request.mimetype not in FORM_TYPES:
        raise _bad("Content-Type", f"expected application/x-www-form-urlencoded, "
                                   f"got {request.mimetype}")
    form = request.form
    if request.files:
        raise _bad("media", "file uploads are not accepted here; send media_url, or "
                            "upload to /api/v1/photos")
    for key, value in form.items(multi=True):
        # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the insert.
        if "\x00" in key or "\x00" in value:
            raise _bad(key.replace("\x00", ""), "must not contain NUL characters")
    return form


def parse_form(form: MultiDict[str, str]) -> tuple[RequestForm, dict[str, Any]]:
    """Validate the scalar fields and gather ``attribute[...]`` answers.

    ``attribute[code][]=a&attribute[code][]=b`` (or a repeated ``attribute[code]``)
    gives a list, as a multivaluelist needs; empty values count as absent.
    """
    fields: dict[str, str] = {}
    attributes: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if v != ""]
        if not values:
            continue
        match = _ATTRIBUTE.match(key)
        if match is None:
            if key.startswith("attribute"):
                # A mangled attribute would otherwise be dropped with the extras.
                raise _bad(key, "expected attribute[code] or attribute[code][]")
            fields[key] = values[-1]
            continue
        code, is_list = match.group(1), match.group(2) is not None
        if is_list or len(values) > 1 or code in attributes:
            previous = attributes.get(code, [])
            attributes[code] = (previous if isinstance(previous, list) else [previous]) + values
        else:
            attributes[code] = values[0]
    return validate(RequestForm, fields, status=400), attributes


def field_problem(exc: FieldError) -> Problem:
    """A library FieldError as an Open311 400, with the field named as the form names it."""
    name = exc.field
    if name.startswith("attributes."):
        name = f"attribute[{name[len('attributes.'):]}]"
    elif name.startswith("contact."):
        name = name[len("contact."):]
    return Problem(400, f"{name}: {exc.message}", field=name)
