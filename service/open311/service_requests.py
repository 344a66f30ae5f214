"""Open311 service requests: create (POST), search, read one, and exchange a token.

Creating goes through :mod:`geo.reports.intake` (the one intake path), so a report made
here is checked and stored exactly like one from the native API. Reading goes
through :mod:`geo.reports.search`, which applies the privacy rule: only planners
and admins see exact points and addresses of aggregated services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request

from geo.errors import FieldError
from geo.reports.intake import NewReport, insert, prepare
from geo.reports.search import SearchFilter, request_id_for_token, search
from service import caches
from service.db import engine
from service.errors import Problem
from service.open311 import bp, documents
from service.open311.documents import json_or_xml
from service.open311.params import (
    FORM_CONTENT,
    JurisdictionQuery,
    SearchQuery,
    base_url,
    caller,
    check_jurisdiction,
    field_problem,
    parse_form,
    read_form,
    search_filter,
    settings,
)
from service.open311.render import known_format, open311_operation, respond

#: Roles whose keys may file reports: resident apps, and staff entering calls.
POSTING_ROLES = ("app", "planner", "admin")


@bp.post("/requests.<fmt>")
@known_format
@open311_operation(
    summary="Open311 create a service request (a resident's report)",
    request_content=FORM_CONTENT,
    roles=POSTING_ROLES,
    tags=("open311",),
    responses={
        200: json_or_xml("The new request's id", documents.Created),
        400: "a field is missing or not acceptable (named in the description)",
        403: "api_key missing, not valid, or its role may not post",
        404: "unknown service_code or jurisdiction_id",
    },
)
def create_request(fmt: str) -> Any:
    """File a report: key → jurisdiction → fields → service → the shared intake path."""
    form = read_form()
    who = caller(form.get("api_key") or None)
    if who.role is None:
        raise Problem(403, "api_key: an api_key is required to create a request",
                      field="api_key")
    if not who.has(*POSTING_ROLES):
        raise Problem(403, "api_key: this key's role may not create requests", field="api_key")
    check_jurisdiction(form.get("jurisdiction_id") or None)
    fields, attributes = parse_form(form)
    if not fields.service_code:
        raise Problem(400, "service_code: required", field="service_code")
    with engine().connect() as conn:
        known = caches.services(conn)
    if fields.service_code not in known:
        # Open311 §1.4: an unknown service_code is a 404, not a 400.
        raise Problem(404, f"service_code: unknown service {fields.service_code!r}",
                      field="service_code")
    new = NewReport(
        service_code=fields.service_code,
        lat=fields.lat,
        long=fields.long,
        description=fields.description or "",
        address_string=fields.address_string,
        address_id=fields.address_id,
        attributes=attributes,
        device_id=fields.device_id,
        contact={"email": fields.email, "phone": fields.phone,
                 "first_name": fields.first_name, "last_name": fields.last_name},
        account_id=fields.account_id,
        media_url=fields.media_url,
        source="open311",
        app_key_id=who.key_id,
        client_address=request.remote_addr,
        trusted=who.is_staff,
    )
    secret = settings().secret_key
    try:
        row = prepare(new, known, secret=secret)
        # One transaction: report, contact, history and outbox signal, or nothing.
        with engine().begin() as conn:
            created = insert(conn, [row], secret=secret)[0]
    except FieldError as exc:
        raise field_problem(exc) from None
    # Realtime: the id exists now, so no token. 200, as Open311 clients expect.
    body = [{"service_request_id": created.public_id, "service_notice": "",
             "account_id": fields.account_id}]
    return respond(fmt, "service_requests", body)


def _request_item(row: dict[str, Any], root: str) -> dict[str, Any]:
    """A search row in Open311's field order; a photo stands in for a missing media_url."""
    item = {k: v for k, v in row.items() if k != "photo_id"}
    if not item["media_url"] and row["photo_id"]:
        item["media_url"] = f"{root}/api/v1/photos/{row['photo_id']}"
    return item


def _found(f: SearchFilter) -> list[dict[str, Any]]:
    """Run a search and serialise its rows."""
    with engine().connect() as conn:
        rows = search(conn, f)
    root = base_url()
    return [_request_item(r, root) for r in rows]


@bp.get("/requests.<fmt>")
@known_format
@open311_operation(
    summary="Open311 search service requests (newest first; page, page_size, "
    "updated_after/before, lat/long/radius extensions)",
    query=SearchQuery,
    tags=("open311",),
    responses={200: json_or_xml("Matching requests", documents.Requests),
               400: "a search argument is not valid"},
)
def search_requests(fmt: str, query: SearchQuery) -> Any:
    """Search reports; exact points only for planners and admins (Bearer key)."""
    check_jurisdiction(query.jurisdiction_id)
    who = caller()
    f = search_filter(query, may_see_exact=who.is_staff, now=dt.datetime.now(dt.UTC))
    return respond(fmt, "service_requests", _found(f))


@bp.get("/requests/<request_id>.<fmt>")
@known_format
@open311_operation(summary="Open311 one service request", query=JurisdictionQuery,
                   tags=("open311",),
                   responses={200: json_or_xml("The request", documents.Requests),
                              404: "unknown request"})
def get_request(request_id: str, fmt: str, query: JurisdictionQuery) -> Any:
    """One report as a one-element list; 404 when no such id."""
    check_jurisdiction(query.jurisdiction_id)
    who = caller()
    # No stored id holds a NUL, and PostgreSQL could not even compare one.
    items = [] if "\x00" in request_id else _found(
        SearchFilter(ids=(request_id,), may_see_exact=who.is_staff, limit=1))
    if not items:
        raise Problem(404, f"service_request_id: no request {request_id!r}",
                      field="service_request_id")
    return respond(fmt, "service_requests", items)


@bp.get("/tokens/<token>.<fmt>")
@known_format
@open311_operation(summary="Open311 exchange a tracking token for its service_request_id",
                   query=JurisdictionQuery, tags=("open311",),
                   responses={200: json_or_xml("The request of the token", documents.Tokens),
                              404: "unknown token"})
def get_token(token: str, fmt: str, query: JurisdictionQuery) -> Any:
    """The id of the report a tracking token belongs to; 404 when none."""
    check_jurisdiction(query.jurisdiction_id)
    with engine().connect() as conn:
        found = request_id_for_token(conn, token)
    if found is None:
        raise Problem(404, "token: unknown token", field="token")
    return respond(fmt, "service_requests", [{"service_request_id": found, "token": token}])
