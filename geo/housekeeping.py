"""Housekeeping: delete what nobody can reach any more, keep what someone may still cite.

Each task is idempotent (a second pass finds nothing) and bounded (batches), so
the scheduled job (``workers.housekeeping``) can run it as often as it likes and
two workers running it at once only share the work (``SKIP LOCKED``).

- Photos never linked to a report, once their grace period is over: an app
  uploads photos first and links them when the report is sent, so an unlinked
  photo older than a day or two belongs to a report that was never sent.
- Evidence exports finished longer ago than the retention: the row and the
  pack on disk (a status without its pack would promise a download that is
  gone), and scratch directories a killed render left behind.
- Idempotency records past their expiry (they already count as absent).
- Hotspot runs finished longer ago than the retention, with their cells and
  areas, except the runs that must stay: the latest succeeded run (what
  "latest" means everywhere), the newest succeeded run of each parameter set
  (a lead-paint analysis is not replaced by a newer city-wide one), and every
  run that an evidence export cites (a pack's reader can reproduce it).

Rows are deleted and committed first, files removed after: a crash in between
leaves a stray file (the next pass removes orphaned pack directories), never
a row pointing at a file that is gone.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

from geo import idempotency
from geo.reports import photos

#: Rows deleted per statement: short transactions, bounded locks.
BATCH = 500
#: Runs deleted per statement: each takes its cells (tens of thousands of rows) along.
RUN_BATCH = 20
_PACK_DIR = re.compile(r"^export-(\d+)$")
_SCRATCH_DIR = re.compile(r"^\.export-\d+\.[0-9a-f]{32}$")


@dataclass(frozen=True)
class Retention:
    """How long things are kept (the settings ``CIVICPULSE_*`` in the README).

    >>> Retention(run_retention_days=30)
    Retention(photo_grace_hours=48, export_retention_days=30, run_retention_days=30,
              scratch_grace_seconds=7200)
    """

    photo_grace_hours: int = 48
    export_retention_days: int = 30
    run_retention_days: int = 90
    #: A render's scratch directory older than this lost its worker (job timeout: 10 min).
    scratch_grace_seconds: int = 2 * 3600


def prune_unlinked_photos(engine: Engine, media_dir: str | Path, grace_hours: float) -> int:
    """Delete photos not linked to a report and older than ``grace_hours``, with their files.

    Returns how many were deleted.
    """
    total = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                text(
                    "DELETE FROM photos WHERE id IN ("
                    "SELECT id FROM photos WHERE report_id IS NULL "
                    "AND created_at < now() - make_interval(hours => :h) "
                    "ORDER BY created_at LIMIT :n FOR UPDATE SKIP LOCKED) "
                    "RETURNING id, content_type"
                ),
                {"h": grace_hours, "n": BATCH},
            ).all()
        for photo_id, content_type in rows:
            ext = photos.EXTENSIONS.get(content_type)
            if ext:
                photos.media_path(media_dir, photo_id, ext).unlink(missing_ok=True)
            photos.thumbnail_path(media_dir, photo_id).unlink(missing_ok=True)
        total += len(rows)
        if len(rows) < BATCH:
            return total


def prune_exports(
    engine: Engine, export_dir: str | Path, retention_days: float, *,
    scratch_grace_seconds: float = Retention.scratch_grace_seconds,
) -> int:
    """Delete exports finished more than ``retention_days`` ago, with their packs.

    Also removes pack directories whose row is gone and scratch directories older
    than ``scratch_grace_seconds``. Returns how many export rows were deleted.
    """
    total = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                text(
                    "DELETE FROM evidence_exports WHERE id IN ("
                    "SELECT id FROM evidence_exports WHERE status IN ('succeeded', 'failed') "
                    "AND coalesce(finished_at, created_at) < now() - make_interval(days => :d) "
                    "ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED) RETURNING id"
                ),
                {"d": retention_days, "n": BATCH},
            ).all()
        total += len(rows)
        if len(rows) < BATCH:
            break
    _sweep_export_dir(engine, Path(export_dir), scratch_grace_seconds)
    return total


def _sweep_export_dir(engine: Engine, root: Path, scratch_grace_seconds: float) -> None:
    """Remove pack directories without a row and abandoned scratch directories."""
    if not root.is_dir():
        return
    with engine.connect() as conn:
        # Ids handed out after this point belong to exports newer than the listing.
        issued = conn.execute(text("SELECT last_value FROM evidence_exports_id_seq")).scalar_one()
        known = {int(i) for i in conn.execute(text("SELECT id FROM evidence_exports")).scalars()}
    cutoff = time.time() - scratch_grace_seconds
    for entry in root.iterdir():
        if not entry.is_dir() or entry.is_symlink():
            continue
        pack = _PACK_DIR.match(entry.name)
        if (pack and int(pack.group(1)) <= issued and int(pack.group(1)) not in known) or (
            _SCRATCH_DIR.match(entry.name) and entry.stat().st_mtime < cutoff
        ):
            shutil.rmtree(entry, ignore_errors=True)


def prune_idempotency_records(engine: Engine) -> int:
    """Delete every expired idempotency record, in batches; returns how many."""
    total = 0
    while True:
        with engine.begin() as conn:
            deleted = idempotency.prune_expired(conn, limit=BATCH)
        total += deleted
        if deleted < BATCH:
            return total


_PRUNABLE_RUNS = """
SELECT r.id FROM hotspot_runs r
WHERE r.status IN ('succeeded', 'failed')
  AND coalesce(r.finished_at, r.created_at) < now() - make_interval(days => :d)
  AND NOT EXISTS (SELECT 1 FROM evidence_exports e WHERE e.params->>'run_id' = r.id::text)
  AND r.id IS DISTINCT FROM (SELECT id FROM hotspot_runs WHERE status = 'succeeded'
                             ORDER BY finished_at DESC, id DESC LIMIT 1)
  AND (r.status = 'failed' OR EXISTS (
        SELECT 1 FROM hotspot_runs n WHERE n.status = 'succeeded' AND n.params = r.params
        AND (n.finished_at, n.id) > (r.finished_at, r.id)))
