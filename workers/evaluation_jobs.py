"""The ``analysis`` queue's evaluation job: did one intervention work?

Ids in, outcome in the ``intervention_evaluations`` row. RQ delivers at least
once; a second delivery of a finished evaluation, or one for a version the
intervention has since left, does nothing (``geo.evaluation.evaluate.run``).
New keyword arguments must come last and have defaults: jobs already queued
keep the arguments they were queued with.
"""

from __future__ import annotations

import logging
from typing import Any

from rq import get_current_job

from geo.evaluation import evaluate
from workers import context

log = logging.getLogger("civicpulse.jobs.evaluation")


def _progress(percent: int) -> None:
    """Mirror progress into ``job.meta`` for RQ dashboards (no-op outside a worker)."""
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = percent
        job.save_meta()


def evaluate_intervention(intervention_id: int, version: int) -> dict[str, Any]:
    """Evaluate version ``version`` of intervention ``intervention_id``; returns its status."""
    status = evaluate.run(
        context.engine(), int(intervention_id), int(version),
        resolution=context.settings().evaluation_resolution, progress=_progress,
    )
    log.info("evaluation of intervention %s v%s: %s", intervention_id, version, status)
    return {"intervention_id": int(intervention_id), "status": status}
