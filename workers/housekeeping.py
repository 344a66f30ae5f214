"""Scheduled housekeeping on RQ's own scheduler, once per interval however many workers run.

Time is cut into slots of ``CIVICPULSE_HOUSEKEEPING_INTERVAL_SECONDS``. The job of
slot ``n`` has the id ``housekeeping-<interval>-<n>``; it is enqueued with RQ's
``unique`` flag, so a second worker asking for the same slot is refused and the
work runs once. Each worker asks for the current slot (run now) and the next one
(``enqueue_at`` its start, moved to the queue by the scheduler that
``Worker(with_scheduler=True)`` runs) when it starts and at every RQ maintenance
pass (10 minutes): a Redis that restarted empty gets its schedule back without
restarting a worker. A slot's job id outlives the slot (``result_ttl``), which
is what keeps a late worker from running that slot again.

The job itself: send runs and exports whose worker died back to the queue, then
prune (``geo.housekeeping``). Both are safe to repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.exceptions import DuplicateJobError
from sqlalchemy import Engine

from geo import housekeeping as chores
from geo.evidence import exports
from geo.hotspots import runs
from workers import context
from workers.queues import JOBS

log = logging.getLogger("civicpulse.housekeeping")

JOB = "housekeeping"


def stale_after(job: str) -> int:
    """Seconds after which a ``running`` row of ``job`` has lost its worker: twice its timeout."""
    return 2 * JOBS[job].timeout


def sweep_stale(engine: Engine) -> dict[str, list[int]]:
    """Requeue hotspot runs and evidence exports left ``running`` by a worker that died."""
    with engine.begin() as conn:
        swept = {
            "runs": runs.requeue_stale(conn, stale_after(runs.RUN_JOB)),
            "exports": exports.requeue_stale(conn, stale_after(exports.EXPORT_JOB)),
        }
    if swept["runs"] or swept["exports"]:
        log.warning("requeued work whose worker vanished: %s", swept)
    return swept


def schedule(connection: Redis, interval: int, *, now: float | None = None) -> list[str]:
    """Queue this slot's housekeeping now and the next slot's at its start, unless queued.

    Returns the job ids this call added (empty when another worker was first).
    """
    spec = JOBS[JOB]
    slot = int((now if now is not None else time.time()) // interval)
    queue = Queue(spec.queue, connection=connection)
    options: dict[str, Any] = {
        "job_timeout": spec.timeout,
        # The id must outlive its slot: it is what refuses a second run of the slot.
        "result_ttl": max(spec.result_ttl, 2 * interval),
        "failure_ttl": spec.failure_ttl,
        "unique": True,
    }
    added = []
    for n in (slot, slot + 1):
        job_id = f"{JOB}-{interval}-{n}"
        try:
            if n == slot:
                queue.enqueue(spec.func, job_id=job_id, description=f"{JOB} slot {n}", **options)
            else:
                at = dt.datetime.fromtimestamp(n * interval, dt.UTC)
                queue.enqueue_at(at, spec.func, job_id=job_id, description=f"{JOB} slot {n}",
                                 **options)
        except DuplicateJobError:
            continue
        added.append(job_id)
    return added


def housekeeping() -> dict[str, Any]:
    """The scheduled job: send work whose worker died back to the queue, then prune."""
    settings = context.settings()
    engine = context.engine()
    swept = sweep_stale(engine)
    retention = chores.Retention(
        photo_grace_hours=settings.photo_grace_hours,
        export_retention_days=settings.export_retention_days,
        run_retention_days=settings.run_retention_days,
    )
    pruned = chores.run_all(engine, media_dir=settings.media_dir,
                            export_dir=settings.export_dir, retention=retention)
    log.info("housekeeping: pruned %s; requeued %s", pruned, swept)
    return {"pruned": pruned, "requeued": swept}


class HousekeepingWorker(Worker):
    """An RQ worker that keeps the housekeeping schedule alive at each maintenance pass."""

    def run_maintenance_tasks(self) -> None:
        """RQ's maintenance, then (re)schedule housekeeping; a Redis outage only delays it."""
        super().run_maintenance_tasks()
        try:
            schedule(self.connection, context.settings().housekeeping_interval_seconds)
        except RedisError as exc:
            log.warning("could not schedule housekeeping: %s", exc)
