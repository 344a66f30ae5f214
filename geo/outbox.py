"""The transactional outbox: work for RQ written beside the data it is about.

The web service never talks to Redis to accept a report. It adds a row here in
the same transaction; the relay (``workers.relay``) later hands it to RQ with the
row's deterministic job id, so a message relayed twice is still one job.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text


def add(
    conn: Connection,
    queue: str,
    job: str,
    args: dict[str, Any],
    job_id: str,
    *,
    delay_seconds: float = 0,
) -> None:
    """Queue ``job(**args)`` on ``queue`` once this transaction commits (and the delay passed)."""
    conn.execute(
        text(
            "INSERT INTO outbox (queue, job, args, job_id, available_at) "
            "VALUES (:queue, :job, CAST(:args AS jsonb), :job_id, "
            "now() + make_interval(secs => :delay))"
        ),
        {"queue": queue, "job": job, "args": json.dumps(args), "job_id": job_id,
         "delay": delay_seconds},
    )


def signal_sql(codes: str) -> str:
    """SQL inserting a "reports changed" signal for the service codes ``codes`` (a text[]
    expression), unless one is already pending; used alone and inside intake's CTE.

    The job turns signals into at most one pending refresh, which reads whatever
    data is current when it runs, so one undispatched signal stands for all; its
    id only has to be unique per signal (the outbox row's own id).
    """
    return (
        "INSERT INTO outbox (id, queue, job, args, job_id) "
        "SELECT n.id, 'analysis', 'reports_changed', jsonb_build_object('services', s.codes), "
        "'reports-changed:' || n.id "
        f"FROM (SELECT {codes} AS codes) s, "
        "LATERAL (SELECT nextval(pg_get_serial_sequence('outbox', 'id')) AS id) n "
        "WHERE s.codes IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox o "
        "WHERE o.dispatched_at IS NULL AND o.job = 'reports_changed')"
    )


def signal_reports_changed(conn: Connection, services: list[str]) -> None:
    """Tell the analysis that reports of ``services`` changed, unless a signal is pending."""
    conn.execute(text(signal_sql("CAST(:services AS text[])")), {"services": services})
