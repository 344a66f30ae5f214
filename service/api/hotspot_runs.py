"""Hotspot runs on the native API: queue one, follow it, read its cells and areas."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from flask import Response, jsonify, make_response, url_for
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from geo.errors import FieldError
from geo.hotspots.params import RunParams
from geo.hotspots.runs import create_run, get_run, list_runs
from geo.layers.features import CELL_PROPERTIES, CELLS_SQL
from geo.privacy import MIN_REPORTERS
from service.api import bp
from service.api.job_status import JobStatus
from service.auth import principal, roles_required
from service.db import engine
from service.errors import Problem
from service.idempotency import idempotent, save
from service.openapi import operation

READERS = ("planner", "grant_writer")


class PriorityWeightsIn(BaseModel):
    """Weights of the priority components (rescaled to sum to 1)."""

    model_config = ConfigDict(extra="forbid")
    significance: float | None = Field(None, ge=0)
    reports: float | None = Field(None, ge=0)
    trend: float | None = Field(None, ge=0)
    severity: float | None = Field(None, ge=0)
    population: float | None = Field(None, ge=0)


class HotspotRunIn(BaseModel):
    """Parameters of a hotspot run (all optional; defaults as documented)."""

    model_config = ConfigDict(extra="forbid")
    services: list[str] | None = Field(None, description="Service codes; all when absent")
    resolution: int = Field(9, ge=5, le=11, description="H3 resolution")
    rings: int | Literal["auto"] = Field(1, description="K rings, or auto (incremental Moran)")
    since: dt.date | None = None
    until: dt.date | None = None
    half_life_days: float | None = Field(None, gt=0, le=3650)
    boundary_id: int | None = Field(None, ge=1)
    measure: Literal["counts", "rates"] = "counts"
    time_step: Literal["week", "month"] = "week"
    priority_weights: PriorityWeightsIn | None = None


class HotspotRunOut(JobStatus):
    """A hotspot run's status resource."""

    params: dict[str, Any]
    rings: int | None
    counts: dict[str, Any]
    fingerprint: str | None
    cells_url: str | None = None
    areas_url: str | None = None


def _out(run: dict[str, Any]) -> dict[str, Any]:
    out = {k: run[k] for k in ("id", "status", "progress", "created_at", "started_at",
                               "finished_at", "params", "rings", "counts", "fingerprint")}
    for key in ("created_at", "started_at", "finished_at"):
        out[key] = out[key].isoformat() if out[key] else None
    if run["error"]:
        out["error"] = run["error"]
    out["rings_profile"] = run["rings_profile"]
    out["timings"] = run["timings"]
    if run["status"] == "succeeded":
        out["cells_url"] = url_for("api.hotspot_run_cells", run_id=run["id"], _external=True)
        out["areas_url"] = url_for("api.hotspot_run_areas", run_id=run["id"], _external=True)
    return out


def _run_or_404(run_id: int) -> dict[str, Any]:
    with engine().connect() as conn:
        run = get_run(conn, run_id)
    if run is None:
        raise Problem(404, f"hotspot run {run_id} does not exist", kind="not-found")
    return run


@bp.post("/hotspot-runs")
@roles_required("planner")
@operation(summary="Queue a hotspot run", body=HotspotRunIn, roles=("planner", "admin"),
           responses={202: HotspotRunOut}, idempotent=True, tags=("hotspots",))
@idempotent
def create_hotspot_run(body: HotspotRunIn) -> Response:
    """Queue a run; 202 with its status URL. The worker picks it up from the outbox."""
    try:
        params = RunParams.from_dict(body.model_dump(exclude_none=True, mode="json"))
    except FieldError as exc:
        raise Problem(exc.status, str(exc), field=exc.field, kind="validation") from None
    with engine().begin() as conn:
        if params.boundary_id is not None and not conn.execute(
            text("SELECT 1 FROM boundaries WHERE id = :id"), {"id": params.boundary_id}
        ).first():
            raise Problem(422, f"boundary_id: boundary {params.boundary_id} does not exist",
                          field="boundary_id", kind="validation")
        unknown = conn.execute(
            text("SELECT s FROM unnest(CAST(:s AS text[])) s "
                 "WHERE s NOT IN (SELECT code FROM services)"),
            {"s": list(params.services)},
        ).scalars().first()
        if unknown:
            raise Problem(422, f"services: unknown service {unknown!r}", field="services",
                          kind="validation")
        run_id = create_run(conn, params, trigger="api")
        run = get_run(conn, run_id)
        assert run is not None
        resp = make_response(jsonify(_out(run)), 202)
        resp.headers["Location"] = url_for("api.get_hotspot_run", run_id=run_id)
        save(conn, resp)
    return resp


