"""The outbox relay: hand committed outbox rows to RQ, each exactly once.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so any number of relays (one per
worker, plus ``civicpulse relay``) share the work without waiting on each other.
Each row is enqueued under its deterministic job id with RQ's ``unique`` flag; a
row that is relayed again (the process died after enqueuing, before committing)
finds its job already there and is simply marked dispatched.

While Redis is down the rows stay pending with ``attempts`` counted, and go out
on the first pass after it is back; nothing is lost.
"""

from __future__ import annotations

import logging
import threading

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine, text

from workers.queues import JOBS, enqueue

log = logging.getLogger("civicpulse.relay")

_CLAIM = text(
    "SELECT id, job, args, job_id FROM outbox "
    "WHERE dispatched_at IS NULL AND available_at <= now() AND job = ANY(:jobs) "
    "ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
)


def relay_once(engine: Engine, redis_conn: Redis, limit: int = 500) -> int:
    """Enqueue up to ``limit`` pending outbox rows; returns how many went to RQ.

    Only jobs declared in :data:`workers.queues.JOBS` are claimed; rows naming
    another job wait for a worker that knows it.
    """
    with engine.begin() as conn:
        rows = conn.execute(_CLAIM, {"jobs": list(JOBS), "limit": limit}).all()
        sent: list[int] = []
        waiting: list[int] = []
        for i, row in enumerate(rows):
            try:
                if not enqueue(redis_conn, row.job, row.args, row.job_id):
                    log.info("job %s was already enqueued; marking it dispatched", row.job_id)
            except RedisError as exc:
                # Down, timing out or refusing writes (out of memory): every later row
                # would fail the same way, so they all wait for the next pass.
                waiting = [r.id for r in rows[i:]]
                log.warning("redis unreachable, %d outbox rows wait: %s", len(waiting), exc)
                break
            sent.append(row.id)
        if sent:
            conn.execute(
                text(
                    "UPDATE outbox SET dispatched_at = now(), attempts = attempts + 1 "
                    "WHERE id = ANY(:ids)"
                ),
                {"ids": sent},
            )
        if waiting:
            conn.execute(
                text("UPDATE outbox SET attempts = attempts + 1 WHERE id = ANY(:ids)"),
                {"ids": waiting},
            )
    return len(sent)


def relay_all(engine: Engine, redis_conn: Redis, limit: int = 500) -> int:
    """Relay until a pass moves fewer than ``limit`` rows; returns the total."""
    total = 0
    while True:
        moved = relay_once(engine, redis_conn, limit)
        total += moved
        if moved < limit:
            return total


def pending(engine: Engine) -> int:
    """Outbox rows of known jobs due now and not yet handed to RQ (debounced ones wait)."""
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM outbox WHERE dispatched_at IS NULL "
                 "AND available_at <= now() AND job = ANY(:jobs)"),
            {"jobs": list(JOBS)},
        ).scalar_one()


def relay_forever(
    engine: Engine, redis_conn: Redis, stop: threading.Event, interval: float = 1.0
) -> None:
    """Relay every ``interval`` seconds until ``stop`` is set; outages only delay it."""
    log.info("outbox relay started, a pass every %s s", interval, extra={"interval_s": interval})
    while not stop.is_set():
        try:
            moved = relay_all(engine, redis_conn)
        except Exception:  # noqa: BLE001 - e.g. the database restarting; try again shortly
            log.exception("outbox relay pass failed")
        else:
            if moved:
                log.info("relayed %d job(s) to RQ", moved, extra={"jobs": moved})
        stop.wait(interval)
    log.info("outbox relay stopped")


class RelayThread(threading.Thread):
    """:func:`relay_forever` beside a worker, until :meth:`stop`."""

    def __init__(self, engine: Engine, redis_conn: Redis, interval: float = 1.0) -> None:
        """Prepare the thread; call ``start()`` to run it."""
        super().__init__(name="outbox-relay", daemon=True)
        self.engine = engine
        self.redis_conn = redis_conn
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Relay until stopped."""
        relay_forever(self.engine, self.redis_conn, self._stop_event, self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its pass and wait for it."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)
