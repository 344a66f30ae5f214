"""Evidence export records: request, claim, progress, outcome.

The request writes the row and its outbox message in one transaction; the job
claims it, reports progress in it and records the outcome. Safe to run twice:
a succeeded export is left alone, anything else is rendered again from scratch.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from geo import outbox
from geo.access import audit
from geo.hotspots import aggregate

EXPORT_JOB = "render_export"
_COLUMNS = (
    "id, status, progress, params, created_at, started_at, finished_at, error, result_dir, "
    "files, requested_by_key_id"
)


def create(
    conn: Connection, params: dict[str, Any], *, requested_by: int | None, enqueue: bool = True,
    requested_by_user: int | None = None,
) -> int:
    """Record a queued export and, unless rendered by the caller, its job (sent after commit).

    The audit trail records who asked: ``requested_by_user`` (a person signed in),
    ``requested_by`` (a key id), or the command line.
    """
    export_id = conn.execute(
        text(
            "INSERT INTO evidence_exports (params, requested_by_key_id) "
            "VALUES (CAST(:p AS jsonb), :by) RETURNING id"
        ),
        {"p": json.dumps(params), "by": requested_by},
    ).scalar_one()
    if enqueue:
        outbox.add(
            conn, "exports", EXPORT_JOB, {"export_id": int(export_id)},
            job_id=f"evidence-export:{export_id}",
        )
    audit.record(conn, "export.requested", target_type="evidence_export", target_id=export_id,
                 actor_key_id=requested_by, actor_user_id=requested_by_user,
                 details={"run_id": params.get("run_id"), "services": params.get("services")})
    return int(export_id)


def get(conn: Connection, export_id: int) -> dict[str, Any] | None:
    """One export's record, or None."""
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM evidence_exports WHERE id = :id"), {"id": export_id}
    ).first()
    return dict(row._mapping) if row else None


def page(conn: Connection, *, limit: int = 20, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Exports newest first, and how many there are (exports are city-internal)."""
    rows = conn.execute(
        text(f"SELECT {_COLUMNS} FROM evidence_exports ORDER BY id DESC LIMIT :l OFFSET :o"),
        {"l": limit, "o": offset},
    )
    total = conn.execute(text("SELECT count(*) FROM evidence_exports")).scalar_one()
    return [dict(r._mapping) for r in rows], int(total)


def claim(conn: Connection, export_id: int) -> dict[str, Any] | None:
    """Mark the export running and return its parameters; None if done or gone."""
    row = conn.execute(
        text(
            "UPDATE evidence_exports SET status = 'running', progress = 0, error = NULL, "
            "started_at = now(), finished_at = NULL "
            "WHERE id = :id AND status <> 'succeeded' RETURNING params"
        ),
        {"id": export_id},
    ).first()
    return dict(row.params) if row else None


def set_progress(conn: Connection, export_id: int, percent: int) -> None:
    """Record progress (0–100) of a running export."""
    conn.execute(
        text("UPDATE evidence_exports SET progress = :p WHERE id = :id AND status = 'running'"),
        {"p": max(0, min(100, int(percent))), "id": export_id},
    )


def succeed(conn: Connection, export_id: int, result_dir: str, files: list[dict[str, Any]]) -> None:
    """Record where the finished pack is and what it holds."""
    conn.execute(
        text(
            "UPDATE evidence_exports SET status = 'succeeded', progress = 100, error = NULL, "
            "finished_at = now(), result_dir = :dir, files = CAST(:files AS jsonb) WHERE id = :id"
        ),
        {"dir": result_dir, "files": json.dumps(files), "id": export_id},
    )


def fail(conn: Connection, export_id: int, error: str) -> None:
    """Record why rendering failed (the message is shown to the requester)."""
    conn.execute(
        text(
            "UPDATE evidence_exports SET status = 'failed', finished_at = now(), error = :e "
            "WHERE id = :id AND status <> 'succeeded'"
        ),
        {"e": error[:2000], "id": export_id},
    )


def requeue_stale(conn: Connection, older_than_seconds: float) -> list[int]:
    """Send exports stuck in ``running`` (their worker died) back to the queue.

    The same sweep as :func:`geo.hotspots.runs.requeue_stale`: a worker killed
    mid-render leaves the row ``running`` and no job that will finish it. The new
    job id names the abandoned attempt's start, so RQ does not take it for the
    dead job, and two sweeps cannot both win the row.
    """
    rows = conn.execute(
        text(
            "UPDATE evidence_exports SET status = 'queued', progress = 0 "
            "WHERE status = 'running' AND started_at < now() - make_interval(secs => :s) "
            "RETURNING id, (extract(epoch FROM started_at) * 1000)::bigint AS started_ms"
        ),
        {"s": older_than_seconds},
    ).all()
    for export_id, started_ms in rows:
        outbox.add(conn, "exports", EXPORT_JOB, {"export_id": int(export_id)},
                   job_id=f"evidence-export:{export_id}:stale-{started_ms}")
    return [int(r[0]) for r in rows]


def result_zip(row: dict[str, Any]) -> Path | None:
    """The zip of a succeeded export, if its files are still on disk."""
    if row.get("status") != "succeeded" or not row.get("result_dir"):
        return None
    path = Path(row["result_dir"]) / zip_name(int(row["id"]))
    return path if path.is_file() else None


def zip_name(export_id: int) -> str:
    """The download's file name."""
    return f"civicpulse-evidence-{export_id}.zip"


def render(
    engine: Engine,
    export_id: int,
    export_dir: str | Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Claim, render and publish one export; returns its final status.

    The pack is written to a scratch directory next to its final place and moved
    there with one rename, and only then is the row marked succeeded, so a reader
    never sees half a pack. A second delivery of a succeeded export does nothing;
    any other re-run starts again from scratch. Failures are recorded and re-raised.
    """
    # Rendering pulls in matplotlib and ReportLab (~0.5 s); only the job needs them,
    # not every web process and CLI command that records or reads exports.
    from geo.evidence import pack

    with engine.begin() as conn:
        params = claim(conn, export_id)
    if params is None:
        return "succeeded" if _status(engine, export_id) == "succeeded" else "missing"

    def report(percent: int) -> None:
        with engine.begin() as conn:
            set_progress(conn, export_id, percent)
        if progress is not None:
            progress(percent)

    root = Path(export_dir).resolve()
    final = root / f"export-{export_id}"
    scratch = root / f".export-{export_id}.{uuid.uuid4().hex}"
    try:
        # The run read the aggregate as it was then; bring it up to date so the
        # pack's counts include every report of the period (incremental: cheap).
        with engine.begin() as conn:
            aggregate.refresh(conn)
        report(10)
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                files = pack.render(conn, params, scratch / "pack", export_id=export_id,
                                    generated_at=dt.datetime.now(dt.UTC), progress=report)
        pack.write_zip(scratch / "pack", scratch / zip_name(export_id))
        if final.exists():
            shutil.rmtree(final)  # an earlier, unfinished delivery's result
        os.replace(scratch, final)
        with engine.begin() as conn:
            succeed(conn, export_id, str(final), files)
    except Exception as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        with engine.begin() as conn:
            fail(conn, export_id, f"{type(exc).__name__}: {exc}")
        raise
    return "succeeded"


def _status(engine: Engine, export_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT status FROM evidence_exports WHERE id = :id"), {"id": export_id}
        ).scalar()
