"""Open311 ``GET /requests``: the privacy-aware search over reports.

One set-based query per call. Callers who may see exact points (planners,
admins) filter and read reports at their stored point. Everyone else sees what
:func:`geo.privacy.public_point` allows, and the spatial filter is applied to
that same visible point, never to the stored one:

- a ``public`` service (a pothole) is matched on its exact point;
- an ``aggregated`` service (a home's lead paint) is matched on the centre of
  its resolution-8 cell, and only when the cell has at least
  :data:`geo.privacy.MIN_REPORTERS` reporters (otherwise it has no visible
  location and matches no spatial search).

So a ``lat/long/radius`` probe can never tell an anonymous caller more than the
listing itself shows: moving a small circle around a house does not reveal
which house reported. An aggregated report whose cell has fewer reporters is not
listed at all (:func:`geo.privacy.shown_publicly`): its id, status and time would
single it out as surely as a point.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import h3
from sqlalchemy import Connection, text

from geo.h3cells import cell_of
from geo.privacy import (
    GENERALISED_RESOLUTION,
    MIN_REPORTERS,
    generalised_cell_sql,
    public_columns_sql,
    public_point,
    reporter_count_sql,
    shown_publicly_sql,
)
from geo.reports.intake import token_digest

#: Open311 knows only ``open`` and ``closed``; our workflow states map onto them.
STATUS_GROUPS: dict[str, tuple[str, ...]] = {
    "open": ("open", "acknowledged", "in_progress"),
    "closed": ("closed", "duplicate"),
}
MAX_RADIUS_M = 10_000.0

#: A report's exact point lies within one cell circumradius (≈0.4–0.7 km at
#: resolution 8) of its generalised point; this margin makes the index pre-filter
#: on exact points a superset of the cell-centre condition.
_CELL_MARGIN_M = 1_500.0
#: Lower bound on the distance one ring of resolution-8 cells adds (centre spacing
#: × √3/2, with the smallest cells on the globe), so the disk covers the radius.
_RING_STEP_M = 450.0


@dataclass(frozen=True)
class Near:
    """A circle: WGS84 ``lat``/``long`` and ``radius_m`` metres on the spheroid."""

    lat: float
    long: float
    radius_m: float


@dataclass(frozen=True)
class SearchFilter:
    """What ``GET /requests`` asked for, already validated by the caller.

    Empty tuples and ``None`` mean "no filter". ``ids`` overrides every other
    filter (Open311: "This overrides all other arguments") except privacy.
    """

    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    requested_from: dt.datetime | None = None
    requested_to: dt.datetime | None = None
    updated_after: dt.datetime | None = None
    updated_before: dt.datetime | None = None
    near: Near | None = None
    may_see_exact: bool = False
    limit: int = 50
    offset: int = 0


def _candidate_cells(near: Near) -> tuple[list[int], list[float], list[float]]:
    """Resolution-8 cells that may have their centre within ``near``, with the centres.

    The exact distance test runs in SQL on geography, the same measure used for
    public services, so both kinds of report obey one definition of "within".
    """
    origin = h3.int_to_str(cell_of(near.lat, near.long, GENERALISED_RESOLUTION))
    rings = math.ceil(near.radius_m / _RING_STEP_M) + 2
    cells, lats, lngs = [], [], []
    for cell in h3.grid_disk(origin, rings):
        lat, lng = h3.cell_to_latlng(cell)
        cells.append(h3.str_to_int(cell))
        # Rounded as public_point rounds, so the filter tests the very point shown.
        lats.append(round(lat, 6))
        lngs.append(round(lng, 6))
    return cells, lats, lngs


_POINT = "CAST(ST_SetSRID(ST_MakePoint(:near_long, :near_lat), 4326) AS geography)"
# A geography buffer cast to geometry gives an index-friendly box around the circle
# in degrees, correct at any latitude; the exact test follows it.
_EXACT_NEAR = (
    f"(r.geom && CAST(ST_Buffer({_POINT}, :near_pad) AS geometry) "
    f"AND ST_DWithin(CAST(r.geom AS geography), {_POINT}, :near_radius))"
)
_CELL_NEAR = (
    f"(r.geom && CAST(ST_Buffer({_POINT}, :near_pad_cell) AS geometry) "
    f"AND {generalised_cell_sql('r')} IN (SELECT cell FROM near_cells) "
    f"AND {reporter_count_sql('r')} >= :min_reporters)"
)
_NEAR_CELLS_CTE = (
    "near_cells AS (SELECT u.cell FROM unnest(CAST(:cand AS bigint[]), "
    "CAST(:cand_lat AS float8[]), CAST(:cand_lng AS float8[])) AS u(cell, lat, lng) "
    "WHERE ST_DWithin(CAST(ST_SetSRID(ST_MakePoint(u.lng, u.lat), 4326) AS geography), "
    f"{_POINT}, :near_radius))"
)


def _where(f: SearchFilter) -> tuple[list[str], list[str], dict[str, Any]]:
    """Constant SQL fragments (CTEs, conditions) and their bind values for ``f``."""
    ctes: list[str] = []
    conds: list[str] = []
    params: dict[str, Any] = {}
    if f.ids:
        # public ids are lower-case, but imported ones keep their case: match both
        # spellings and keep the unique index usable.
        params["ids"] = sorted({*f.ids, *(i.lower() for i in f.ids)})
        return ctes, ["r.public_id = ANY(CAST(:ids AS text[]))"], params
    if f.service_codes:
        conds.append("r.service_code = ANY(CAST(:codes AS text[]))")
        params["codes"] = list(f.service_codes)
    if f.statuses:
        conds.append("r.status = ANY(CAST(:statuses AS text[]))")
        params["statuses"] = list(f.statuses)
    for name, sql, value in (
        ("requested_from", "r.requested_at >= :requested_from", f.requested_from),
        ("requested_to", "r.requested_at <= :requested_to", f.requested_to),
        ("updated_after", "r.updated_at > :updated_after", f.updated_after),
        ("updated_before", "r.updated_at < :updated_before", f.updated_before),
    ):
        if value is not None:
            conds.append(sql)
            params[name] = value
    if f.near is not None:
        params.update(
            near_lat=f.near.lat,
            near_long=f.near.long,
            near_radius=f.near.radius_m,
            # Buffers are polygons inscribed in the circle: pad so none is cut off.
            near_pad=f.near.radius_m * 1.02 + 10,
        )
        if f.may_see_exact:
            conds.append(_EXACT_NEAR)
        else:
            cand, lats, lngs = _candidate_cells(f.near)
            ctes.append(_NEAR_CELLS_CTE)
            params.update(
                cand=cand, cand_lat=lats, cand_lng=lngs,
                near_pad_cell=f.near.radius_m * 1.02 + _CELL_MARGIN_M,
                min_reporters=MIN_REPORTERS,
            )
            conds.append(
                f"((s.privacy = 'public' AND {_EXACT_NEAR}) "
                f"OR (s.privacy <> 'public' AND {_CELL_NEAR}))"
            )
    return ctes, conds, params


def _query(f: SearchFilter) -> tuple[Any, dict[str, Any]]:
    """The search statement for ``f``, assembled only from constant fragments."""
    ctes, conds, params = _where(f)
    if not f.may_see_exact and (f.near is None or f.ids):
        # An aggregated report outside a cell of MIN_REPORTERS reporters is not
        # listed at all (a near search already matches only visible cells).
        conds.append(shown_publicly_sql("r", "s"))
    privacy = (
        "s.privacy AS privacy, NULL::bigint AS cell_reporters"
        if f.may_see_exact
        else public_columns_sql("r", "s")
    )
    # Page first on the narrow (requested_at, id) ordering, then compute the
    # per-row extras (reporter counts, first photo) for that page only.
    ctes.append(
        "page AS (SELECT r.id FROM reports r JOIN services s ON s.code = r.service_code "
        f"WHERE {' AND '.join(conds) or 'true'} "
        "ORDER BY r.requested_at DESC, r.id DESC LIMIT :limit OFFSET :offset)"
    )
    sql = (
        f"WITH {', '.join(ctes)} "
        "SELECT r.public_id, r.status, r.status_notes, r.service_code, s.name AS service_name, "
        "r.description, r.requested_at, r.updated_at, r.address_string, r.address_id, "
        "ST_Y(r.geom) AS lat, ST_X(r.geom) AS long, r.h3_cell, r.media_url, "
        "d.public_id AS duplicate_of, "
        "(SELECT ph.id FROM photos ph WHERE ph.report_id = r.id "
        " ORDER BY ph.created_at, ph.id LIMIT 1) AS photo_id, "
        f"{privacy} "
        "FROM page JOIN reports r ON r.id = page.id "
        "JOIN services s ON s.code = r.service_code "
        "LEFT JOIN reports d ON d.id = r.duplicate_of "
        "ORDER BY r.requested_at DESC, r.id DESC"
    )
    params.update(limit=f.limit, offset=f.offset)
    return text(sql), params


def open311_status(status: str) -> str:
    """Our workflow status as Open311's ``open``/``closed``.

    >>> open311_status("in_progress"), open311_status("duplicate")
    ('open', 'closed')
    """
    return "closed" if status in STATUS_GROUPS["closed"] else "open"


def _visible(row: Any, may_see_exact: bool) -> dict[str, Any]:
    """One result row as the caller may see it (Open311 field names)."""
    lat, lng, _exact = public_point(row, may_see_exact=may_see_exact)
    hidden = row.privacy != "public" and not may_see_exact
    # Staff notes on a home's lead paint can name it as surely as its address.
    notes = None if hidden else row.status_notes
    if row.status == "duplicate" and not notes and not hidden:
        notes = f"Duplicate of request {row.duplicate_of}" if row.duplicate_of else "Duplicate"
    return {
        "service_request_id": row.public_id,
        "status": open311_status(row.status),
        "status_notes": notes,
        "service_name": row.service_name,
        "service_code": row.service_code,
        # Free text can name a home as surely as an address (as in geo.layers.report_features).
        "description": None if hidden else row.description,
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": row.requested_at,
        "updated_datetime": row.updated_at,
        "expected_datetime": None,
        # An address or a photo of an aggregated service could point at one home.
        "address": None if hidden else row.address_string,
        "address_id": None if hidden else row.address_id,
        "zipcode": None,
        "lat": lat,
        "long": lng,
        "media_url": None if hidden else row.media_url,
        "photo_id": None if hidden else row.photo_id,
    }


def search(conn: Connection, f: SearchFilter) -> list[dict[str, Any]]:
    """Reports matching ``f``, newest first, as the caller may see them.

    Each dict has Open311's request fields (datetimes as aware ``datetime``),
    plus ``photo_id`` (the first linked photo, for ``media_url``). Contacts and
    device ids are never selected.

    Example, on a database connection (not run as a doctest)::

        search(conn, SearchFilter(service_codes=("pothole",), limit=10))
        [{'service_request_id': 'k3j…', 'status': 'open', …}]
    """
    stmt, params = _query(f)
    return [_visible(row, f.may_see_exact) for row in conn.execute(stmt, params)]


def request_id_for_token(conn: Connection, token: str) -> str | None:
    """The ``service_request_id`` of the report whose tracking token is ``token``."""
    return conn.execute(
        text("SELECT public_id FROM reports WHERE token_hash = :digest"),
        {"digest": token_digest(token)},
    ).scalar()
