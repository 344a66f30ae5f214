"""Reports as OGC features, as the caller may see them (the privacy rule in SQL).

Staff read every located report at its point. Everyone else reads ``public``
services at their point and ``aggregated`` ones at the centre of their
resolution-8 H3 cell, only in cells with at least :data:`geo.privacy.MIN_REPORTERS`
distinct reporters of that service, and without description or address.
"""

from __future__ import annotations

from typing import Any

import h3
from sqlalchemy import Connection, text

from geo.h3cells import parent_sql
from geo.layers.features import (
    FeatureQuery,
    Filter,
    Source,
    bbox_boxes,
    expand_bbox,
    feature_json_sql,
    filter_parser,
)
from geo.privacy import GENERALISED_RESOLUTION, MIN_REPORTERS, reporter_identity_sql
from geo.schema import REPORT_STATUSES

#: A report lies within this distance of its resolution-8 cell centre (circumradius
#: ≤ 0.53 km, plus the slack of H3 children poking out of their parent).
CELL_MARGIN_M = 1_500.0
REPORT_PROPERTIES = {
    name: f"r.{name}" for name in (
        "public_id", "service_code", "status", "requested_at", "updated_at", "description",
        "address_string", "exact",
    )
}
REPORT_PROPERTIES["id"] = REPORT_PROPERTIES.pop("public_id")
# Looked up per returned row only: a join in the rows would cost every counted row.
REPORT_PROPERTIES["service_name"] = "(SELECT s.name FROM services s WHERE s.code = r.service_code)"
REPORT_FILTERS = {
    "service_code": Filter("r.service_code", filter_parser("service_code")),
    "status": Filter("r.status", filter_parser("status", REPORT_STATUSES)),
}
_PARENT8 = parent_sql("r.h3_cell", GENERALISED_RESOLUTION)


def visible_cells_sql(extra: str = "true") -> str:
    """SQL listing ``(service_code, cell)`` of the resolution-8 cells whose aggregated reports
    the public may see: at least :data:`MIN_REPORTERS` distinct reporters of that service.

    ``extra`` narrows the reports read (a service or a box with a margin); narrowing can
    only under-count reporters, which hides more, never less.
    """
    # Distinct (service, cell, reporter) first, then count: two hash aggregates,
    # several times faster than count(DISTINCT …), which sorts.
    return (
        "SELECT d.service_code, d.cell FROM (SELECT DISTINCT r.service_code, "
        f"{_PARENT8} AS cell, {reporter_identity_sql('r')} AS reporter FROM reports r "
        "JOIN services s ON s.code = r.service_code "
        "WHERE s.privacy <> 'public' AND r.h3_cell IS NOT NULL AND r.status <> 'duplicate' "
        f"AND {extra}) d GROUP BY 1, 2 HAVING count(*) >= {MIN_REPORTERS}"
    )


def _visible_cells(conn: Connection, q: FeatureQuery) -> dict[str, list[Any]]:
    """Visible aggregated cells for ``q`` with their centres (rounded as geo.privacy rounds)."""
    extra: list[str] = ["true"]
    params: dict[str, Any] = {}
    if "service_code" in q.filters:
        extra.append("r.service_code = ANY(:codes)")
        params["codes"] = list(q.filters["service_code"])
    if q.bbox is not None:
        ors = []
        for i, box in enumerate(bbox_boxes(q.bbox)):
            x0, y0, x1, y1 = expand_bbox(box, CELL_MARGIN_M)
            ors.append(f"r.geom && ST_MakeEnvelope(:x0_{i}, :y0_{i}, :x1_{i}, :y1_{i}, 4326)")
            params.update({f"x0_{i}": x0, f"y0_{i}": y0, f"x1_{i}": x1, f"y1_{i}": y1})
        extra.append("(" + " OR ".join(ors) + ")")
    rows = conn.execute(text(visible_cells_sql(" AND ".join(extra))), params).all()
    out: dict[str, list[Any]] = {"v_codes": [], "v_cells": [], "v_lngs": [], "v_lats": []}
    for code, cell in rows:
        lat, lng = h3.cell_to_latlng(h3.int_to_str(int(cell)))
        out["v_codes"].append(code)
        out["v_cells"].append(int(cell))
        out["v_lngs"].append(round(lng, 6))
        out["v_lats"].append(round(lat, 6))
    return out


_REPORT_COLUMNS = (
    "r.id, r.public_id, r.service_code, r.status, r.requested_at, r.updated_at, r.geom, "
)
_SHOWN_EXACT = (
    f"SELECT {_REPORT_COLUMNS} r.description, r.address_string, true AS exact, r.geom AS shown"
)


def reports_source(conn: Connection, q: FeatureQuery | None, *, may_see_exact: bool) -> Source:
    """Located reports as the caller may see them (id: the public ``service_request_id``).

    Staff see every report at its point. Everyone else sees ``public`` services at
    their point and ``aggregated`` ones at the centre of their resolution-8 cell,
    only where :func:`visible_cells_sql` allows, without description or address
    (either could name a home); ``bbox`` then applies to that shown point. The
    centres come from h3 in Python (PostGIS has no H3) and join back as an array.
    The two kinds are a UNION ALL over explicit service lists, so the many
    public-service rows never meet that list, the primary key still orders the page,
    and the planner's estimates come from ``reports`` alone.
    """
    if may_see_exact:
        branches: tuple[str, ...] = (f"{_SHOWN_EXACT} FROM reports r WHERE r.geom IS NOT NULL",)
        ctes: tuple[str, ...] = ()
        params: dict[str, Any] = {}
    else:
        branches = (
            f"{_SHOWN_EXACT} FROM reports r WHERE r.geom IS NOT NULL "
            "AND r.service_code = ANY(CAST(:public_codes AS text[]))",
            f"SELECT {_REPORT_COLUMNS} NULL::text AS description, NULL::text AS address_string, "
            "false AS exact, ST_SetSRID(ST_MakePoint(v.lng, v.lat), 4326) AS shown FROM reports r "
            f"JOIN vis v ON v.service_code = r.service_code AND v.cell = {_PARENT8} "
            "WHERE r.geom IS NOT NULL AND r.service_code = ANY(CAST(:hidden_codes AS text[]))",
        )
        ctes = (
            "vis AS (SELECT * FROM unnest(CAST(:v_codes AS text[]), "
            "CAST(:v_cells AS bigint[]), CAST(:v_lngs AS float8[]), CAST(:v_lats AS float8[])) "
            "AS u(service_code, cell, lng, lat))",
        )
        params = _visible_cells(conn, q or FeatureQuery())
        privacy: dict[str, str] = {
            code: level for code, level in conn.execute(text("SELECT code, privacy FROM services"))
        }
        params["public_codes"] = [c for c, p in privacy.items() if p == "public"]
        params["hidden_codes"] = [c for c, p in privacy.items() if p != "public"]
    return Source(
        from_sql="(" + " UNION ALL ".join(branches) + ") r", alias="r",
        branches=branches if len(branches) > 1 else (),
        feature_sql=feature_json_sql(
            "r.public_id", "ST_AsGeoJSON(r.shown, 7)", REPORT_PROPERTIES
        ),
        order_sql="r.id", key_sql="r.public_id", geom_sql="r.shown",
        index_geom_sql=None if may_see_exact else "r.geom", margin_m=CELL_MARGIN_M,
        time_sql="r.requested_at", filters=REPORT_FILTERS, ctes=ctes, params=params,
    )
