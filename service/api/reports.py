"""Reports on the native API: create (one or a batch), read, list, change, nearby, confirm.

Views validate (``operation``), authorise, call ``geo``, serialise. Who sees what
of a report is decided in :func:`report_view`; the rules are in docs/architecture.md
"Privacy".
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Response, current_app, jsonify, request, url_for
from pydantic import ValidationError
from sqlalchemy import Connection

from geo.access.keys import Principal
from geo.errors import FieldError, NotFound
from geo.privacy import reporter_hash, shown_publicly
from geo.reports import intake as reports
from geo.reports import queries
from geo.settings import Settings
from service import caches
from service.api import bp
from service.api.report_schemas import (
    BatchIn,
    BatchOut,
    ConfirmationIn,
    ConfirmationOut,
    ListQuery,
    NearbyOut,
    NearbyQuery,
    ReportCreated,
    ReportIn,
    ReportList,
    ReportOut,
    ReportPatch,
    ReportQuery,
    created_payload,
    report_view,
)
from service.auth import principal, roles_required
from service.db import engine
from service.errors import Problem, from_validation
from service.idempotency import idempotent, save
from service.openapi import Body, operation

WRITERS = ("app", "planner", "admin")
STAFF = ("planner", "admin")
TAGS = ("reports",)


@contextmanager
def geo_errors() -> Iterator[None]:
    """Render the library's FieldError/NotFound as problem+json (422/409 naming the field, 404)."""
    try:
        yield
    except FieldError as err:
        raise Problem(err.status, f"{err.field}: {err.message}", field=err.field) from None
    except NotFound as err:
        raise Problem(404, f"{err.what} not found", kind="not-found") from None


def _settings() -> Settings:
    """This app's settings."""
    return current_app.config["SETTINGS"]


def _json(payload: Any, status: int = 200) -> Response:
    """A JSON response with ``status``."""
    resp = jsonify(payload)
    resp.status_code = status
    return resp


def _check_jurisdiction(value: str | None) -> None:
    """A report for another city's server is refused rather than filed here."""
    configured = _settings().jurisdiction_id
    if configured and value is not None and value != configured:
        raise FieldError("jurisdiction_id", f"this server serves {configured!r}")


@bp.post("/reports")
@roles_required(*WRITERS)
@operation(
    summary="Create a report (JSON or GeoJSON Feature)",
    body=ReportIn,
    responses={201: ReportCreated,
               200: Body("The report this client_id created earlier",
                         {"application/json": ReportCreated})},
    roles=WRITERS,
    tags=TAGS,
    idempotent=True,
)
@idempotent
def create_report(body: ReportIn) -> Response:
    """Write one report; a client_id this key already sent answers 200 with that report."""
    who = principal()
    secret = _settings().secret_key
    with geo_errors(), engine().begin() as conn:
        _check_jurisdiction(body.jurisdiction_id)
        new = body.to_new_report(who, request.remote_addr)
        row = reports.prepare(new, caches.services(conn), secret=secret)
        created = reports.insert(conn, [row], secret=secret)[0]
        resp = _json(created_payload(created, row), 200 if created.replayed else 201)
        resp.headers["Location"] = url_for(".get_report", report_id=created.id)
        save(conn, resp)
    return resp


def _item_error(client_id: Any, field: str, message: str, status: int = 422) -> dict[str, Any]:
    """A batch result for an item that was not written."""
    return {"client_id": client_id, "error": {"field": field, "message": message, "status": status}}


def _raw_client_id(item: Any) -> str | None:
    """The item's client_id normalised, if it parses, to spot repeats before validating."""
    raw = item.get("client_id") if isinstance(item, dict) else None
    try:
        return str(uuid.UUID(raw)) if isinstance(raw, str) else None
    except ValueError:
        return None


def _prepare_item(item: Any, services: dict[str, Any], who: Principal) -> dict[str, Any]:
    """Check one batch item; raises FieldError (item-relative field) when it is bad."""
    if not isinstance(item, dict):
        raise FieldError("item", "must be a report object")
    try:
        body = ReportIn.model_validate(item)
    except ValidationError as exc:
        first = from_validation(exc, model=ReportIn).errors[0]
        raise FieldError(first["field"], first["message"]) from None
    if body.client_id is None:
        raise FieldError("client_id", "required for every report in a batch")
    _check_jurisdiction(body.jurisdiction_id)
    new = body.to_new_report(who, request.remote_addr)
    return reports.prepare(new, services, secret=_settings().secret_key)


