"""Job entry points: ids and plain values in, outcome recorded, safe to run twice.

RQ delivers at least once, so every job here may run again after it succeeded.
Jobs already sitting in Redis keep the keyword arguments they were queued with:
a new argument must come last and have a default, or those jobs fail on deploy.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from rq import get_current_job

from geo.reports import photos
from workers import context

log = logging.getLogger("civicpulse.jobs")


def _job_id() -> str | None:
    job = get_current_job()
    return job.id if job is not None else None


def _progress(percent: int, **meta: Any) -> None:
    """Record progress in ``job.meta`` (no-op when called outside a worker)."""
    job = get_current_job()
    if job is None:
        return
    job.meta.update(meta, progress=percent)
    job.save_meta()


def make_thumbnail(photo_id: str) -> dict[str, Any] | None:
    """Write a photo's thumbnail beside it and mark it ready; None when the photo is gone."""
    extra = {"job_id": _job_id()}
    try:
        pid = uuid.UUID(str(photo_id))
    except ValueError:
        log.error("make_thumbnail: %r is not a photo id; nothing to do", photo_id, extra=extra)
        return None
    with context.engine().connect() as conn:
        photo = photos.get(conn, pid)
    if photo is None:
        log.warning("make_thumbnail: photo %s no longer exists; nothing to do", pid, extra=extra)
        return None
    _progress(10, photo_id=str(pid))
    media_dir = context.settings().media_dir
    target = photos.thumbnail_path(media_dir, pid)
    # Same source, same bytes: a second delivery rewrites an identical file.
    width, height = photos.write_thumbnail(
        photos.media_path(media_dir, pid, photos.EXTENSIONS[photo.content_type]), target
    )
    _progress(80)
    with context.engine().begin() as conn:
        marked = photos.mark_thumbnail_ready(conn, pid)
    if not marked:
        target.unlink(missing_ok=True)  # deleted while we worked: leave nothing behind
        log.warning("make_thumbnail: photo %s deleted meanwhile", pid, extra=extra)
        return None
    _progress(100)
    log.info("make_thumbnail: photo %s thumbnail %dx%d", pid, width, height, extra=extra)
    return {"photo_id": str(pid), "width": width, "height": height}


def reports_changed(services: list[str]) -> dict[str, Any]:
    """Reports of ``services`` changed: queue a debounced, coalesced hotspot refresh.

    Many signals make one refresh: ``hotspot_runs`` keeps at most one queued run
    per parameter set, and its job waits out the debounce before it is relayed.
    """
    from workers.hotspot_jobs import refresh_after_change

    codes = sorted({str(s) for s in services or []})
    run_id = refresh_after_change(codes)
    _progress(100, services=codes, refresh_run_id=run_id)
    log.info("reports changed for services %s; refresh run %s", ",".join(codes) or "(none)",
             run_id or "already pending", extra={"job_id": _job_id()})
    return {"services": codes, "refresh_run_id": run_id}