ORDER BY r.id LIMIT :n FOR UPDATE OF r SKIP LOCKED
"""


def prune_runs(engine: Engine, retention_days: float) -> int:
    """Delete runs (cells and areas cascade) finished more than ``retention_days`` ago.

    Kept whatever their age: the latest succeeded run, the newest succeeded run
    of each parameter set, and runs an evidence export cites. Returns how many
    runs were deleted.
    """
    total = 0
    while True:
        with engine.begin() as conn:
            ids = conn.execute(
                text(f"DELETE FROM hotspot_runs WHERE id IN ({_PRUNABLE_RUNS}) RETURNING id"),
                {"d": retention_days, "n": RUN_BATCH},
            ).all()
        total += len(ids)
        if len(ids) < RUN_BATCH:
            return total


def run_all(
    engine: Engine, *, media_dir: str | Path, export_dir: str | Path, retention: Retention
) -> dict[str, int]:
    """Every task above, in order; returns how many things each deleted.

    A failing task does not stop the others; the first error is raised at the
    end, so the job is recorded as failed and the next pass tries again.
    """
    tasks = {
        "photos": lambda: prune_unlinked_photos(engine, media_dir, retention.photo_grace_hours),
        "exports": lambda: prune_exports(engine, export_dir, retention.export_retention_days,
                                         scratch_grace_seconds=retention.scratch_grace_seconds),
        "idempotency_records": lambda: prune_idempotency_records(engine),
        "runs": lambda: prune_runs(engine, retention.run_retention_days),
    }
    counts: dict[str, int] = {}
    first_error: Exception | None = None
    for name, task in tasks.items():
        try:
            counts[name] = task()
        except Exception as exc:  # noqa: BLE001 - finish the other tasks, then raise
            counts[name] = -1
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return counts

