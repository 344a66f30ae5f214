"""Hotspot jobs: run one analysis; turn "reports changed" into a debounced refresh."""

from __future__ import annotations

import logging
from typing import Any

from rq import get_current_job

from geo.hotspots.engine import execute
from geo.hotspots.runs import STANDING, request_refresh, requeue_stale
from workers import context

log = logging.getLogger("civicpulse.jobs")

#: A run still "running" after this long lost its worker (the job timeout is 30 min).
STALE_AFTER_SECONDS = 2 * 30 * 60


def run_hotspots(run_id: int) -> dict[str, Any]:
    """Run hotspot analysis ``run_id``; a second delivery of a finished run does nothing."""
    job = get_current_job()
    extra = {"job_id": job.id if job else None}

    def progress(percent: int, step: str) -> None:
        if job is not None:
            job.meta.update(progress=percent, step=step, run_id=run_id)
            job.save_meta()

    log.info("hotspot run %s starting", run_id, extra=extra)
    status = execute(context.engine(), int(run_id), progress=progress)
    log.info("hotspot run %s %s", run_id, status, extra=extra)
    return {"run_id": run_id, "status": status}


def refresh_after_change(services: list[str]) -> int | None:
    """Queue (at most one pending) refresh of the standing city-wide configuration.

    Also recovers runs whose worker vanished, since this job runs whenever new
    reports arrive.
    """
    settings = context.settings()
    with context.engine().begin() as conn:
        revived = requeue_stale(conn, STALE_AFTER_SECONDS)
        run_id = request_refresh(conn, STANDING,
                                 debounce_seconds=settings.refresh_debounce_seconds)
    if revived:
        log.warning("requeued hotspot runs whose worker vanished: %s", revived)
    if run_id is not None:
        log.info("queued hotspot refresh %s after changes to %s", run_id, ",".join(services))
    return run_id