@bp.post("/reports/batch")
@roles_required(*WRITERS)
@operation(
    summary="Create up to max_batch reports in one transaction",
    body=BatchIn,
    responses={200: BatchOut},
    roles=WRITERS,
    tags=TAGS,
    idempotent=True,
)
@idempotent
def create_batch(body: BatchIn) -> Response:
    """Write every valid item at once; each result carries its report or its error, in order."""
    who = principal()
    settings = _settings()
    if len(body.reports) > settings.max_batch:
        raise Problem(413, f"reports: at most {settings.max_batch} reports per batch",
                      field="reports", kind="batch-too-large")
    results: list[dict[str, Any] | None] = [None] * len(body.reports)
    first_of: dict[str, int] = {}  # client_id → index of its first valid item
    repeats: dict[int, int] = {}  # later item → first item with the same client_id
    rows: dict[int, dict[str, Any]] = {}
    with geo_errors(), engine().begin() as conn:
        services = caches.services(conn)
        for i, item in enumerate(body.reports):
            cid = _raw_client_id(item)
            if cid is not None and cid in first_of:
                repeats[i] = first_of[cid]
                continue
            try:
                rows[i] = _prepare_item(item, services, who)
            except FieldError as err:
                sent = item.get("client_id") if isinstance(item, dict) else None
                results[i] = _item_error(sent, err.field, err.message, err.status)
                continue
            first_of[rows[i]["client_id"]] = i
        _drop_unusable_photos(conn, rows, results, who.key_id)
        order = sorted(rows)
        created = reports.insert(conn, [rows[i] for i in order], secret=settings.secret_key)
        for i, done in zip(order, created, strict=True):
            payload = created_payload(done, rows[i])
            results[i] = {"client_id": rows[i]["client_id"], "report": payload}
        for i, first in repeats.items():
            results[i] = results[first]
        resp = _json({"results": results})
        save(conn, resp)
    return resp


def _drop_unusable_photos(
    conn: Connection, rows: dict[int, dict[str, Any]], results: list[Any], key_id: int | None
) -> None:
    """Turn items whose photos cannot be linked into item errors, before the insert."""
    wanted: list[tuple[int, uuid.UUID, uuid.UUID | None]] = []
    claimed: set[str] = set()
    bad: dict[int, str] = {}
    for i in sorted(rows):
        for photo in rows[i]["photos"]:
            if photo in claimed:  # one photo cannot belong to two reports
                bad.setdefault(i, photo)
            claimed.add(photo)
            wanted.append((i, uuid.UUID(photo), uuid.UUID(rows[i]["client_id"])))
    bad.update(queries.unusable_photos(conn, wanted, key_id))
    for i, photo in bad.items():
        row = rows.pop(i)
        message = f"unknown or already used photo {photo}"
        results[i] = _item_error(row["client_id"], "photos", message)


def _token_matches(token: str | None, stored: bytes | None) -> bool:
    """Constant-time check of a tracking token against the stored digest."""
    if not token or stored is None:
        return False
    return hmac.compare_digest(reports.token_digest(token), bytes(stored))


@bp.get("/reports/<int:report_id>")
@operation(
    summary="Read a report (staff: all; ?token=: its reporter; others: the public view)",
    query=ReportQuery,
    responses={200: ReportOut},
    tags=TAGS,
)
def get_report(report_id: int, query: ReportQuery) -> Response:
    """One report, as much of it as the caller may see; a wrong token is just no token."""
    who = principal()
    with geo_errors(), engine().connect() as conn:
        row = queries.get_report(conn, report_id, with_contact=who.is_staff)
        if who.is_staff:
            view = "staff"
        elif _token_matches(query.token, row.token_hash):
            view = "reporter"
        elif shown_publicly(row):
            view = "public"
        else:
            # "Not at all": the very 404 of an id that was never used.
            raise NotFound(f"report {row.id}")
    return _json(report_view(row, view))


@bp.patch("/reports/<int:report_id>")
@roles_required(*STAFF)
@operation(
    summary="Change a report's status, notes, duplicate link or point",
    body=ReportPatch,
    responses={200: ReportOut},
    roles=STAFF,
    tags=TAGS,
)
def update_report(report_id: int, body: ReportPatch) -> Response:
    """Apply a staff change with its history entries in one transaction."""
    who = principal()
    change = queries.ReportChange(
        status=body.status,
        status_notes=body.status_notes,
        set_notes="status_notes" in body.model_fields_set,
        duplicate_of=body.duplicate_of,
        lat=body.lat,
        long=body.long,
    )
    with geo_errors(), engine().begin() as conn:
        queries.update_report(conn, report_id, change, actor_key_id=who.key_id,
                              actor_user_id=who.user_id)
        row = queries.get_report(conn, report_id, with_contact=True)
    return _json(report_view(row, "staff"))


