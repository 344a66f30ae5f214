"""Payloads of the native reports API: one pydantic model per payload, and the builders
of the response bodies (who sees what of a report is decided in :func:`report_view`).

The same models validate requests (through :func:`service.openapi.operation`)
and describe them in ``/openapi.json``. Inputs forbid unknown fields so a typo is
a 422 naming it, not a silently dropped answer.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Annotated, Any, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from geo.access.keys import Principal
from geo.privacy import public_point
from geo.reports.intake import CreatedReport, NewReport
from geo.schema import REPORT_STATUSES

# Strict: a phone that sends "45.1" as a string has a bug worth hearing about.
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, strict=True)]
Long = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, strict=True)]
Status = Literal["open", "acknowledged", "in_progress", "closed", "duplicate"]
if set(get_args(Status)) != set(REPORT_STATUSES):  # the schema's list is the truth
    raise RuntimeError("report_schemas.Status is out of step with geo.schema.REPORT_STATUSES")

_FEATURE_MEMBERS = ("type", "geometry", "properties")


class Input(BaseModel):
    """Base of every request payload: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class ContactIn(Input):
    """How the city may reach the reporter; visible to planners and admins only."""

    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=64)
    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, max_length=200)


def _error(loc: tuple[str | int, ...], message: str, value: Any = None) -> ValidationError:
    """A validation error at ``loc``; pydantic passes it through with its location intact."""
    kind = "extra_forbidden" if message == "unknown field" else "geojson"
    error = PydanticCustomError(kind, message) if kind == "geojson" else kind
    return ValidationError.from_exception_data(
        "ReportIn", [InitErrorDetails(type=error, loc=loc, input=value)]  # type: ignore[typeddict-item]
    )


def _is_number(value: Any) -> bool:
    """A finite JSON number (not a boolean)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def flatten_feature(data: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Feature's properties with ``lat``/``long`` taken from its Point.

    Errors are raised with their GeoJSON location (``geometry.coordinates``,
    ``properties.lat``) so the problem names what the client actually sent.
    """
    for member in data:
        if member not in _FEATURE_MEMBERS:
            raise _error((member,), "unknown field")
    props = data.get("properties") or {}
    if not isinstance(props, dict):
        raise _error(("properties",), "must be an object")
    flat = dict(props)
    geometry = data.get("geometry")
    if geometry is None:
        return flat  # an address-only report
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise _error(("geometry", "type"), "must be a GeoJSON Point")
    for member in geometry:
        if member not in ("type", "coordinates"):
            raise _error(("geometry", member), "unknown field")
    coords = geometry.get("coordinates")
    if not (isinstance(coords, list) and len(coords) in (2, 3) and all(map(_is_number, coords))):
        raise _error(("geometry", "coordinates"), "must be [long, lat] numbers")
    for index, name, bound in ((0, "long", 180), (1, "lat", 90)):
        value = coords[index]
        if not -bound <= value <= bound:
            raise _error(("geometry", "coordinates", index),
                                 f"{name} must be between -{bound} and {bound}", value)
        sent = props.get(name)
        if sent is not None and sent != value:
            raise _error(("properties", name),
                                 "does not match geometry.coordinates; send it once", sent)
        flat[name] = value
    return flat


