"""What readers see of a run's cells and areas: one SQL source for every surface.

The OGC items and tiles (``geo.layers``), the native API and the evidence packs
read cells and areas through :data:`CELLS_SQL` and :data:`AREAS_SQL`, so what a
caller who is not staff may see is decided here once: the run's public twin
when it covers an aggregated service (:mod:`geo.hotspots.public`). :func:`cells_geojson` and
:func:`areas_geojson` are what the native API's ``/hotspot-runs/{id}/cells`` and
``/areas`` return: every cell of the study area (empty ones too) and the ranked
intervention areas, with the contract's field names.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from geo.privacy import MIN_REPORTERS

#: The caller reads the run's public twin (:mod:`geo.hotspots.public`): not staff,
#: and the engine stored a twin with the run (it does for every run covering an
#: ``aggregated`` service). Staff, and everyone for runs of public services only,
#: read the run itself.
TWIN_SQL = (
    "(SELECT :public AND EXISTS (SELECT 1 FROM hotspot_runs tw WHERE tw.id = :run "
    "AND tw.counts @> '{\"public_twin\": true}'))"
)
#: Runs without a twin (published before the twin existed, or by hand) still hide
#: small counts from callers who are not staff when they cover an aggregated
#: service (zeros included, so a hidden count reads like an empty cell). That
#: hides counts only: such runs' other fields are as they were.
LEGACY_HIDE_SQL = (
    "(SELECT :public AND EXISTS (SELECT 1 FROM hotspot_runs h JOIN services s "
    "ON s.privacy <> 'public' WHERE h.id = :run AND (coalesce(jsonb_array_length("
    "h.params->'services'), 0) = 0 OR h.params->'services' ? s.code)))"
)
#: A run's cells as the caller may see them: the run's own or its public twin's. A
#: UNION ALL PostgreSQL filters per branch (``run_id``, ``geom &&``) and whose
#: ``TWIN_SQL`` is a one-time filter, so one branch is read, through its indexes.
CELLS_SQL = (
    f"(SELECT c.*, {LEGACY_HIDE_SQL} AS hide FROM hotspot_cells c WHERE NOT {TWIN_SQL} "
    f"UNION ALL SELECT c.*, false AS hide FROM hotspot_public_cells c WHERE {TWIN_SQL}) c"
)
#: A run's intervention areas as the caller may see them (as :data:`CELLS_SQL`).
AREAS_SQL = (
    f"(SELECT a.* FROM hotspot_areas a WHERE NOT {TWIN_SQL} "
    f"UNION ALL SELECT a.* FROM hotspot_public_areas a WHERE {TWIN_SQL}) a"
)
_HIDDEN = "CASE WHEN c.hide AND c.reporters < :min_reporters THEN NULL ELSE c.{col} END"
#: Every field of a twin's cell comes from data the public may see: none is blanked.
CELL_PROPERTIES = {
    "h3": "to_hex(c.h3)", "run_id": "c.run_id",
    "reports": _HIDDEN.format(col="reports"), "weight": _HIDDEN.format(col="weight"),
    "gi_z": "c.gi_z", "gi_p": "c.gi_p", "gi_bin": "c.gi_bin", "n_neighbors": "c.n_neighbors",
    "no_data": "c.no_data", "trend": "c.trend", "area_id": "c.area_id",
    "priority_score": "c.priority_score", "priority_rank": "c.priority_rank",
}
#: The parameters every query over :data:`CELLS_SQL` binds besides ``run`` and ``public``.
CELL_PARAMS = {"min_reporters": MIN_REPORTERS}

_CELLS = text(
    f"""
    SELECT json_build_object('type', 'FeatureCollection', 'run_id', CAST(:run AS bigint),
        'features', coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', lower(to_hex(c.h3)),
            'geometry', ST_AsGeoJSON(c.geom, 7)::json,
            'properties', json_build_object(
                'h3', lower(to_hex(c.h3)), 'reports', {CELL_PROPERTIES["reports"]},
                'weight', {CELL_PROPERTIES["weight"]},
                'gi_z', c.gi_z, 'gi_p', c.gi_p, 'gi_bin', c.gi_bin,
                'n_neighbors', c.n_neighbors, 'no_data', c.no_data, 'trend', c.trend,
                'area_id', c.area_id, 'priority_score', c.priority_score,
                'priority_rank', c.priority_rank, 'components',
                CASE WHEN c.hide AND c.reporters < :min_reporters THEN NULL
                ELSE c.components END))
            ORDER BY c.h3), '[]'::json))::text
    FROM {CELLS_SQL} WHERE c.run_id = :run
    """
)

_AREAS = text(
    f"""
    SELECT json_build_object('type', 'FeatureCollection', 'run_id', CAST(:run AS bigint),
        'features', coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', a.area_id,
            'geometry', ST_AsGeoJSON(a.geom, 7)::json,
            'properties', json_build_object(
                'area_id', a.area_id, 'cells', a.cells, 'reports', a.reports,
                'weight', a.weight, 'population', a.population, 'trend', a.trend,
                'priority_score', a.priority_score, 'priority_rank', a.priority_rank,
                'components', a.components))
            ORDER BY a.priority_rank), '[]'::json))::text
    FROM {AREAS_SQL} WHERE a.run_id = :run
    """
)


def cells_geojson(conn: Connection, run_id: int, *, public: bool) -> str:
    """Every analysed cell of run ``run_id`` as a FeatureCollection (text), ordered by cell."""
    return str(conn.execute(
        _CELLS, {"run": run_id, "public": public, **CELL_PARAMS}).scalar_one())


def areas_geojson(conn: Connection, run_id: int, *, public: bool) -> str:
    """The intervention areas of run ``run_id`` as a FeatureCollection (text), by rank."""
    return str(conn.execute(_AREAS, {"run": run_id, "public": public}).scalar_one())
