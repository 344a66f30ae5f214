"""Evaluation records: queue, claim, progress and outcome of one intervention's evaluation.

One row per intervention holds its latest evaluation. Queuing resets it for the
intervention's current version and adds the job to the outbox in the caller's
transaction; the job publishes its result only if the intervention still has the
version it evaluated, so a slow evaluation of an older version never overwrites
the newer one's status.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, text

from geo import outbox
from geo.errors import NotFound

JOB = "evaluate_intervention"
_COLUMNS = (
    "intervention_id AS id, version, status, progress, created_at, started_at, finished_at, "
    "error, result, params"
)


def queue(conn: Connection, intervention_id: int, params: dict[str, Any] | None = None) -> None:
    """(Re)queue the evaluation of the intervention's current version, after this commit.

    ``params`` are plain values for :func:`geo.evaluation.evaluate.evaluate`
    (``as_of``, window overrides); they are stored with the record.
    """
    version = conn.execute(
        text("SELECT version FROM interventions WHERE id = :id"), {"id": intervention_id}
    ).scalar()
    if version is None:
        raise NotFound(f"intervention {intervention_id}")
    conn.execute(
        text(
            "INSERT INTO intervention_evaluations (intervention_id, version, params) "
            "VALUES (:id, :v, CAST(:p AS jsonb)) "
            "ON CONFLICT (intervention_id) DO UPDATE SET version = :v, status = 'queued', "
            "progress = 0, created_at = now(), started_at = NULL, finished_at = NULL, "
            "error = NULL, result = NULL, params = CAST(:p AS jsonb)"
        ),
        {"id": intervention_id, "v": version, "p": json.dumps(params or {})},
    )
    # Each request is its own job (a re-run of the same version is asked for on
    # purpose); the job id is still fixed per outbox row, so relaying twice is one job.
    outbox.add(
        conn, "analysis", JOB, {"intervention_id": intervention_id, "version": int(version)},
        job_id=f"evaluation:{intervention_id}:{version}:{uuid.uuid4().hex}",
    )


def get(conn: Connection, intervention_id: int) -> dict[str, Any] | None:
    """The evaluation record of an intervention, or None."""
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM intervention_evaluations WHERE intervention_id = :id"),
        {"id": intervention_id},
    ).first()
    return dict(row._mapping) if row else None


def claim(conn: Connection, intervention_id: int, version: int) -> dict[str, Any] | None:
    """Mark the evaluation of ``version`` running; None when it is stale, done or gone."""
    row = conn.execute(
        text(
            "UPDATE intervention_evaluations SET status = 'running', progress = 0, error = NULL, "
            "started_at = now(), finished_at = NULL "
            "WHERE intervention_id = :id AND version = :v AND status <> 'succeeded' "
            "RETURNING params"
        ),
        {"id": intervention_id, "v": version},
    ).first()
    return dict(row.params) if row else None


def set_progress(conn: Connection, intervention_id: int, version: int, percent: int) -> None:
    """Record progress (0–100) of a running evaluation."""
    conn.execute(
        text(
            "UPDATE intervention_evaluations SET progress = :p "
            "WHERE intervention_id = :id AND version = :v AND status = 'running'"
        ),
        {"p": max(0, min(100, int(percent))), "id": intervention_id, "v": version},
    )


def succeed(conn: Connection, intervention_id: int, version: int, result: dict[str, Any]) -> bool:
    """Publish the result of ``version``; False when the intervention changed meanwhile."""
    done = conn.execute(
        text(
            "UPDATE intervention_evaluations SET status = 'succeeded', progress = 100, "
            "finished_at = now(), result = CAST(:r AS jsonb), error = NULL "
            "WHERE intervention_id = :id AND version = :v RETURNING 1"
        ),
        {"r": json.dumps(result), "id": intervention_id, "v": version},
    ).first()
    return done is not None


def fail(conn: Connection, intervention_id: int, version: int, error: str) -> None:
    """Record why the evaluation failed (shown to the caller)."""
    conn.execute(
        text(
            "UPDATE intervention_evaluations SET status = 'failed', finished_at = now(), "
            "error = :e WHERE intervention_id = :id AND version = :v AND status <> 'succeeded'"
        ),
        {"e": error[:2000], "id": intervention_id, "v": version},
    )