class ReportIn(Input):
    """A new report (Open311 field names); a GeoJSON Feature with these properties works too.

    A Feature's Point gives ``lat``/``long``; the same values may be repeated in
    its properties, different ones are a 422. Without a point, ``address_string``
    is required and the report waits for staff to place it.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"description": "Also accepted: a GeoJSON Feature (Point geometry "
                           "[long, lat], these fields as properties)."},
    )

    service_code: str = Field(max_length=64)
    lat: Lat | None = None
    long: Long | None = None
    description: str = Field("", max_length=4000)
    address_string: str | None = Field(None, max_length=1000)
    attributes: dict[str, Any] = Field(default_factory=dict)
    device_id: str | None = Field(None, min_length=1, max_length=200)
    client_id: uuid.UUID | None = None
    photos: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    contact: ContactIn | None = None
    accuracy_m: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)
    observed_at: AwareDatetime | None = None
    jurisdiction_id: str | None = Field(None, max_length=200)

    @model_validator(mode="before")
    @classmethod
    def _from_feature(cls, data: Any) -> Any:
        """Unwrap a GeoJSON Feature into the flat shape."""
        if isinstance(data, dict) and data.get("type") == "Feature":
            return flatten_feature(data)
        return data

    def to_new_report(self, who: Principal, client_address: str | None) -> NewReport:
        """The intake library's view of this payload, filed by ``who`` from ``client_address``."""
        return NewReport(
            service_code=self.service_code,
            lat=self.lat,
            long=self.long,
            description=self.description,
            address_string=self.address_string,
            attributes=self.attributes,
            device_id=self.device_id,
            client_id=self.client_id,
            photos=list(self.photos),
            contact=self.contact.model_dump() if self.contact else {},
            accuracy_m=self.accuracy_m,
            observed_at=self.observed_at,
            source="api",
            app_key_id=who.key_id,
            client_address=client_address,
            trusted=who.is_staff,
        )


class BatchIn(Input):
    """Up to ``max_batch`` reports; each item is checked on its own and needs a client_id."""

    # Items stay raw here: one bad item must become that item's error, not the batch's.
    reports: list[Any] = Field(min_length=1)


class ReportPatch(Input):
    """A staff change: status, notes, duplicate link, or a point for an address-only report."""

    status: Status | None = None
    status_notes: str | None = Field(None, max_length=4000)
    duplicate_of: int | None = Field(None, ge=1, le=2**63 - 1, strict=True)
    lat: Lat | None = None
    long: Long | None = None

    @model_validator(mode="after")
    def _something(self) -> ReportPatch:
        """An empty change is a client bug; a half point is too."""
        if not self.model_fields_set:
            raise ValueError("send at least one of status, status_notes, duplicate_of, lat/long")
        if (self.lat is None) != (self.long is None):
            missing = "long" if self.long is None else "lat"
            raise _error((missing,), "lat and long must be sent together")
        return self


class ConfirmationIn(Input):
    """A "me too" from another resident; ``device_id`` stops one phone counting twice."""

    device_id: str | None = Field(None, min_length=1, max_length=200)


class ReportQuery(Input):
    """``?token=`` lets the phone that filed a report read all of it."""

    token: str | None = Field(None, max_length=200)


class ListQuery(Input):
    """Filters and paging for the staff list."""

    needs_location: bool | None = None
    service_code: str | None = Field(None, max_length=64)
    status: Status | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=250)


class NearbyQuery(Input):
    """Where the resident is and what they are about to report."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    long: float = Field(ge=-180, le=180, allow_inf_nan=False)
    service_code: str = Field(max_length=64)


# --- responses (documentation for /openapi.json; views build matching dicts) ---


class ReportCreated(BaseModel):
    """The created (or replayed) report; ``token`` is the secret for ``?token=``."""

    id: int
    service_request_id: str
    status: str
    token: str
    client_id: uuid.UUID | None
    service_code: str
    requested_datetime: dt.datetime
    needs_location: bool
    replayed: bool


class ItemError(BaseModel):
    """Why one batch item was not written (``field`` relative to the item)."""

    field: str
    message: str
    status: int


class BatchItemResult(BaseModel):
    """One batch item's outcome, in the order sent."""

    client_id: str | None
    report: ReportCreated | None = None
    error: ItemError | None = None


class BatchOut(BaseModel):
    """Results in the order of ``reports``."""

    results: list[BatchItemResult]


class HistoryEvent(BaseModel):
    """One entry of a report's history."""

    kind: str
    status: str | None
    notes: str | None
    created_at: dt.datetime
    actor_key_id: int | None = None