@bp.get("/reports")
@roles_required(*STAFF)
@operation(
    summary="List reports for staff (needs_location=true: those waiting for a point)",
    query=ListQuery,
    responses={200: ReportList},
    roles=STAFF,
    tags=TAGS,
)
def list_reports(query: ListQuery) -> Response:
    """One page of reports, oldest first."""
    with engine().connect() as conn:
        rows = queries.list_reports(
            conn,
            needs_location=query.needs_location,
            service_code=query.service_code,
            status=query.status,
            limit=query.page_size + 1,  # one more tells whether another page exists
            offset=(query.page - 1) * query.page_size,
        )
    page = [
        {
            "id": r["id"],
            "service_request_id": r["public_id"],
            "service_code": r["service_code"],
            "status": r["status"],
            "description": r["description"],
            "address_string": r["address_string"],
            "lat": r["lat"],
            "long": r["long"],
            "requested_datetime": r["requested_at"].isoformat(),
            "updated_datetime": r["updated_at"].isoformat(),
        }
        for r in rows[: query.page_size]
    ]
    return _json({"reports": page, "page": query.page, "page_size": query.page_size,
                  "has_more": len(rows) > query.page_size})


@bp.get("/reports/nearby")
@roles_required(*WRITERS)
@operation(
    summary="Open reports of a service near a point: within its duplicate radius, nearest "
    "first; for aggregated services (non-staff) those of the point's cell, without distances",
    query=NearbyQuery,
    responses={200: NearbyOut},
    roles=WRITERS,
    tags=TAGS,
)
def nearby_reports(query: NearbyQuery) -> Response:
    """Let a phone offer "confirm this one" before filing a duplicate.

    Rate limiting (any key can probe many points) is applied to this endpoint by
    the limiter in front of it, keyed per app key and client address.
    """
    who = principal()
    with engine().connect() as conn:
        service = caches.services(conn).get(query.service_code)
        if service is None:
            raise Problem(400, f"service_code: unknown service {query.service_code!r}",
                          field="service_code")
        if not who.is_staff and service.privacy != "public":
            # "Is there a lead report within 20 m of this house?" must not be
            # answerable: only the cell's reports, as the public listings show them.
            cell, rows = queries.nearby_in_cell(conn, query.lat, query.long, service.code)
            return _json({"radius_m": service.duplicate_radius_m, "cell": cell,
                          "reports": [_nearby_item(r, None) for r in rows]})
        rows = queries.nearby(conn, query.lat, query.long, service.code, service.duplicate_radius_m)
    out = [_nearby_item(r, round(r["distance_m"], 1)) | {"lat": r["lat"], "long": r["long"]}
           for r in rows]
    return _json({"radius_m": service.duplicate_radius_m, "cell": None, "reports": out})


def _nearby_item(row: Any, distance_m: float | None) -> dict[str, Any]:
    """One report of a nearby answer."""
    return {
        "id": row["id"],
        "service_request_id": row["public_id"],
        "distance_m": distance_m,
        "status": row["status"],
        "requested_datetime": row["requested_at"].isoformat(),
        "confirmations": row["confirmations"],
    }


@bp.post("/reports/<int:report_id>/confirmations")
@roles_required(*WRITERS)
@operation(
    summary="Confirm a report (\"me too\"); one per reporter",
    body=ConfirmationIn,
    responses={201: ConfirmationOut,
               200: Body("This reporter had already confirmed",
                         {"application/json": ConfirmationOut})},
    roles=WRITERS,
    tags=TAGS,
    idempotent=True,
)
@idempotent
def confirm_report(report_id: int, body: ConfirmationIn) -> Response:
    """Count a confirmation once per reporter; the same reporter again returns the first."""
    who = principal()
    secret = _settings().secret_key
    device = reports.device_hash(secret, body.device_id) if body.device_id else None
    reporter = reporter_hash(secret, address=request.remote_addr, trusted=who.is_staff,
                             device=device, row_key=secrets.token_bytes(16))
    with geo_errors(), engine().begin() as conn:
        done = queries.confirm(conn, report_id, device=device,
                               reporter=reporter, staff=who.is_staff)
        resp = _json(
            {
                "id": done.id,
                "report_id": done.report_id,
                "created_at": done.created_at.isoformat(),
                "confirmations": done.confirmations,
                "already_confirmed": not done.created,
            },
            201 if done.created else 200,
        )
        save(conn, resp)
    return resp
