"""Hotspot runs on the native API: queue one, follow it, read its cells and areas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, make_response, url_for
from pydantic import BaseModel, ConfigDict, Field

from geo.errors import FieldError
from geo.hotspots.outputs import areas_geojson, cells_geojson
from geo.hotspots.params import RunParams
from geo.hotspots.runs import check_references, configuration_of, create_run, get_run, list_runs
from service.api import bp
from service.api.job_status import JobStatus
from service.auth import principal, roles_required
from service.db import engine
from service.errors import Problem
from service.idempotency import idempotent, save
from service.openapi import FEATURE_COLLECTION, Body, operation
from service.origin import external_url

READERS = ("planner", "grant_writer")


class HotspotRunOut(JobStatus):
    """A hotspot run's status resource."""

    params: dict[str, Any]
    configuration: str | None = Field(
        None, description='"city-wide" for a run of the standing configuration (what '
        '"latest" and the hotspots layer show), null for an ad-hoc run')
    rings: int | None
    counts: dict[str, Any]
    fingerprint: str | None
    cells_url: str | None = None
    areas_url: str | None = None


class HotspotRunList(BaseModel):
    """One page of runs, newest first."""

    runs: list[HotspotRunOut]
    total: int
    page: int
    page_size: int


#: A finished run's cells or areas, with the fields of docs/architecture.md.
GEOJSON_LAYER = Body("A GeoJSON FeatureCollection", {"application/geo+json": FEATURE_COLLECTION})


def _out(run: dict[str, Any]) -> dict[str, Any]:
    out = {k: run[k] for k in ("id", "status", "progress", "created_at", "started_at",
                               "finished_at", "params", "rings", "counts", "fingerprint")}
    for key in ("created_at", "started_at", "finished_at"):
        out[key] = out[key].isoformat() if out[key] else None
    if run["error"]:
        out["error"] = run["error"]
    out["configuration"] = configuration_of(run["params"])
    out["rings_profile"] = run["rings_profile"]
    out["timings"] = run["timings"]
    if run["status"] == "succeeded":
        out["cells_url"] = external_url(url_for("api.hotspot_run_cells", run_id=run["id"]))
        out["areas_url"] = external_url(url_for("api.hotspot_run_areas", run_id=run["id"]))
    return out


def _run_or_404(run_id: int) -> dict[str, Any]:
    with engine().connect() as conn:
        run = get_run(conn, run_id)
    if run is None:
        raise Problem(404, f"hotspot run {run_id} does not exist", kind="not-found")
    return run


@bp.post("/hotspot-runs")
@roles_required("planner")
@operation(summary="Queue a hotspot run", body=RunParams, roles=("planner", "admin"),
           responses={202: HotspotRunOut}, idempotent=True, tags=("hotspots",))
@idempotent
def create_hotspot_run(body: RunParams) -> Response:
    """Queue a run; 202 with its status URL. The worker picks it up from the outbox."""
    with engine().begin() as conn:
        try:
            check_references(conn, body)
        except FieldError as exc:
            raise Problem(exc.status, str(exc), field=exc.field, kind="validation") from None
        who = principal()
        run_id = create_run(conn, body, trigger="api", actor_key_id=who.key_id,
                            actor_user_id=who.user_id)
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
           responses={200: HotspotRunList}, roles=(*READERS, "admin"), tags=("hotspots",))
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


def _finished_layer(run_id: int, layer: Callable[..., str]) -> Response:
    run = _run_or_404(run_id)
    if run["status"] != "succeeded":
        raise Problem(409, f"hotspot run {run_id} is {run['status']}; its layers appear when it "
                      "has succeeded", kind="run-not-finished")
    # Grant writers are not staff: they see what the public sees (geo.hotspots.outputs).
    with engine().connect() as conn:
        body = layer(conn, run_id, public=not principal().is_staff)
    return Response(body, mimetype="application/geo+json")


@bp.get("/hotspot-runs/<int:run_id>/cells")
@roles_required(*READERS)
@operation(summary="Every analysed cell of a run as GeoJSON", roles=(*READERS, "admin"),
           responses={200: GEOJSON_LAYER, 409: "The run has not succeeded (yet)"},
           tags=("hotspots",))
def hotspot_run_cells(run_id: int) -> Response:
    """All cells of the study area (empty ones too) with the contract's fields."""
    return _finished_layer(run_id, cells_geojson)


@bp.get("/hotspot-runs/<int:run_id>/areas")
@roles_required(*READERS)
@operation(summary="A run's intervention areas as GeoJSON", roles=(*READERS, "admin"),
           responses={200: GEOJSON_LAYER, 409: "The run has not succeeded (yet)"},
           tags=("hotspots",))
def hotspot_run_areas(run_id: int) -> Response:
    """Contiguous hot cells merged into ranked intervention areas."""
    return _finished_layer(run_id, areas_geojson)


