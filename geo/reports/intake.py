"""Report intake: check a resident's report and write it, its contact, history and signal.

Everything a report needs is written in one statement inside the caller's
transaction, so a rejected or interrupted request leaves no rows behind.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import math
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from geo import outbox
from geo.errors import FieldError
from geo.h3cells import cell_of
from geo.privacy import reporter_hash
from geo.services import ServiceInfo, check_attributes

MAX_DESCRIPTION = 4000
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]+$")


@dataclass
class NewReport:
    """A report as a client sent it, before any check (field names as Open311's)."""

    service_code: str
    lat: float | None = None
    long: float | None = None
    description: str = ""
    address_string: str | None = None
    address_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    device_id: str | None = None
    client_id: uuid.UUID | None = None
    photos: list[uuid.UUID] = field(default_factory=list)
    contact: dict[str, str | None] = field(default_factory=dict)
    accuracy_m: float | None = None
    observed_at: dt.datetime | None = None
    account_id: str | None = None
    media_url: str | None = None
    source: str = "api"
    app_key_id: int | None = None
    requested_at: dt.datetime | None = None
    #: The client's IP address and whether its key is staff: who counts as a
    #: distinct reporter (geo.privacy.reporter_hash).
    client_address: str | None = None
    trusted: bool = False


@dataclass(frozen=True)
class CreatedReport:
    """What the phone gets back: ids, status and (for its own report) the token."""

    id: int
    public_id: str
    client_id: uuid.UUID | None
    status: str
    requested_at: dt.datetime
    token: str
    replayed: bool = False


def device_hash(secret: str, device_id: str) -> bytes:
    """Keyed hash of a phone's install id: stable for merging repeats, useless elsewhere."""
    return hmac.new(secret.encode(), b"device|" + device_id.encode(), hashlib.sha256).digest()


def tracking_token(secret: str, public_id: str) -> str:
    """The report's secret tracking token, derived so a replayed response can repeat it.

    Only its SHA-256 is stored; without the server's secret it cannot be rebuilt.
    """
    mac = hmac.new(secret.encode(), b"token|" + public_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode().rstrip("=")


def token_digest(token: str) -> bytes:
    """What the database keeps of a tracking token."""
    return hashlib.sha256(token.encode()).digest()


def new_public_id() -> str:
    """A short, unguessable, case-insensitive public id (Open311 ``service_request_id``)."""
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()[:14]


def _check_location(new: NewReport) -> tuple[float | None, float | None]:
    lat, lng = new.lat, new.long
    if (lat is None) != (lng is None):
        missing = "long" if lng is None else "lat"
        raise FieldError(missing, "lat and long must be sent together")
    if lat is None or lng is None:
        if not (new.address_string or "").strip() and not new.address_id:
            raise FieldError("lat", "a location is required: lat and long, or address_string")
        return None, None
    for name, value, bound in (("lat", lat, 90.0), ("long", lng, 180.0)):
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value):
            raise FieldError(name, "must be a finite number")
        if not -bound <= value <= bound:
            raise FieldError(name, f"must be between -{bound:g} and {bound:g}")
    return float(lat), float(lng)


def _check_contact(contact: dict[str, str | None]) -> dict[str, str] | None:
    out = {}
    for key, limit in (("first_name", 200), ("last_name", 200), ("email", 320), ("phone", 64)):
        value = contact.get(key)
        if value is None or value == "":
            continue
        value = str(value).strip()
        if len(value) > limit:
            raise FieldError(f"contact.{key}", f"at most {limit} characters")
        if key == "email" and not _EMAIL.match(value):
            raise FieldError("contact.email", "not an email address")
        if key == "phone" and not re.fullmatch(r"[0-9+().\- ]{3,64}", value):
            raise FieldError("contact.phone", "not a phone number")
        out[key] = value
    return out or None


def prepare(
    new: NewReport, services: dict[str, ServiceInfo], *, secret: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Check ``new`` against its service and return the row to insert.

    Raises :class:`FieldError` naming the first bad field; touches no database.
    """
    service = services.get(new.service_code or "")
    if not new.service_code:
        raise FieldError("service_code", "required")
    if service is None:
        raise FieldError("service_code", f"unknown service {new.service_code!r}", status=422)
    if len(new.description or "") > MAX_DESCRIPTION:
        raise FieldError("description", f"at most {MAX_DESCRIPTION} characters")
    lat, lng = _check_location(new)
    attributes = check_attributes(service, new.attributes)
    if new.accuracy_m is not None and (
        not math.isfinite(new.accuracy_m) or not 0 <= new.accuracy_m <= 100_000
    ):
        raise FieldError("accuracy_m", "must be between 0 and 100000 metres")
    if new.device_id is not None and not 0 < len(new.device_id) <= 200:
        raise FieldError("device_id", "between 1 and 200 characters")
    if new.address_string is not None and len(new.address_string) > 1000:
        raise FieldError("address_string", "at most 1000 characters")
    now = now or dt.datetime.now(dt.UTC)
    if new.observed_at is not None:
        if new.observed_at.tzinfo is None:
            raise FieldError("observed_at", "needs a time zone offset")
        if new.observed_at > now + dt.timedelta(minutes=10):
            raise FieldError("observed_at", "is in the future")
    public_id = new_public_id()
    device = device_hash(secret, new.device_id) if new.device_id else None
    reporter = reporter_hash(secret, address=new.client_address, trusted=new.trusted,
                             device=device, row_key=public_id.encode())
    return {
        "public_id": public_id,
        "client_id": str(new.client_id) if new.client_id else None,
        "service_code": service.code,
        "description": new.description or "",
        "lat": lat,
        "lon": lng,
        "h3_cell": cell_of(lat, lng) if lat is not None and lng is not None else None,
        "accuracy_m": new.accuracy_m,
        "address_string": (new.address_string or "").strip() or None,
        "address_id": new.address_id,
        "attributes": attributes,
        "requested_at": (new.requested_at or now).isoformat(),
        "observed_at": new.observed_at.isoformat() if new.observed_at else None,
        "source": new.source,
        "device_hash": device.hex() if device else None,
        "reporter_hash": reporter.hex(),
        "app_key_id": new.app_key_id,
        "account_id": new.account_id,
        "token_hash": token_digest(tracking_token(secret, public_id)).hex(),
        "media_url": new.media_url,
        "contact": _check_contact(new.contact),
        "photos": [str(p) for p in new.photos],
    }


_INSERT = text(
    f"""
    WITH input AS (
        SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
            idx int, public_id text, client_id uuid, service_code text, description text,
            lat float8, lon float8, h3_cell bigint, accuracy_m float8, address_string text,
            address_id text, attributes jsonb, requested_at timestamptz, observed_at timestamptz,
            source text, device_hash text, reporter_hash text, app_key_id int, account_id text,
            token_hash text, media_url text, contact jsonb)
    ), ins AS (
        INSERT INTO reports (public_id, client_id, service_code, description, geom, h3_cell,
            accuracy_m, address_string, address_id, attributes, requested_at, updated_at,
            observed_at, source, device_hash, reporter_hash, app_key_id, account_id, token_hash,
            media_url)
        SELECT public_id, client_id, service_code, description,
            CASE WHEN lat IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END,
            h3_cell, accuracy_m, address_string, address_id, attributes, requested_at,
            requested_at, observed_at, source, decode(device_hash, 'hex'),
            decode(reporter_hash, 'hex'), app_key_id,
            account_id, decode(token_hash, 'hex'), media_url
        FROM input ORDER BY idx
        ON CONFLICT (app_key_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
        RETURNING id, public_id, client_id, status, requested_at, service_code
    ), contacts AS (
        INSERT INTO reporter_contacts (report_id, first_name, last_name, email, phone)
        SELECT ins.id, i.contact->>'first_name', i.contact->>'last_name',
               i.contact->>'email', i.contact->>'phone'
        FROM ins JOIN input i USING (public_id) WHERE i.contact IS NOT NULL
    ), events AS (
        INSERT INTO report_events (report_id, kind, status, actor_key_id)
        SELECT ins.id, 'submitted', ins.status, i.app_key_id FROM ins JOIN input i USING (public_id)
    ), signal AS (
        -- "Reports changed" for the hotspot refresh, unless one is already pending.
        {outbox.signal_sql("(SELECT array_agg(DISTINCT service_code) FROM ins)")}
    )
    SELECT ins.*, i.idx FROM ins JOIN input i USING (public_id)
    """
)


def _link_photos(conn: Connection, rows: Sequence[dict[str, Any]], ids: dict[str, int]) -> None:
    wanted = [(p, r["public_id"], r["app_key_id"]) for r in rows for p in r["photos"]]
    if not wanted:
        return
    found = conn.execute(
        text(
            "UPDATE photos p SET report_id = w.report_id FROM "
            "unnest(CAST(:pids AS uuid[]), CAST(:rids AS bigint[]), CAST(:keys AS int[])) "
            "AS w(photo_id, report_id, app_key_id) "
            "WHERE p.id = w.photo_id AND p.report_id IS NULL "
            "AND p.app_key_id IS NOT DISTINCT FROM w.app_key_id RETURNING p.id"
        ),
        {
            "pids": [p for p, _, _ in wanted],
            "rids": [ids[pub] for _, pub, _ in wanted],
            "keys": [k for _, _, k in wanted],
        },
    ).scalars()
    missing = {p for p, _, _ in wanted} - {str(f) for f in found}
    if missing:
        # Raising here rolls back the caller's transaction: the report is not kept
        # with a photo it cannot show.
        raise FieldError("photos", f"unknown or already used photo {sorted(missing)[0]}")


def insert(conn: Connection, rows: Sequence[dict[str, Any]], *, secret: str) -> list[CreatedReport]:
    """Write prepared reports (see :func:`prepare`) and return one result per row, in order.

    A row whose ``client_id`` this app key already sent is not written again: its
    result is the earlier report with ``replayed=True`` (a phone retrying a batch).
    The same statement queues a "reports changed" signal for the hotspot refresh
    unless one is already pending (one is enough: the refresh reads current data).
    """
    if not rows:
        return []
    payload = [
        {k: v for k, v in dict(r, idx=i).items() if k != "photos"} for i, r in enumerate(rows)
    ]
    created = {
        r.idx: r for r in conn.execute(_INSERT, {"rows": json.dumps(payload, default=str)})
    }
    ids = {r.public_id: r.id for r in created.values()}
    _link_photos(conn, [rows[i] for i in created], ids)
    results: list[CreatedReport | None] = [None] * len(rows)
    for idx, r in created.items():
        results[idx] = CreatedReport(
            r.id, r.public_id, r.client_id, r.status, r.requested_at,
            tracking_token(secret, r.public_id),
        )
    replays = [i for i in range(len(rows)) if results[i] is None]
    if replays:
        existing = conn.execute(
            text(
                "SELECT id, public_id, client_id, status, requested_at FROM reports "
                "WHERE app_key_id IS NOT DISTINCT FROM :key "
                "AND client_id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"key": rows[replays[0]]["app_key_id"], "ids": [rows[i]["client_id"] for i in replays]},
        )
        by_client = {str(r.client_id): r for r in existing}
        for i in replays:
            r = by_client[rows[i]["client_id"]]
            results[i] = CreatedReport(
                r.id, r.public_id, r.client_id, r.status, r.requested_at,
                tracking_token(secret, r.public_id), replayed=True,
            )
    return [r for r in results if r is not None]
