"""The ``exports`` queue's job: render one evidence pack.

Ids in, outcome in the ``evidence_exports`` row. RQ delivers at least once; a
second delivery of a finished export does nothing and an unfinished one starts
over (``geo.evidence.exports.render``). New keyword arguments must come last and
have defaults: jobs already queued keep the arguments they were queued with.
"""

from __future__ import annotations

import logging
from typing import Any

from rq import get_current_job

from geo.evidence import exports
from workers import context

log = logging.getLogger("civicpulse.jobs.exports")


def _progress(percent: int) -> None:
    """Mirror progress into ``job.meta`` for RQ dashboards (no-op outside a worker)."""
    job = get_current_job()
    if job is not None:
        job.meta["progress"] = percent
        job.save_meta()


def render_export(export_id: int) -> dict[str, Any]:
    """Render export ``export_id`` into the export directory; returns its final status."""
    status = exports.render(
        context.engine(), int(export_id), context.settings().export_dir, progress=_progress
    )
    log.info("evidence export %s: %s", export_id, status)
    return {"export_id": int(export_id), "status": status}
