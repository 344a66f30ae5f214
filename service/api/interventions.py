"""Interventions on the native API: record what the city did, and read whether it worked.

Planners and admins write; grant writers read too (they put the answer in funding
requests); residents' app keys and anonymous callers see nothing here. Every write
queues the intervention's evaluation through the outbox in the same transaction;
``GET …/evaluation`` follows it like any long job.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import Response, jsonify, make_response, url_for

from geo.evaluation import interventions, records
from geo.evaluation.public import public_result
from service.api import bp
from service.api.intervention_schemas import (
    EvaluateIn,
    EvaluationOut,
    InterventionIn,
    InterventionList,
    InterventionOut,
    InterventionPatch,
    ListQuery,
)
from service.api.reports import geo_errors
from service.auth import principal, roles_required
from service.db import engine
from service.errors import Problem
from service.idempotency import idempotent, save
from service.openapi import operation

WRITERS = ("planner", "admin")
READERS = ("planner", "grant_writer", "admin")
TAGS = ("interventions",)
_MAX_ID = 2**63 - 1


def _check_id(intervention_id: int) -> int:
    # Flask's int converter takes any length; past BIGINT it can only be absent.
    if intervention_id > _MAX_ID:
        raise Problem(404, f"intervention {intervention_id} not found", kind="not-found")
    return intervention_id


def _view(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in InterventionOut.model_fields if k in row}
    for key in ("start_date", "end_date", "created_at", "updated_at"):
        out[key] = row[key].isoformat()
    out["evaluation_url"] = url_for("api.get_evaluation", intervention_id=row["id"])
    return out


def _evaluation_view(record: dict[str, Any], *, staff: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record["id"], "intervention_id": record["id"], "version": record["version"],
        "status": record["status"], "progress": record["progress"],
        **{k: record[k].isoformat() if record[k] else None
           for k in ("created_at", "started_at", "finished_at")},
        "caveats": [],
    }
    if record["error"]:
        out["error"] = record["error"]
    result = record["result"] or {}
    if result and not staff:  # grant writers: no count of 1-2 reporters (geo.privacy)
        result = public_result(result)
    out.update({k: v for k, v in result.items() if k in EvaluationOut.model_fields})
    return out


T = TypeVar("T")


def _or_404(found: T | None, intervention_id: int) -> T:
    """``found``, or the 404 of an intervention that does not exist."""
    if found is None:
        raise Problem(404, f"intervention {intervention_id} not found", kind="not-found")
    return found


@bp.post("/interventions")
@roles_required(*WRITERS)
@operation(summary="Record an intervention (queues its evaluation)", body=InterventionIn,
           responses={201: InterventionOut}, roles=WRITERS, tags=TAGS, idempotent=True)
@idempotent
def create_intervention(body: InterventionIn) -> Response:
    """Write the intervention and its evaluation's outbox row in one transaction; 201."""
    with geo_errors(), engine().begin() as conn:
        new_id = interventions.create(conn, body.model_dump(mode="json", exclude_none=True),
                                      created_by=principal().key_id)
        row = interventions.get(conn, new_id)
        assert row is not None
        resp = make_response(jsonify(_view(row)), 201)
        resp.headers["Location"] = url_for("api.get_intervention", intervention_id=new_id)
        save(conn, resp)
    return resp


@bp.get("/interventions")
@roles_required(*READERS)
@operation(summary="List interventions", query=ListQuery, responses={200: InterventionList},
           roles=READERS, tags=TAGS)
def list_interventions(query: ListQuery) -> Response:
    """One page of interventions, newest start first."""
    with engine().connect() as conn:
        rows = interventions.list_all(conn, limit=query.page_size,
                                      offset=(query.page - 1) * query.page_size)
        total = interventions.count(conn)
    return jsonify({"interventions": [_view(r) for r in rows], "page": query.page,
                    "page_size": query.page_size, "total": total})


@bp.get("/interventions/<int:intervention_id>")
@roles_required(*READERS)
@operation(summary="One intervention", responses={200: InterventionOut}, roles=READERS,
           tags=TAGS)
def get_intervention(intervention_id: int) -> Response:
    """The intervention with its stored footprint."""
    with engine().connect() as conn:
        row = _or_404(interventions.get(conn, _check_id(intervention_id)), intervention_id)
    return jsonify(_view(row))


@bp.patch("/interventions/<int:intervention_id>")
@roles_required(*WRITERS)
@operation(summary="Change an intervention (re-queues its evaluation)", body=InterventionPatch,
           responses={200: InterventionOut}, roles=WRITERS, tags=TAGS)
def update_intervention(intervention_id: int, body: InterventionPatch) -> Response:
    """Apply the fields sent; the whole result is checked again."""
    changes = body.model_dump(mode="json", include=body.model_fields_set)
    with geo_errors(), engine().begin() as conn:
        row = interventions.update(conn, _check_id(intervention_id), changes)
    return jsonify(_view(row))


@bp.delete("/interventions/<int:intervention_id>")
@roles_required(*WRITERS)
@operation(summary="Delete an intervention and its evaluation", responses={204: "Deleted"},
           roles=WRITERS, tags=TAGS)
def delete_intervention(intervention_id: int) -> Response:
    """Remove it; its evaluation goes with it."""
    with geo_errors(), engine().begin() as conn:
        interventions.delete(conn, _check_id(intervention_id))
    return Response(status=204)


@bp.get("/interventions/<int:intervention_id>/evaluation")
@roles_required(*READERS)
@operation(summary="Did it work? The intervention's evaluation and its status",
           responses={200: EvaluationOut}, roles=READERS, tags=TAGS)
def get_evaluation(intervention_id: int) -> Response:
    """Status and progress; once succeeded, the effect, its interval and the caveats."""
    with engine().connect() as conn:
        record = _or_404(records.get(conn, _check_id(intervention_id)), intervention_id)
    return jsonify(_evaluation_view(record, staff=principal().is_staff))


@bp.post("/interventions/<int:intervention_id>/evaluation")
@roles_required(*WRITERS)
@operation(summary="Evaluate an intervention again now", body=EvaluateIn,
           responses={202: EvaluationOut}, roles=WRITERS, tags=TAGS, idempotent=True)
@idempotent
def evaluate_intervention(intervention_id: int, body: EvaluateIn) -> Response:
    """Queue a fresh evaluation (e.g. once more months have passed); 202 with its status URL."""
    params = {"as_of": body.as_of.isoformat()} if body.as_of else {}
    with geo_errors(), engine().begin() as conn:
        records.queue(conn, _check_id(intervention_id), params)
        record = records.get(conn, intervention_id)
        assert record is not None
        resp = make_response(jsonify(_evaluation_view(record, staff=principal().is_staff)), 202)
        resp.headers["Location"] = url_for("api.get_evaluation", intervention_id=intervention_id)
        save(conn, resp)
    return resp
