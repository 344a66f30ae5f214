"""The per-cell-day aggregate that hotspot runs read instead of the raw reports.

``report_cell_days`` holds, per service, resolution-9 cell and (UTC) day, the raw
report count, the incidents (one per reporter per cell per day, so a phone
re-submitting the same flood ten times counts once) and the distinct reporters:
the people behind the reports and their confirmations, a device once however
often it reported or confirmed (:func:`geo.privacy.reporter_identity_sql`). It is
derived state: :func:`refresh` rebuilds the (service, day) groups whose reports
changed since the last refresh, found by the transaction that wrote them
(``reports.changed_xact``, set by the server); ``full=True`` rebuilds everything.
A refresh with nothing new is one index probe, so a hotspot run after a bulk
import pays for the import once, not on every run.

``report_cell_weeks`` sums those days per ISO week (weeks start on Mondays) for
week-binned runs; the same refresh rebuilds the (service, week) groups holding
a rebuilt day, so both tables always describe the same reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Connection, text

from geo.h3cells import parent_sql
from geo.hotspots.schema import AGGREGATE_RESOLUTION
from geo.privacy import reporter_identity_sql

#: Rows written before ``changed_xact`` existed carry none; for them the old clock
#: rule applies once: transactions that started before a refresh may commit after
#: it, so look this far back.
LOOKBACK = dt.timedelta(minutes=10)

# Transactions older than the oldest one still running in this database when a
# refresh begins have all ended, so that refresh saw every row they committed
# (in READ COMMITTED each of its statements sees at least as much). Anything it may
# have missed was written by that transaction or a later one: the next refresh
# starts there. Only this database's writers matter: the snapshot's xmin is
# cluster-wide, and a long transaction in another database must not hold the
# horizon back. Running xids (64-bit, from the snapshot) are matched by their low
# 32 bits to pg_stat_activity's backend_xid, which PostgreSQL shows for sessions
# of the same role (CivicPulse's processes share one) or to pg_read_all_stats.
_HORIZON = """
    SELECT coalesce(
        (SELECT x FROM pg_snapshot_xip(s.snap) AS x
         WHERE (x::text::numeric % 4294967296)::bigint IN (
             SELECT a.backend_xid::text::bigint FROM pg_stat_activity a
             WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL)
         ORDER BY x LIMIT 1),
        pg_snapshot_xmax(s.snap))
    FROM (SELECT pg_current_snapshot() AS snap) s
"""

#: Up to this many changed (service, day) groups are re-read through the index,
#: one requested_at range each (~2 ms a group at 1M reports); more are re-read in
#: one pass over all reports (~0.3 s).
INDEXED_GROUPS = 100

_CELL = parent_sql("r.h3_cell", AGGREGATE_RESOLUTION)

#: The people behind report ``r``, one row each (``who.id``): its filer
#: (``who.filer``) and whoever confirmed it, by the one definition of a reporter
#: (:func:`geo.privacy.reporter_identity_sql`). Counting distinct ``who.id`` counts a
#: reporter once however often it reported or confirmed. Most reports have no
#: confirmation; for them the guard spares the index probe.
PEOPLE_SQL = (
    f"CROSS JOIN LATERAL (SELECT {reporter_identity_sql('r')} AS id, true AS filer "
    f"UNION ALL SELECT {reporter_identity_sql('f')}, false FROM report_confirmations f "
    "WHERE r.confirmations > 0 AND f.report_id = r.id) who"
)

# A report is one filer row; its reporters are the distinct people of all rows.
GROUPS_SQL = f"""
    SELECT r.service_code, {_CELL} AS cell, (r.requested_at AT TIME ZONE 'UTC')::date AS day,
           count(*) FILTER (WHERE who.filer) AS reports,
           count(DISTINCT coalesce(encode(r.device_hash, 'hex'), r.id::text)) AS incidents,
           count(DISTINCT who.id) AS reporters
    FROM reports r {PEOPLE_SQL}
    WHERE r.h3_cell IS NOT NULL AND r.status <> 'duplicate' {{where}}
    GROUP BY 1, 2, 3
"""

#: The Monday starting ``day``'s ISO week.
_WEEK = "({day} - (EXTRACT(ISODOW FROM {day})::int - 1))"

# A week's reports, incidents and reporters are the sums of its days': every one
# of them is counted per (service, cell, day), never across days.
_WEEKS = f"""
    SELECT d.service_code, d.cell, {_WEEK.format(day="d.day")} AS week, sum(d.reports),
           sum(d.incidents), sum(d.reporters), max(d.reporters)
    FROM {{source}}
    GROUP BY 1, 2, 3
