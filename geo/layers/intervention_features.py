"""Interventions as a feature family: footprints with what was done, and whether it worked.

A city's public works are public record, so everyone sees an intervention's name,
programme, services and dates. Money and the evaluation (``cost``,
``funding_source``, ``notes``, ``effect_ratio`` and its interval) are for staff,
as in the API. The temporal property is the intervention's start.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from geo.layers.extents import Extent
from geo.layers.features import Filter, Source, feature_json_sql, filter_parser

PUBLIC_PROPERTIES = {
    "id": "i.id", "name": "i.name", "programme": "i.programme", "services": "i.services",
    "start_date": "i.start_date", "end_date": "i.end_date",
}
STAFF_PROPERTIES = {
    **PUBLIC_PROPERTIES, "cost": "i.cost", "funding_source": "i.funding_source",
    "notes": "i.notes", "evaluation_status": "i.evaluation_status",
    "effect_ratio": "(i.result->>'effect_ratio')::float8",
    "ci_low": "(i.result->>'ci_low')::float8", "ci_high": "(i.result->>'ci_high')::float8",
    "significant": "(i.result->>'significant')::boolean",
}
#: JSON Schema types of the properties, for the OGC API description.
PROPERTY_TYPES: dict[str, Any] = {
    "id": "integer", "name": "string", "programme": ["string", "null"], "services": "array",
    "start_date": "string", "end_date": "string", "cost": ["number", "null"],
    "funding_source": ["string", "null"], "notes": ["string", "null"],
    "evaluation_status": ["string", "null"], "effect_ratio": ["number", "null"],
    "ci_low": ["number", "null"], "ci_high": ["number", "null"],
    "significant": ["boolean", "null"],
}
FILTERS = {"programme": Filter("i.programme", filter_parser("programme"))}


def interventions_source(*, staff: bool) -> Source:
    """The interventions as ``staff`` (or the public) may see them."""
    props = STAFF_PROPERTIES if staff else PUBLIC_PROPERTIES
    return Source(
        from_sql="(SELECT i.*, e.status AS evaluation_status, e.result FROM interventions i "
                 "LEFT JOIN intervention_evaluations e ON e.intervention_id = i.id) i",
        alias="i",
        feature_sql=feature_json_sql("i.id", "ST_AsGeoJSON(i.geom, 7)", props),
        order_sql="i.id", key_sql="i.id", geom_sql="i.geom",
        time_sql="CAST(i.start_date AS timestamptz)", filters=FILTERS,
    )


def interventions_extent(conn: Connection) -> Extent:
    """The box around every footprint, and the first start to the last end."""
    row = conn.execute(
        text(
            "SELECT ST_XMin(b) AS x0, ST_YMin(b) AS y0, ST_XMax(b) AS x1, ST_YMax(b) AS y1, "
            "t0, t1 FROM (SELECT ST_Extent(geom) AS b, CAST(min(start_date) AS timestamptz) "
            "AS t0, CAST(max(end_date) AS timestamptz) AS t1 FROM interventions) e"
        )
    ).one()
    box = None if row.x0 is None else (row.x0, row.y0, row.x1, row.y1)
    return Extent(bbox=box, start=row.t0, end=row.t1)
