"""Queue names and job declarations in one place.

Every job the outbox may name is declared here with its queue and limits; the
relay enqueues by the dotted path, so it never imports job code, and a worker
that does not know a job name leaves its outbox rows for one that does (a
rolling deploy where the web tier is newer than the workers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError

QUEUE_NAMES = ("default", "analysis", "exports")

DAY = 24 * 3600


@dataclass(frozen=True)
class JobSpec:
    """How one job runs: its function, queue and limits (seconds)."""

    func: str
    queue: str
    timeout: int
    #: How long a finished job's record stays in Redis. It is also the window in
    #: which relaying the same outbox row again is recognised as a duplicate.
    result_ttl: int
    failure_ttl: int
    #: Waits between attempts after a failure; empty means no retry.
    retry: tuple[int, ...] = ()

    def retry_policy(self) -> Retry | None:
        """RQ's retry object for this job, if it retries."""
        return Retry(max=len(self.retry), interval=list(self.retry)) if self.retry else None


JOBS: dict[str, JobSpec] = {
    "make_thumbnail": JobSpec(
        "workers.jobs.make_thumbnail", "default", timeout=120, result_ttl=DAY,
        failure_ttl=14 * DAY, retry=(10, 60, 300),
    ),
    "hotspot_run": JobSpec(
        "workers.hotspot_jobs.run_hotspots", "analysis", timeout=30 * 60, result_ttl=DAY,
        failure_ttl=14 * DAY, retry=(30, 300),
    ),
    # Rendering starts again from scratch, so a retry after a crash is safe.
    "render_export": JobSpec(
        "workers.export_jobs.render_export", "exports", timeout=600, result_ttl=DAY,
        failure_ttl=14 * DAY, retry=(30, 300),
    ),
    "evaluate_intervention": JobSpec(
        "workers.evaluation_jobs.evaluate_intervention", "analysis", timeout=600,
        result_ttl=DAY, failure_ttl=14 * DAY, retry=(30, 300),
    ),
    "reports_changed": JobSpec(
        "workers.jobs.reports_changed", "analysis", timeout=60, result_ttl=DAY,
        failure_ttl=14 * DAY, retry=(30, 300),
    ),
    # Not sent through the outbox: scheduled by the workers (workers.housekeeping).
    "housekeeping": JobSpec(
        "workers.housekeeping.housekeeping", "default", timeout=1800, result_ttl=DAY,
        failure_ttl=14 * DAY,
    ),
}

_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


def rq_job_id(job_id: str) -> str:
    """The outbox's job id in the characters RQ allows, one-to-one.

    RQ 2+ accepts only letters, digits, ``_`` and ``-`` (it uses ``:`` itself), but
    the outbox's ids read ``thumbnail:<uuid>``. Every other character, ``_``
    included, becomes ``_`` and its code point in hex, so two ids never collide.

    >>> rq_job_id("thumbnail:6f1c-a_b")
    'thumbnail_3a6f1c-a_5fb'
    """
    return _UNSAFE.sub(
        lambda m: f"_{ord(m.group()):02x}" if ord(m.group()) < 256 else f"_u{ord(m.group()):06x}",
        job_id,
    )


def enqueue(connection: Redis, name: str, args: dict[str, Any], job_id: str) -> bool:
    """Enqueue job ``name`` with keyword ``args`` once; False if that job id already exists.

    Without ``unique``, RQ would overwrite an existing job with the same id and push
    the id again, so a message relayed twice would run twice.
    """
    spec = JOBS[name]
    queue = Queue(spec.queue, connection=connection)
    try:
        queue.enqueue_call(
            spec.func,
            kwargs=args,
            timeout=spec.timeout,
            result_ttl=spec.result_ttl,
            failure_ttl=spec.failure_ttl,
            retry=spec.retry_policy(),
            job_id=rq_job_id(job_id),
            description=f"{name} {job_id}",
            unique=True,
        )
    except DuplicateJobError:
        return False
    return True