class RunListQuery(BaseModel):
    """Paging of the run list."""

    model_config = ConfigDict(extra="forbid")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=250)


@bp.get("/hotspot-runs")
@roles_required(*READERS)
@operation(summary="List hotspot runs, newest first", query=RunListQuery,
           roles=(*READERS, "admin"), tags=("hotspots",))
def list_hotspot_runs(query: RunListQuery) -> Response:
    """Runs with status and progress (the planner page polls this)."""
    with engine().connect() as conn:
        runs, total = list_runs(conn, limit=query.page_size,
                                offset=(query.page - 1) * query.page_size)
    return jsonify(runs=[_out(r) for r in runs], total=total, page=query.page,
                   page_size=query.page_size)


@bp.get("/hotspot-runs/<int:run_id>")
@roles_required(*READERS)
@operation(summary="A hotspot run's status", responses={200: HotspotRunOut},
           roles=(*READERS, "admin"), tags=("hotspots",))
def get_hotspot_run(run_id: int) -> Response:
    """Status, progress, parameters, counts and (when done) links to its layers."""
    return jsonify(_out(_run_or_404(run_id)))


# Grant writers are not staff: small counts of aggregated services are hidden from
# them as on every other hotspot surface (geo.layers.features.SUPPRESS_SQL, ARCHITECTURE "Privacy").
_CELL_FEATURES = text(
    f"""
    SELECT json_build_object('type', 'FeatureCollection', 'run_id', CAST(:r AS bigint),
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
    FROM {CELLS_SQL} WHERE c.run_id = :r
    """
)

_AREA_FEATURES = text(
    """
    SELECT json_build_object('type', 'FeatureCollection', 'run_id', CAST(:r AS bigint),
        'features', coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', a.area_id,
            'geometry', ST_AsGeoJSON(a.geom, 7)::json,
            'properties', json_build_object(
                'area_id', a.area_id, 'cells', a.cells, 'reports', a.reports,
                'weight', a.weight, 'population', a.population, 'trend', a.trend,
                'priority_score', a.priority_score, 'priority_rank', a.priority_rank,
                'components', a.components))
            ORDER BY a.priority_rank), '[]'::json))::text
    FROM hotspot_areas a WHERE a.run_id = :r
    """
)


def _finished_layer(run_id: int, query: Any) -> Response:
    run = _run_or_404(run_id)
    if run["status"] != "succeeded":
        raise Problem(409, f"hotspot run {run_id} is {run['status']}; its layers appear when it "
                      "has succeeded", kind="run-not-finished")
    hide = {"run": run_id, "public": not principal().is_staff, "min_reporters": MIN_REPORTERS}
    with engine().connect() as conn:
        body = conn.execute(query, {"r": run_id, **hide}).scalar_one()
    return Response(body, mimetype="application/geo+json")


@bp.get("/hotspot-runs/<int:run_id>/cells")
@roles_required(*READERS)
@operation(summary="Every analysed cell of a run as GeoJSON", roles=(*READERS, "admin"),
           tags=("hotspots",))
def hotspot_run_cells(run_id: int) -> Response:
    """All cells of the study area (empty ones too) with the contract's fields."""
    return _finished_layer(run_id, _CELL_FEATURES)


@bp.get("/hotspot-runs/<int:run_id>/areas")
@roles_required(*READERS)
@operation(summary="A run's intervention areas as GeoJSON", roles=(*READERS, "admin"),
           tags=("hotspots",))
def hotspot_run_areas(run_id: int) -> Response:
    """Contiguous hot cells merged into ranked intervention areas."""
    return _finished_layer(run_id, _AREA_FEATURES)