"""


def _quiet(_step: str) -> None:
    return None


def refresh(conn: Connection, *, full: bool = False,
            progress: Callable[[str], None] = _quiet) -> int:
    """Bring ``report_cell_days`` and its weeks up to date; returns the day rows written.

    Runs in the caller's transaction. Concurrent refreshes serialise on an
    advisory lock, so two workers never rebuild the same groups at once.
    ``progress`` is called with each step done: ``"locked"`` (the wait behind
    another refresh is over), ``"days"`` and ``"weeks"`` (those tables rebuilt).

    Example, on a database connection (not run as a doctest)::

        with engine.begin() as conn:
            refresh(conn)
    """
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('report_cell_days'))"))
    progress("locked")
    started, horizon = conn.execute(text(f"SELECT now(), ({_HORIZON})")).one()
    state = conn.execute(
        text("SELECT refreshed_at, horizon FROM aggregate_state "
             "WHERE name = 'report_cell_days'")
    ).one_or_none()
    if full or state is None:
        conn.execute(text("TRUNCATE report_cell_days"))
        # Stored in day order, as incremental refreshes append today's groups: a
        # run's hash of (week, cell) groups then stays in cache (0.25 → 0.18 s at
        # 1M reports, against rows in hash order).
        written = conn.execute(
            text(f"INSERT INTO report_cell_days {GROUPS_SQL.format(where='')} ORDER BY 3, 2")
        ).rowcount
        # A rebuilt table has no statistics until autovacuum comes by (never, where it
        # is off): the planner then took 5 rows per service and sorted runs' reads on disk.
        conn.execute(text("ANALYZE report_cell_days"))
        progress("days")
        conn.execute(text("TRUNCATE report_cell_weeks"))
        conn.execute(text(
            f"INSERT INTO report_cell_weeks {_WEEKS.format(source='report_cell_days d')} "
            "ORDER BY 3, 2"
        ))
        conn.execute(text("ANALYZE report_cell_weeks"))
    else:
        last_at, last_horizon = state
        written = _refresh_changed(conn, last_horizon, last_at - LOOKBACK, progress)
    progress("weeks")
    conn.execute(
        text(
            "INSERT INTO aggregate_state (name, refreshed_at, horizon) "
            "VALUES ('report_cell_days', :t, CAST(:h AS xid8)) ON CONFLICT (name) "
            "DO UPDATE SET refreshed_at = EXCLUDED.refreshed_at, horizon = EXCLUDED.horizon"
        ),
        {"t": started, "h": str(horizon)},
    )
    return written


def _refresh_changed(conn: Connection, horizon: int | None, since: dt.datetime,
                     progress: Callable[[str], None]) -> int:
    """Rebuild the (service, day) groups holding reports written at or after ``horizon``.

    Without a horizon (the first refresh after the migration that added it), rows
    changed since ``since`` by the clock count as well.
    """
    changed = "changed_xact >= CAST(:horizon AS xid8)"
    if horizon is None:
        changed = "(changed_xact IS NOT NULL OR changed_at >= :since)"
    params = {"horizon": str(horizon), "since": since}
    # Every hotspot run and export refreshes first; usually nothing changed, and
    # this one index probe then spares the temporary table and four statements.
    if not conn.execute(
        text(f"SELECT EXISTS (SELECT 1 FROM reports WHERE {changed})"), params
    ).scalar():
        progress("days")
        return 0
    groups = conn.execute(
        text(
            "CREATE TEMP TABLE touched ON COMMIT DROP AS "
            "SELECT DISTINCT service_code, (requested_at AT TIME ZONE 'UTC')::date AS day "
            f"FROM reports WHERE {changed}"
        ),
        params,
    ).rowcount
    # Statistics for the plans below, and no JIT: compiling (~25 ms) costs more
    # than it saves on a few thousand reports.
    conn.execute(text("ANALYZE touched"))
    conn.execute(text("SET LOCAL jit = off"))
    # One pass per service: with (service, day) pairs the planner probed the
    # primary key (service_code, cell, day) once per pair, each probe reading the
    # service's whole range (22 ms each, 0.8 s for six days of six services).
    conn.execute(
        text(
            "DELETE FROM report_cell_days d USING (SELECT service_code, array_agg(day) AS days "
            "FROM touched GROUP BY service_code) t "
            "WHERE d.service_code = t.service_code AND d.day = ANY(t.days)"
        )
    )
    if groups <= INDEXED_GROUPS:
        # Usually today's groups: one (service_code, requested_at) index range each.
        # The planner cannot tell how narrow a range computed per group is and read
        # every report instead (0.25-0.6 s at 1M reports for 500 new ones);
        # OFFSET 0 keeps the subquery a per-group index scan (13 ms).
        source = (
            "touched t CROSS JOIN LATERAL (SELECT * FROM reports r "
            "WHERE r.service_code = t.service_code "
            "AND r.requested_at >= (t.day::timestamp AT TIME ZONE 'UTC') "
            "AND r.requested_at < ((t.day + 1)::timestamp AT TIME ZONE 'UTC') OFFSET 0) r"
        )
    else:
        source = (
            "touched t JOIN reports r ON r.service_code = t.service_code "
            "AND (r.requested_at AT TIME ZONE 'UTC')::date = t.day"
        )
    rows = GROUPS_SQL.replace("FROM reports r", f"FROM {source}").format(where="")
    written = conn.execute(text(f"INSERT INTO report_cell_days {rows}")).rowcount
    progress("days")
    _refresh_weeks(conn)
    conn.execute(text("DROP TABLE touched"))
    return int(written)


def _refresh_weeks(conn: Connection) -> None:
    """Rebuild the (service, week) groups of the ``touched`` days from report_cell_days."""
    weeks = (
        f"(SELECT service_code, array_agg(DISTINCT {_WEEK.format(day='day')}) AS weeks "
        "FROM touched GROUP BY service_code) t"
    )
    conn.execute(
        text(
            f"DELETE FROM report_cell_weeks w USING {weeks} "
            "WHERE w.service_code = t.service_code AND w.week = ANY(t.weeks)"
        )
    )
    # One (service_code, day) index range of seven days per group; OFFSET 0 keeps
    # it so, as for the days above.
    source = (
        f"{weeks} CROSS JOIN LATERAL unnest(t.weeks) AS k(week) "
        "CROSS JOIN LATERAL (SELECT * FROM report_cell_days d "
        "WHERE d.service_code = t.service_code AND d.day >= k.week AND d.day < k.week + 7 "
        "OFFSET 0) d"
    )
    conn.execute(text(f"INSERT INTO report_cell_weeks {_WEEKS.format(source=source)}"))
