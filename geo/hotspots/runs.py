"""Hotspot runs as records: queue one, coalesce refreshes, find the latest, describe one.

A run's cells and areas become visible only when it is ``succeeded``: every
reader goes through :func:`latest_run_id` or checks the status, and the engine
writes cells, areas and the status in one transaction.

"Latest" means the latest run of the standing configuration (:data:`STANDING`:
all services, city-wide, default grid), the one the automatic refresh runs. A
run with other parameters (a lead-paint run from the CLI, a period drawn on the
map) is its own collection and never replaces it: the ``hotspots`` layer must
not flip between a lead-paint map and an all-services map as runs finish.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from geo import outbox
from geo.access import audit
from geo.errors import FieldError
from geo.hotspots.params import RunParams

RUN_JOB = "hotspot_run"

#: The standing configuration's name, as the API and the map page show it.
STANDING_NAME = "city-wide"
#: Its parameters: every service, the whole city, the default grid and rings.
STANDING = RunParams()


def configuration_of(params: dict[str, Any]) -> str | None:
    """The standing configuration's name when a run's stored ``params`` are its, else None.

    >>> configuration_of(RunParams().as_json()), configuration_of({"services": ["pothole"]})
    ('city-wide', None)
    """
    return STANDING_NAME if params == STANDING.as_json() else None


def check_references(conn: Connection, params: RunParams) -> None:
    """Raise :class:`FieldError` when the run names a boundary or service that does not exist.

    The shape of the parameters is checked by :class:`RunParams`; this is the part
    only the database can answer, asked before a run is queued.
    """
    if params.boundary_id is not None and not conn.execute(
        text("SELECT 1 FROM boundaries WHERE id = :id"), {"id": params.boundary_id}
    ).first():
        raise FieldError("boundary_id", f"boundary {params.boundary_id} does not exist")
    unknown = conn.execute(
        text("SELECT s FROM unnest(CAST(:s AS text[])) s "
             "WHERE s NOT IN (SELECT code FROM services)"),
        {"s": list(params.services)},
    ).scalars().first()
    if unknown:
        raise FieldError("services", f"unknown service {unknown!r}")


def create_run(
    conn: Connection, params: RunParams, *, trigger: str = "api", enqueue: bool = True,
    actor_key_id: int | None = None, actor_user_id: int | None = None,
) -> int:
    """Record a queued run and its job (sent to RQ by the outbox relay after commit).

    ``enqueue=False`` is for a caller that runs it in-process (``hotspots run --wait``).
    The audit trail records who asked (``actor_user_id``, a person signed in;
    ``actor_key_id``; or the command line);
    automatic refreshes (:func:`request_refresh`) are nobody's action and are not recorded.
    """
    # Only refreshes coalesce (unique queued key); every other run gets its own key.
    run_id = conn.execute(
        text(
            "INSERT INTO hotspot_runs (params, params_key, trigger) "
            "VALUES (CAST(:params AS jsonb), :key || ':' || nextval('hotspot_runs_id_seq'), "
            ":trigger) RETURNING id"
        ),
        {"params": json.dumps(params.as_json()), "key": params.key()[:32], "trigger": trigger},
    ).scalar_one()
    if enqueue:
        outbox.add(conn, "analysis", RUN_JOB, {"run_id": run_id}, job_id=f"hotspot-run:{run_id}")
    audit.record(conn, "hotspot_run.requested", target_type="hotspot_run", target_id=run_id,
                 actor_key_id=actor_key_id, actor_user_id=actor_user_id,
                 details={"trigger": trigger, "params": params.as_json()})
    return int(run_id)


def request_refresh(
    conn: Connection, params: RunParams, *, debounce_seconds: float = 0
) -> int | None:
    """Queue an automatic refresh unless one with these parameters is already pending.

    Returns the new run's id, or None when a queued refresh will already see the
    new data (the partial unique index on queued ``params_key`` decides, so two
    signals racing still make one run). The run's job is held back for
    ``debounce_seconds``, so a burst of reports is analysed once, after it.
    """
    run_id = conn.execute(
        text(
            "INSERT INTO hotspot_runs (params, params_key, trigger) "
            "VALUES (CAST(:params AS jsonb), :key, 'refresh') "
            "ON CONFLICT (params_key) WHERE status = 'queued' DO NOTHING RETURNING id"
        ),
        {"params": json.dumps(params.as_json()), "key": params.key() + ":refresh"},
    ).scalar()
    if run_id is None:
        return None
    outbox.add(conn, "analysis", RUN_JOB, {"run_id": run_id}, job_id=f"hotspot-run:{run_id}",
               delay_seconds=debounce_seconds)
    return int(run_id)


def requeue_stale(conn: Connection, older_than_seconds: float) -> list[int]:
    """Send runs stuck in ``running`` (their worker died) back to the queue.

    RQ retries a job whose work-horse failed, but a machine that vanished takes
    its job's bookkeeping with it; this catches those. The new job id carries
    the attempt number so RQ does not take it for the dead one.
    """
    rows = conn.execute(
        text(
            "UPDATE hotspot_runs SET status = 'queued', progress = 0 "
            "WHERE status = 'running' AND started_at < now() - make_interval(secs => :s) "
            "RETURNING id, attempts"
        ),
        {"s": older_than_seconds},
    ).all()
    for run_id, attempts in rows:
        outbox.add(conn, "analysis", RUN_JOB, {"run_id": run_id},
                   job_id=f"hotspot-run:{run_id}:retry-{attempts}")
    return [int(r[0]) for r in rows]


def latest_run_id(conn: Connection) -> int | None:
    """The standing configuration's most recently finished run (what "latest" means everywhere).

    Any run with the standing parameters counts, whoever started it: the same
    question asked again, only with fresher data.
    """
    return conn.execute(
        text(
            "SELECT id FROM hotspot_runs WHERE status = 'succeeded' "
            "AND params = CAST(:standing AS jsonb) ORDER BY finished_at DESC, id DESC LIMIT 1"
        ),
        {"standing": json.dumps(STANDING.as_json())},
    ).scalar()


_RUN_COLUMNS = (
    "id, status, progress, params, rings, rings_profile, counts, fingerprint, error, trigger, "
    "attempts, created_at, started_at, finished_at, timings"
)


def get_run(conn: Connection, run_id: int) -> dict[str, Any] | None:
    """One run's record, or None."""
    row = conn.execute(
        text(f"SELECT {_RUN_COLUMNS} FROM hotspot_runs WHERE id = :id"), {"id": run_id}
    ).first()
    return dict(row._mapping) if row else None


def list_runs(
    conn: Connection, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Runs newest first, and how many there are."""
    rows = conn.execute(
        text(f"SELECT {_RUN_COLUMNS} FROM hotspot_runs ORDER BY id DESC LIMIT :l OFFSET :o"),
        {"l": limit, "o": offset},
    )
    total = conn.execute(text("SELECT count(*) FROM hotspot_runs")).scalar_one()
    return [dict(r._mapping) for r in rows], int(total)
