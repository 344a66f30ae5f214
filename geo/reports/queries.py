"""Existing reports: read one, list, change status or place, find nearby, confirm.

Intake (writing new reports) is :mod:`geo.reports.intake`; this module works on reports
that exist. Functions take a connection and run inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h3
from sqlalchemy import Connection, Row, RowMapping, text

from geo import outbox
from geo.access import audit
from geo.errors import FieldError, NotFound
from geo.h3cells import cell_of, descendants_range_sql
from geo.privacy import (
    GENERALISED_RESOLUTION,
    MIN_REPORTERS,
    public_columns_sql,
    reporter_identity_sql,
    shown_publicly,
)
from geo.schema import REPORT_STATUSES

OPEN_STATUSES = ("open", "acknowledged", "in_progress")
NEARBY_LIMIT = 20
_MAX_BIGINT = 2**63 - 1

_ONE = text(
    f"""
    SELECT r.id, r.public_id, r.client_id, r.service_code, s.name AS service_name,
        r.description, r.status, r.status_notes, ST_Y(r.geom) AS lat, ST_X(r.geom) AS long,
        r.h3_cell, r.accuracy_m, r.address_string, r.address_id, r.attributes,
        r.requested_at, r.updated_at, r.observed_at, r.source, r.device_hash, r.app_key_id,
        r.duplicate_of, r.token_hash, r.media_url, r.confirmations,
        {public_columns_sql("r", "s")},
        (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'kind', e.kind, 'status', e.status, 'notes', e.notes,
                'actor_key_id', e.actor_key_id, 'created_at', e.created_at) ORDER BY e.id),
            '[]'::jsonb)
         FROM report_events e WHERE e.report_id = r.id) AS history,
        (SELECT coalesce(jsonb_agg(p.id::text ORDER BY p.created_at, p.id), '[]'::jsonb)
         FROM photos p WHERE p.report_id = r.id) AS photos,
        -- The contact is read only when the caller may see it, so it never sits
        -- in memory for a public response.
        CASE WHEN :with_contact THEN (
            SELECT jsonb_strip_nulls(jsonb_build_object('first_name', c.first_name,
                'last_name', c.last_name, 'email', c.email, 'phone', c.phone))
            FROM reporter_contacts c WHERE c.report_id = r.id) END AS contact
    FROM reports r JOIN services s ON s.code = r.service_code
    WHERE r.id = :id
    """
)


def parse_id(raw: str) -> int:
    """A report id from a URL segment; anything else is :class:`NotFound`.

    >>> parse_id("42")
    42
    """
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > _MAX_BIGINT:
        raise NotFound(f"report {raw}")
    return int(raw)


def get_report(conn: Connection, report_id: int, *, with_contact: bool) -> Row[Any]:
    """One report with its service's privacy columns, history and photo ids.

    ``contact`` is filled only when ``with_contact`` (planners and admins).
    """
    row = conn.execute(_ONE, {"id": report_id, "with_contact": with_contact}).first()
    if row is None:
        raise NotFound(f"report {report_id}")
    return row


def list_reports(
    conn: Connection,
    *,
    needs_location: bool | None = None,
    service_code: str | None = None,
    status: str | None = None,
    boundary_id: int | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[RowMapping]:
    """Reports for staff, oldest first; ``needs_location`` picks those without a point.

    ``boundary_id`` keeps reports inside that boundary; ``since`` (inclusive) and
    ``until`` (inclusive, whole days) bound when they were received.

    Filters are added as fixed SQL fragments (never caller text) so that
    ``geom IS NULL`` matches the partial index ``ix_reports_needs_location``.
    """
    where: list[str] = ["true"]
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if needs_location is not None:
        where.append("r.geom IS NULL" if needs_location else "r.geom IS NOT NULL")
    if service_code is not None:
        where.append("r.service_code = :service_code")
        params["service_code"] = service_code
    if status is not None:
        where.append("r.status = :status")
        params["status"] = status
    if boundary_id is not None:
        where.append("ST_Intersects(r.geom, (SELECT b.geom FROM boundaries b "
                     "WHERE b.id = :boundary_id))")
        params["boundary_id"] = boundary_id
    if since is not None:
        where.append("r.requested_at >= :since")
        params["since"] = since
    if until is not None:
        where.append("r.requested_at < CAST(:until AS date) + 1")
        params["until"] = until
    sql = (
        "SELECT r.id, r.public_id, r.service_code, r.status, r.description, "
        "r.address_string, ST_Y(r.geom) AS lat, ST_X(r.geom) AS long, r.requested_at, "
        f"r.updated_at FROM reports r WHERE {' AND '.join(where)} "
        "ORDER BY r.id LIMIT :limit OFFSET :offset"
    )
    return list(conn.execute(text(sql), params).mappings())


@dataclass(frozen=True)
class ReportChange:
    """What staff may change: status, notes, duplicate link, and the point."""

    status: str | None = None
    status_notes: str | None = None
    set_notes: bool = False
    duplicate_of: int | None = None
    lat: float | None = None
    long: float | None = None


def _events(change: ReportChange, status: str, current: str, moved: bool) -> list[str]:
    """The history kinds one change appends."""
    kinds = []
    if change.duplicate_of is not None:
        kinds.append("marked_duplicate")
    elif change.status is not None or change.set_notes:
        kinds.append("status_changed" if status != current else "notes_changed")
    if moved:
        kinds.append("located")
    return kinds


#: The audit action of each history kind (geo.access.audit).
_AUDITED = {"marked_duplicate": "report.merged", "status_changed": "report.status_changed",
            "notes_changed": "report.notes_changed", "located": "report.moved"}


def update_report(
    conn: Connection, report_id: int, change: ReportChange, *, actor_key_id: int | None,
    actor_user_id: int | None = None,
) -> None:
    """Apply ``change``, append its events and bump ``updated_at``, in ``conn``'s transaction.

    Marking a duplicate needs another existing report that is not itself a
    duplicate (so links never form a cycle); any other status clears the link.
    Raises :class:`NotFound` for an unknown report, :class:`FieldError` for a bad change.
    """
    ids = [report_id] + ([change.duplicate_of] if change.duplicate_of is not None else [])
    # Lock both rows in id order: two planners linking A→B and B→A cannot deadlock,
    # and the second sees the first's 'duplicate' status and is refused.
    rows = {
        r.id: r
        for r in conn.execute(
            text(
                "SELECT id, status, service_code FROM reports WHERE id = ANY(:ids) "
                "ORDER BY id FOR UPDATE"
            ),
            {"ids": ids},
        )
    }
    if report_id not in rows:
        raise NotFound(f"report {report_id}")
    current = rows[report_id]
    status = change.status or current.status
    if change.status is not None and change.status not in REPORT_STATUSES:
        raise FieldError("status", f"must be one of {', '.join(REPORT_STATUSES)}")
    if change.duplicate_of is not None:
        target = rows.get(change.duplicate_of)
        if change.duplicate_of == report_id:
            raise FieldError("duplicate_of", "a report cannot duplicate itself")
        if target is None:
            raise FieldError("duplicate_of", f"no report {change.duplicate_of}")
        if target.status == "duplicate":
            raise FieldError("duplicate_of", f"report {target.id} is itself a duplicate")
        if change.status not in (None, "duplicate"):
            raise FieldError("status", "must be 'duplicate' (or absent) with duplicate_of")
        status = "duplicate"
    elif change.status == "duplicate" and current.status != "duplicate":
        raise FieldError("duplicate_of", "required to mark a report as a duplicate")
    moved = change.lat is not None and change.long is not None
    conn.execute(
        text(
            "UPDATE reports SET status = CAST(:status AS varchar), updated_at = now(), "
            "status_notes = CASE WHEN CAST(:set_notes AS boolean) THEN CAST(:notes AS text) "
            "    ELSE status_notes END, "
            "duplicate_of = CASE WHEN CAST(:status AS varchar) = 'duplicate' "
            "    THEN coalesce(CAST(:dup AS bigint), duplicate_of) END, "
            "geom = CASE WHEN CAST(:moved AS boolean) "
            "    THEN ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326) "
            "    ELSE geom END, "
            "h3_cell = CASE WHEN CAST(:moved AS boolean) THEN CAST(:cell AS bigint) "
            "    ELSE h3_cell END "
            "WHERE id = :id"
        ),
        {
            "id": report_id,
            "status": status,
            "set_notes": change.set_notes,
            "notes": change.status_notes,
            "dup": change.duplicate_of,
            "moved": moved,
            "lat": change.lat,
            "lon": change.long,
            "cell": cell_of(change.lat, change.long) if moved else None,  # type: ignore[arg-type]
        },
    )
    kinds = _events(change, status, current.status, moved)
    if kinds:
        conn.execute(
            text(
                "INSERT INTO report_events (report_id, kind, status, notes, actor_key_id) "
                "SELECT :id, k, :status, :notes, :actor FROM unnest(CAST(:kinds AS text[])) AS k"
            ),
            {
                "id": report_id,
                "status": status,
                "notes": change.status_notes,
                "actor": actor_key_id,
                "kinds": kinds,
            },
        )
    for kind in kinds:
        # No notes and no point in the trail: it is read and exported more widely.
        audit.record(conn, _AUDITED[kind], target_type="report", target_id=report_id,
                     actor_key_id=actor_key_id, actor_user_id=actor_user_id,
                     details={"status_from": current.status, "status_to": status,
                              "duplicate_of": change.duplicate_of})
    if status != current.status or moved:
        # Duplicates leave the analysis and a moved point changes cells: refresh.
        outbox.signal_reports_changed(conn, [current.service_code])


def bbox_degrees(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """A lon/lat box surely containing the ``radius_m`` circle around a point.

    Used only to let the GiST index on ``geom`` prune before the exact
    geodesic test; it errs on the large side (shortest metres per degree, plus
    1 %), and spans all longitudes near a pole or across the antimeridian.

    >>> x0, y0, x1, y1 = bbox_degrees(0.0, 0.0, 111_000)
    >>> 1.0 < x1 < 1.02 and 1.0 < y1 < 1.02
    True
    """
    dy = radius_m / 110_574 * 1.01  # a degree of latitude is 110.574–111.694 km
    top = min(abs(lat) + dy, 90.0)
    if top >= 89.9:
        return -180.0, max(lat - dy, -90.0), 180.0, min(lat + dy, 90.0)
    dx = radius_m / (111_320 * math.cos(math.radians(top))) * 1.01
    x0, x1 = lng - dx, lng + dx
    if x0 < -180 or x1 > 180:
        x0, x1 = -180.0, 180.0
    return x0, max(lat - dy, -90.0), x1, min(lat + dy, 90.0)


_NEARBY = text(
    """
    WITH here AS (SELECT CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography) AS pt)
    SELECT r.id, r.public_id, r.status, r.requested_at, r.confirmations,
        ST_Y(r.geom) AS lat, ST_X(r.geom) AS long,
        ST_Distance(CAST(r.geom AS geography), here.pt) AS distance_m
    FROM reports r, here
    WHERE r.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)
      AND r.service_code = :service_code
      AND r.status IN ('open', 'acknowledged', 'in_progress')
      AND ST_DWithin(CAST(r.geom AS geography), here.pt, :radius)
    ORDER BY distance_m, r.id
    LIMIT :limit
    """
)


def nearby(
    conn: Connection,
    lat: float,
    lng: float,
    service_code: str,
    radius_m: float,
    limit: int = NEARBY_LIMIT,
) -> list[RowMapping]:
    """Open reports of ``service_code`` within ``radius_m`` metres, nearest first.

    Distances are geodesic (WGS84 geography); the bounding box only lets the
    ``ix_reports_geom`` GiST index narrow the candidates first.
    """
    x0, y0, x1, y1 = bbox_degrees(lat, lng, radius_m)
    params = {
        "lat": lat, "lon": lng, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
        "service_code": service_code, "radius": radius_m, "limit": limit,
    }
    return list(conn.execute(_NEARBY, params).mappings())


def nearby_in_cell(
    conn: Connection, lat: float, lng: float, service_code: str, limit: int = NEARBY_LIMIT
) -> tuple[str, list[RowMapping]]:
    """Open reports of ``service_code`` in the resolution-8 cell of a point, newest first.

    What the public may learn near a point for an aggregated service: the cell's
    open reports only when the cell has :data:`geo.privacy.MIN_REPORTERS` reporters
    (as every public listing shows them), never a distance or an order by distance,
    so moving the point around a house tells nothing the cell does not. Returns the
    cell (H3 string) and the rows.
    """
    cell = cell_of(lat, lng, GENERALISED_RESOLUTION)
    lo, hi = descendants_range_sql("CAST(:cell AS bigint)", GENERALISED_RESOLUTION)
    rows = conn.execute(
        text(
            "SELECT r.id, r.public_id, r.status, r.requested_at, r.confirmations "
            "FROM reports r WHERE r.service_code = :service_code "
            f"AND r.h3_cell BETWEEN {lo} AND {hi} "
            "AND r.status IN ('open', 'acknowledged', 'in_progress') "
            f"AND (SELECT count(DISTINCT {reporter_identity_sql('p')}) FROM reports p "
            f"     WHERE p.service_code = :service_code AND p.h3_cell BETWEEN {lo} AND {hi} "
            f"     AND p.status <> 'duplicate') >= {MIN_REPORTERS} "
            "ORDER BY r.requested_at DESC, r.id DESC LIMIT :limit"
        ),
        {"cell": cell, "service_code": service_code, "limit": limit},
    ).mappings()
    return h3.int_to_str(cell), list(rows)


@dataclass(frozen=True)
class Confirmed:
    """A confirmation and the report's count; ``created`` is False for a repeat."""

    id: int
    report_id: int
    created_at: dt.datetime
    confirmations: int
    created: bool


