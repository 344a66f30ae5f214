"""The per-cell-day aggregate that hotspot runs read instead of the raw reports.

``report_cell_days`` holds, per service, resolution-9 cell and (UTC) day, the raw
report count, the incidents (one per reporter per cell per day, so a phone
re-submitting the same flood ten times counts once) and the distinct reporters
plus confirmations. It is derived state: :func:`refresh` rebuilds the
(service, day) groups whose reports changed since the last refresh, found by the
server-set ``reports.changed_at``; ``full=True`` rebuilds everything.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, text

from geo.h3cells import parent_sql
from geo.hotspot_schema import AGGREGATE_RESOLUTION

#: Transactions that started before a refresh may commit after it; looking this
#: far back re-aggregates a few groups twice but never misses one.
LOOKBACK = dt.timedelta(minutes=10)

_CELL = parent_sql("r.h3_cell", AGGREGATE_RESOLUTION)

_GROUPS = f"""
    SELECT r.service_code, {_CELL} AS cell, (r.requested_at AT TIME ZONE 'UTC')::date AS day,
           count(*) AS reports,
           count(DISTINCT coalesce(encode(r.device_hash, 'hex'), r.id::text)) AS incidents,
           count(DISTINCT coalesce(encode(r.device_hash, 'hex'), r.id::text))
               + sum(r.confirmations) AS reporters
    FROM reports r
    WHERE r.h3_cell IS NOT NULL AND r.status <> 'duplicate' {{where}}
    GROUP BY 1, 2, 3
"""


def refresh(conn: Connection, *, full: bool = False) -> int:
    """Bring ``report_cell_days`` up to date; returns the number of rows written.

    Runs in the caller's transaction. Concurrent refreshes serialise on an
    advisory lock, so two workers never rebuild the same groups at once.

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     refresh(conn)
    """
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('report_cell_days'))"))
    started = conn.execute(text("SELECT now()")).scalar_one()
    last = conn.execute(
        text("SELECT refreshed_at FROM aggregate_state WHERE name = 'report_cell_days'")
    ).scalar()
    if full or last is None:
        conn.execute(text("TRUNCATE report_cell_days"))
        written = conn.execute(
            text(f"INSERT INTO report_cell_days {_GROUPS.format(where='')}")
        ).rowcount
    else:
        conn.execute(
            text(
                "CREATE TEMP TABLE touched ON COMMIT DROP AS "
                "SELECT DISTINCT service_code, (requested_at AT TIME ZONE 'UTC')::date AS day "
                "FROM reports WHERE changed_at >= :since"
            ),
            {"since": last - LOOKBACK},
        )
        conn.execute(
            text(
                "DELETE FROM report_cell_days d USING touched t "
                "WHERE d.service_code = t.service_code AND d.day = t.day"
            )
        )
        where = (
            "AND (r.service_code, (r.requested_at AT TIME ZONE 'UTC')::date) IN "
            "(SELECT service_code, day FROM touched)"
        )
        written = conn.execute(
            text(f"INSERT INTO report_cell_days {_GROUPS.format(where=where)}")
        ).rowcount
        conn.execute(text("DROP TABLE touched"))
    conn.execute(
        text(
            "INSERT INTO aggregate_state (name, refreshed_at) VALUES ('report_cell_days', :t) "
            "ON CONFLICT (name) DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at"
        ),
        {"t": started},
    )
    return written
