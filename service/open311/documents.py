"""The shapes of Open311 GeoReport v2 answers, for ``/openapi.json`` and ``/docs``.

Each answer comes as JSON (these models) or, with ``.xml``, as the spec's XML with
the same fields. Views build plain dicts in the spec's field order; these models
only describe them.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, RootModel

from service.openapi import Body

XML_DOCUMENT = {"type": "string", "description": "The same answer as GeoReport v2 XML"}


class Endpoint(BaseModel):
    """One endpoint of the discovery document."""

    specification: str
    url: str
    changeset: dt.datetime
    type: str
    formats: list[str]


class Discovery(BaseModel):
    """Where this endpoint is, what it speaks, and how to get a key."""

    changeset: dt.datetime
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class ServiceItem(BaseModel):
    """One service (report category)."""

    service_code: str
    service_name: str
    description: str | None
    metadata: bool
    type: str
    keywords: str
    group: str | None


class Services(RootModel[list[ServiceItem]]):
    """Every active service."""


class AttributeValue(BaseModel):
    """One allowed answer of a list attribute."""

    key: str
    name: str


class Attribute(BaseModel):
    """One question of a service definition."""

    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    """The questions of one service, and CivicPulse's extensions after the spec's fields."""

    service_code: str
    attributes: list[Attribute]
    privacy: str
    severity: float
    duplicate_radius_m: float


class RequestItem(BaseModel):
    """One service request as the caller may see it (exact points for staff only)."""

    service_request_id: str
    status: str
    status_notes: str | None
    service_name: str | None
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: dt.datetime
    updated_datetime: dt.datetime | None
    expected_datetime: dt.datetime | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


class Requests(RootModel[list[RequestItem]]):
    """Service requests, newest first."""


class CreatedItem(BaseModel):
    """The id of a new request (realtime: no token to exchange)."""

    service_request_id: str
    service_notice: str
    account_id: str | None


class Created(RootModel[list[CreatedItem]]):
    """The new request's id, as a one-element list."""


class TokenItem(BaseModel):
    """The request a tracking token belongs to."""

    service_request_id: str
    token: str


class Tokens(RootModel[list[TokenItem]]):
    """A one-element list."""


class ErrorItem(BaseModel):
    """One Open311 error (the status, and what was wrong, naming the field)."""

    code: int
    description: str


class Errors(RootModel[list[ErrorItem]]):
    """Open311's error document: a list of errors (an <errors> document for .xml)."""


def json_or_xml(description: str, model: type[BaseModel]) -> Body:
    """An Open311 answer in JSON (``model``) or XML, by the path's format."""
    return Body(description, {"application/json": model, "text/xml": XML_DOCUMENT})