def confirm(
    conn: Connection, report_id: int, *, device: bytes | None, reporter: bytes, staff: bool
) -> Confirmed:
    """Record a resident's "me too"; the same reporter again is the first one again.

    ``reporter`` is :func:`geo.privacy.reporter_hash` of the caller. Every caller
    gets the same kind of answer whoever filed the report: the filer's own device
    is accepted like any other (its reporter is the report's, so it adds no
    distinct reporter), so a confirmation cannot tell which device filed what. A
    report the caller may not see (``staff`` False and not
    :func:`geo.privacy.shown_publicly`) is :class:`NotFound`, as a missing one is.
    """
    found = conn.execute(
        text(
            f"SELECT r.h3_cell, {public_columns_sql('r', 's')} FROM reports r "
            "JOIN services s ON s.code = r.service_code WHERE r.id = :id FOR UPDATE OF r"
        ),
        {"id": report_id},
    ).first()
    if found is None or not (staff or shown_publicly(found)):
        raise NotFound(f"report {report_id}")
    # The report's row lock serialises confirmations of it: the check-then-insert is safe.
    row = conn.execute(
        text(
            "WITH ins AS ("
            "  INSERT INTO report_confirmations (report_id, device_hash, reporter_hash) "
            "  SELECT :id, :dev, :who WHERE NOT EXISTS (SELECT 1 FROM report_confirmations "
            "      WHERE report_id = :id AND reporter_hash = :who) "
            "  RETURNING id, created_at"
            "), upd AS ("
            "  UPDATE reports SET confirmations = confirmations + 1 "
            "  WHERE id = :id AND EXISTS (SELECT 1 FROM ins) RETURNING confirmations"
            ") SELECT ins.id, ins.created_at, upd.confirmations FROM ins, upd"
        ),
        {"id": report_id, "dev": device, "who": reporter},
    ).first()
    if row is not None:
        return Confirmed(row.id, report_id, row.created_at, row.confirmations, True)
    seen = conn.execute(
        text(
            "SELECT c.id, c.created_at, r.confirmations FROM report_confirmations c "
            "JOIN reports r ON r.id = c.report_id "
            "WHERE c.report_id = :id AND c.reporter_hash = :who ORDER BY c.id LIMIT 1"
        ),
        {"id": report_id, "who": reporter},
    ).one()
    return Confirmed(seen.id, report_id, seen.created_at, seen.confirmations, False)


