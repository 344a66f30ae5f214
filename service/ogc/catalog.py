"""The OGC collections: which exist, what their features hold, and their metadata documents.

Collection ids are path segments and cannot hold ``/``, so the contract's
``hotspot-runs/{id}`` is the collection ``hotspot-run-{id}`` (the views also
answer the ``hotspot-runs/{id}`` spelling as an alias).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from geo.access.keys import Principal
from geo.hotspots.runs import latest_run_id
from geo.layers import extents as feature_extents
from geo.layers import features, intervention_features, report_features
from geo.layers.extents import Extent
from geo.layers.features import FeatureQuery, Filter, Source
from service.errors import Problem
from service.ogc.links import GEOJSON, HTML, JSON, link

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
#: Older succeeded runs stay readable by id; only the newest are listed.
LISTED_RUNS = 10
_RUN_ID = re.compile(r"^hotspot-run-([1-9][0-9]{0,17})$")

_N = ["number", "null"]
_I = ["integer", "null"]
_S = ["string", "null"]
#: JSON Schema types of each family's feature properties (the API description).
PROPERTIES: dict[str, dict[str, Any]] = {
    "cells": {
        "h3": "string", "run_id": "integer", "reports": _I, "weight": _N, "gi_z": "number",
        "gi_p": "number", "gi_bin": "integer", "n_neighbors": "integer", "no_data": "boolean",
        "trend": _S, "area_id": _I, "priority_score": _N, "priority_rank": _I,
    },
    "areas": {
        "area_id": "integer", "run_id": "integer", "cells": "integer", "reports": "integer",
        "weight": "number", "population": _N, "trend": _S, "priority_score": "number",
        "priority_rank": "integer", "components": "object",
    },
    "reports": {
        "id": "string", "service_code": "string", "service_name": "string", "status": "string",
        "requested_at": "string", "updated_at": "string", "description": _S,
        "address_string": _S, "exact": "boolean",
    },
    "boundaries": {
        "id": "integer", "kind": "string", "name": "string", "code": _S, "population": _I,
    },
    "interventions": intervention_features.PROPERTY_TYPES,
}
FILTERS: dict[str, dict[str, Filter]] = {
    "cells": features.CELL_FILTERS,
    "areas": features.AREA_FILTERS,
    "reports": report_features.REPORT_FILTERS,
    "boundaries": features.BOUNDARY_FILTERS,
    "interventions": intervention_features.FILTERS,
}
GEOMETRY = {
    "cells": "Polygon", "areas": "MultiPolygon", "reports": "Point", "boundaries": "MultiPolygon",
    "interventions": "MultiPolygon",
}


@dataclass(frozen=True)
class Collection:
    """One collection: its id, family of features and, for hotspot families, its run."""

    id: str
    family: str
    title: str
    description: str
    run_id: int | None = None


STATIC = {
    "hotspots": ("cells", "Hotspot cells (latest city-wide run)",
                 "Every analysed H3 cell of the latest succeeded run of the standing "
                 "city-wide configuration (all services): Gi* z-score, p-value, "
                 "FDR-corrected bin, trend and priority. Other runs are hotspot-run-{id}."),
    "hotspot-areas": ("areas", "Priority areas (latest city-wide run)",
                      "Contiguous hot cells of the latest succeeded city-wide run merged into "
                      "candidate intervention areas, ranked by priority."),
    "reports": ("reports", "Resident reports",
                "Located reports. Exact points for planners; for everyone else exact points "
                "only for public categories, otherwise the centre of the report's "
                "resolution-8 H3 cell where at least 3 people reported."),
    "boundaries": ("boundaries", "Boundaries", "City, district and tract polygons."),
    "interventions": ("interventions", "Interventions",
                      "What the city did where and when. Staff also see cost, funding and "
                      "whether it worked (effect ratio and its 95 % interval)."),
}


def _run_collection(run_id: int) -> Collection:
    return Collection(
        f"hotspot-run-{run_id}", "cells", f"Hotspot cells of run {run_id}",
        f"Every analysed H3 cell of hotspot run {run_id}.", run_id,
    )


def resolve(conn: Connection, collection_id: str) -> Collection:
    """The collection named ``collection_id``; a 404 for anything else (or a run not succeeded)."""
    if collection_id in STATIC:
        family, title, description = STATIC[collection_id]
        run = latest_run_id(conn) if family in ("cells", "areas") else None
        # Before the first run the hotspot collections exist but are empty (run 0 has no rows).
        return Collection(collection_id, family, title, description, run if run else 0)
    match = _RUN_ID.match(collection_id)
    if match and feature_extents.is_succeeded(conn, int(match.group(1))):
        return _run_collection(int(match.group(1)))
    raise Problem(404, f"collectionId: no collection {collection_id!r}", field="collectionId",
                  kind="not-found")


def listed(conn: Connection) -> list[Collection]:
    """Every collection /collections lists, in a stable order."""
    out = [resolve(conn, cid) for cid in STATIC]
    out += [_run_collection(r) for r in feature_extents.succeeded_runs(conn, LISTED_RUNS)]
    return out


def source(conn: Connection, coll: Collection, q: FeatureQuery | None, who: Principal) -> Source:
    """The SQL source of ``coll`` as ``who`` may see it."""
    if coll.family == "cells":
        return features.hotspot_cells_source(coll.run_id or 0, public=not who.is_staff)
    if coll.family == "areas":
        return features.hotspot_areas_source(coll.run_id or 0, public=not who.is_staff)
    if coll.family == "reports":
        return report_features.reports_source(conn, q, may_see_exact=who.is_staff)
    if coll.family == "interventions":
        return intervention_features.interventions_source(
            staff=who.has("planner", "grant_writer"))
    return features.boundaries_source()


def feature_key(coll: Collection, feature_id: str) -> Any:
    """The database key for a ``featureId``, or None when it cannot name a feature."""
    if coll.family == "cells":
        return features.h3_key(feature_id)
    if coll.family in ("areas", "boundaries", "interventions"):
        return int(feature_id) if re.fullmatch(r"[0-9]{1,9}", feature_id) else None
    # No stored id holds a NUL, and PostgreSQL could not even compare one.
    return feature_id if 0 < len(feature_id) <= 32 and "\x00" not in feature_id else None


def extents(conn: Connection, colls: list[Collection]) -> dict[str, Extent]:
    """Each collection's extent, with one statement per kind."""
    runs = {c.run_id for c in colls if c.run_id}
    by_run = feature_extents.run_extents(conn, sorted(runs)) if runs else {}
    out: dict[str, Extent] = {}
    for c in colls:
        if c.family in ("cells", "areas"):
            out[c.id] = by_run.get(c.run_id or 0, Extent())
        elif c.family == "reports":
            out[c.id] = feature_extents.reports_extent(conn)
        elif c.family == "interventions":
            out[c.id] = intervention_features.interventions_extent(conn)
        else:
            out[c.id] = feature_extents.boundaries_extent(conn)
    return out


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def document(coll: Collection, extent: Extent) -> dict[str, Any]:
    """The collection's metadata, identical in /collections and /collections/{id}."""
    base = f"/collections/{coll.id}"
    doc: dict[str, Any] = {
        "id": coll.id,
        "title": coll.title,
        "description": coll.description,
        "itemType": "feature",
        "crs": [CRS84],
    }
    ext: dict[str, Any] = {}
    if extent.bbox is not None:
        ext["spatial"] = {"bbox": [list(extent.bbox)], "crs": CRS84}
    if extent.start is not None or extent.end is not None:
        ext["temporal"] = {"interval": [[_iso(extent.start), _iso(extent.end)]], "trs": GREGORIAN}
    if ext:
        doc["extent"] = ext
    doc["links"] = [
        link(base, "self", JSON, coll.title),
        link(base, "alternate", HTML, coll.title + " as HTML", f="html"),
        link(base + "/items", "items", GEOJSON, "Features as GeoJSON"),
        link(base + "/items", "items", HTML, "Features as HTML", f="html"),
    ]
    return doc
