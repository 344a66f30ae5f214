"""What the public may see of a report.

Exact points, device ids and contacts are for planners and admins. Everyone else
sees a report of a ``public`` service (a pothole) at its point, and a report of an
``aggregated`` service (a home's lead paint) only as the centre of its
resolution-8 H3 cell (≈0.7 km²) — and not at all when fewer than
:data:`MIN_REPORTERS` distinct reporters filed that service in that cell, because
then the cell could point at one household.
"""

from __future__ import annotations

from typing import Any

import h3

from geo.h3cells import descendants_range_sql, parent, parent_sql

MIN_REPORTERS = 3
GENERALISED_RESOLUTION = 8


def reporter_count_sql(alias: str = "r") -> str:
    """SQL for the distinct reporters of ``alias``'s service in its resolution-8 cell.

    A reporter is the hashed device id, or the report itself when there is none.
    Uses the ``h3_cell`` B-tree index through a contiguous descendant range.
    """
    lo, hi = descendants_range_sql(f"{alias}.h3_cell", GENERALISED_RESOLUTION)
    return (
        "(SELECT count(DISTINCT coalesce(encode(p.device_hash, 'hex'), p.id::text)) "
        f"FROM reports p WHERE p.service_code = {alias}.service_code "
        f"AND p.h3_cell BETWEEN {lo} AND {hi} AND p.status <> 'duplicate')"
    )


def public_columns_sql(alias: str = "r", service_alias: str = "s") -> str:
    """Select-list fragment giving ``privacy`` and ``cell_reporters`` for :func:`public_point`.

    ``cell_reporters`` is only computed for aggregated services (a CASE keeps
    public services free of the sub-query).
    """
    return (
        f"{service_alias}.privacy AS privacy, "
        f"CASE WHEN {service_alias}.privacy = 'public' OR {alias}.h3_cell IS NULL THEN NULL "
        f"ELSE {reporter_count_sql(alias)} END AS cell_reporters"
    )


def generalised_cell_sql(alias: str = "r") -> str:
    """SQL for the resolution-8 parent of a report's stored cell."""
    return parent_sql(f"{alias}.h3_cell", GENERALISED_RESOLUTION)


def public_point(row: Any, *, may_see_exact: bool) -> tuple[float | None, float | None, bool]:
    """``(lat, long, exact)`` a caller may see for a report row.

    ``row`` needs ``lat``, ``long``, ``h3_cell``, ``privacy`` and ``cell_reporters``.

    >>> from types import SimpleNamespace as R
    >>> public_point(R(lat=1.0, long=2.0, h3_cell=None, privacy="public",
    ...                cell_reporters=None), may_see_exact=False)
    (1.0, 2.0, True)
    """
    if row.lat is None or row.long is None:
        return None, None, False
    if may_see_exact or row.privacy == "public":
        return row.lat, row.long, True
    if (row.cell_reporters or 0) < MIN_REPORTERS:
        return None, None, False
    cell = parent(int(row.h3_cell), GENERALISED_RESOLUTION)
    lat, lng = h3.cell_to_latlng(h3.int_to_str(cell))
    return round(lat, 6), round(lng, 6), False