class ReportOut(BaseModel):
    """A report as the caller may see it: staff, its reporter (token) or the public."""

    id: int
    service_request_id: str
    service_code: str
    service_name: str
    status: str
    status_notes: str | None
    requested_datetime: dt.datetime
    updated_datetime: dt.datetime
    lat: float | None
    long: float | None
    location_exact: bool
    confirmations: int
    view: Literal["staff", "reporter", "public"]
    description: str | None = None
    address_string: str | None = None
    attributes: dict[str, Any] | None = None
    photos: list[str] | None = None
    observed_at: dt.datetime | None = None
    accuracy_m: float | None = None
    duplicate_of: int | None = None
    needs_location: bool | None = None
    history: list[HistoryEvent] | None = None
    contact: dict[str, str] | None = None
    device_hash: str | None = None
    client_id: uuid.UUID | None = None
    source: str | None = None
    app_key_id: int | None = None


class ReportSummary(BaseModel):
    """A report in the staff list."""

    id: int
    service_request_id: str
    service_code: str
    status: str
    description: str
    address_string: str | None
    lat: float | None
    long: float | None
    requested_datetime: dt.datetime
    updated_datetime: dt.datetime


class ReportList(BaseModel):
    """One page of reports."""

    reports: list[ReportSummary]
    page: int
    page_size: int
    has_more: bool


class NearbyReport(BaseModel):
    """An open report close by: "is this what you wanted to report?"."""

    id: int
    service_request_id: str
    #: Metres to the report; null at cell level.
    distance_m: float | None
    status: str
    requested_datetime: dt.datetime
    confirmations: int
    lat: float | None = None
    long: float | None = None


class NearbyOut(BaseModel):
    """At most 20 open reports: nearest first within the service's duplicate radius or,
    for an aggregated service and a non-staff key, newest first in ``cell`` (the point's
    resolution-8 H3 cell) when it has at least 3 reporters, with no distances or points."""

    radius_m: float
    cell: str | None
    reports: list[NearbyReport]


class ConfirmationOut(BaseModel):
    """The confirmation and the report's new count."""

    id: int
    report_id: int
    created_at: dt.datetime
    confirmations: int
    already_confirmed: bool


# --- building the responses ---


def created_payload(created: CreatedReport, row: dict[str, Any]) -> dict[str, Any]:
    """The answer for one created (or replayed) report."""
    return {
        "id": created.id,
        "service_request_id": created.public_id,
        "status": created.status,
        "token": created.token,
        "client_id": str(created.client_id) if created.client_id else None,
        "service_code": row["service_code"],
        "requested_datetime": created.requested_at.isoformat(),
        "needs_location": row["lat"] is None,
        "replayed": created.replayed,
    }


def report_view(row: Any, view: str) -> dict[str, Any]:
    """What ``view`` ("staff", "reporter" or "public") may see of a report row.

    The public never gets the address, device or contact; for an aggregated
    service (a home's lead paint) it gets no description, answers or photos
    either — free text and pictures can identify a household even when the
    point is generalised to its cell.
    """
    lat, lng, exact = public_point(row, may_see_exact=view != "public")
    out: dict[str, Any] = {
        "id": row.id,
        "service_request_id": row.public_id,
        "service_code": row.service_code,
        "service_name": row.service_name,
        "status": row.status,
        # Staff notes on a home's lead paint can name it as surely as an address.
        "status_notes": row.status_notes if view != "public" or row.privacy == "public" else None,
        "requested_datetime": row.requested_at.isoformat(),
        "updated_datetime": row.updated_at.isoformat(),
        "lat": lat,
        "long": lng,
        "location_exact": exact,
        "confirmations": row.confirmations,
        "view": view,
    }
    if view == "public":
        if row.privacy == "public":
            out.update(description=row.description, attributes=row.attributes, photos=row.photos)
        return out
    history = [
        {k: v for k, v in event.items() if view == "staff" or k != "actor_key_id"}
        for event in row.history
    ]
    out.update(
        description=row.description,
        address_string=row.address_string,
        attributes=row.attributes,
        photos=row.photos,
        observed_at=row.observed_at.isoformat() if row.observed_at else None,
        accuracy_m=row.accuracy_m,
        duplicate_of=row.duplicate_of,
        needs_location=row.lat is None,
        history=history,
    )
    if view == "staff":
        out.update(
            contact=row.contact,
            device_hash=bytes(row.device_hash).hex() if row.device_hash else None,
            client_id=str(row.client_id) if row.client_id else None,
            source=row.source,
            app_key_id=row.app_key_id,
        )
    return out