def unusable_photos(
    conn: Connection,
    items: Sequence[tuple[int, uuid.UUID, uuid.UUID | None]],
    app_key_id: int | None,
) -> dict[int, str]:
    """Photos a batch cannot link, as ``{item index: photo id}`` (first bad one per item).

    ``items`` holds ``(index, photo id, client_id)``. A photo is usable when this
    app key uploaded it and it is unlinked, or already linked to this key's report
    with the same ``client_id`` (a retried batch). Checked up front so that one
    item's bad photo does not roll back the whole batch.
    """
    if not items:
        return {}
    rows = conn.execute(
        text(
            "SELECT w.idx, w.pid::text AS pid FROM unnest(CAST(:idx AS int[]), "
            "CAST(:pids AS uuid[]), CAST(:cids AS uuid[])) AS w(idx, pid, cid) "
            "LEFT JOIN photos p ON p.id = w.pid AND p.app_key_id IS NOT DISTINCT FROM :key "
            "LEFT JOIN reports r ON r.id = p.report_id "
            "WHERE p.id IS NULL OR (p.report_id IS NOT NULL AND "
            "(r.client_id IS DISTINCT FROM w.cid OR r.app_key_id IS DISTINCT FROM :key)) "
            "ORDER BY w.idx"
        ),
        {
            "idx": [i for i, _, _ in items],
            "pids": [str(p) for _, p, _ in items],
            "cids": [str(c) if c else None for _, _, c in items],
            "key": app_key_id,
        },
    )
    out: dict[int, str] = {}
    for r in rows:
        out.setdefault(r.idx, r.pid)
    return out

