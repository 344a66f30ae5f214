"""The outbox relay: every row becomes exactly one RQ job; a Redis outage loses nothing."""

from __future__ import annotations

import importlib
import time
import uuid

import pytest
from redis import Redis
from rq import Queue
from rq.job import JOB_ID_PATTERN, Job
from sqlalchemy import text

from geo import outbox
from workers.queues import JOBS, QUEUE_NAMES, enqueue, rq_job_id
from workers.relay import RelayThread, pending, relay_all, relay_once

pytestmark = pytest.mark.usefixtures("empty_outbox")

DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _add(engine, n: int = 3, job: str = "reports_changed") -> list[str]:
    """Queue ``n`` messages in one committed transaction; returns their job ids."""
    ids = [f"test-{job}:{uuid.uuid4()}" for _ in range(n)]
    with engine.begin() as conn:
        for job_id in ids:
            outbox.add(conn, "analysis", job, {"services": ["pothole"]}, job_id=job_id)
    return ids


def _rows(engine, job_ids: list[str]) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(
                text("SELECT job_id, dispatched_at IS NOT NULL, attempts FROM outbox "
                     "WHERE job_id = ANY(:ids) ORDER BY id"),
                {"ids": job_ids},
            )
        ]


def test_each_row_becomes_one_job_however_often_the_relay_runs(engine, rq_redis):
    job_ids = _add(engine, 3)

    assert relay_once(engine, rq_redis) == 3
    assert relay_once(engine, rq_redis) == 0

    queue = Queue("analysis", connection=rq_redis)
    assert sorted(queue.job_ids) == sorted(rq_job_id(j) for j in job_ids)
    assert _rows(engine, job_ids) == [(j, True, 1) for j in job_ids]
    job = Job.fetch(rq_job_id(job_ids[0]), connection=rq_redis)
    assert job.func_name == JOBS["reports_changed"].func
    assert job.kwargs == {"services": ["pothole"]}
    assert (job.timeout, job.failure_ttl) == (JOBS["reports_changed"].timeout,
                                              JOBS["reports_changed"].failure_ttl)


def test_a_row_relayed_again_after_a_crash_is_still_one_job(engine, rq_redis):
    [job_id] = _add(engine, 1)
    relay_once(engine, rq_redis)
    # The process died after enqueuing and before its commit: the row looks pending.
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET dispatched_at = NULL WHERE job_id = :j"),
                     {"j": job_id})

    assert relay_once(engine, rq_redis) == 1  # recognised, and marked dispatched
    assert Queue("analysis", connection=rq_redis).job_ids == [rq_job_id(job_id)]
    assert _rows(engine, [job_id]) == [(job_id, True, 2)]


def test_enqueue_refuses_an_existing_job_id(rq_redis):
    assert enqueue(rq_redis, "reports_changed", {"services": []}, "same:1") is True
    assert enqueue(rq_redis, "reports_changed", {"services": []}, "same:1") is False
    assert Queue("analysis", connection=rq_redis).count == 1


def test_rows_wait_while_redis_is_down_and_go_once_it_is_back(engine, rq_redis):
    job_ids = _add(engine, 2)
    down = Redis.from_url(DOWN, socket_connect_timeout=1)

    assert relay_once(engine, down) == 0
    assert relay_once(engine, down) == 0
    assert _rows(engine, job_ids) == [(j, False, 2) for j in job_ids]
    assert pending(engine) == 2

    assert relay_all(engine, rq_redis) == 2
    assert _rows(engine, job_ids) == [(j, True, 3) for j in job_ids]
    assert Queue("analysis", connection=rq_redis).count == 2


def test_rows_locked_by_another_relay_are_skipped_not_waited_for(engine, rq_redis):
    first, second = _add(engine, 2)
    with engine.connect() as other:
        other.execute(text("SELECT id FROM outbox WHERE job_id = :j FOR UPDATE"), {"j": first})
        started = time.monotonic()
        assert relay_once(engine, rq_redis) == 1
        assert time.monotonic() - started < 2
        other.rollback()
    assert _rows(engine, [first, second]) == [(first, False, 0), (second, True, 1)]
    assert relay_once(engine, rq_redis) == 1


def test_unknown_jobs_wait_for_a_worker_that_knows_them(engine, rq_redis):
    [job_id] = _add(engine, 1, job="from_a_newer_release")
    try:
        assert relay_all(engine, rq_redis) == 0
        assert pending(engine) == 0  # not counted as work this worker could do
        assert _rows(engine, [job_id]) == [(job_id, False, 0)]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM outbox WHERE job_id = :j"), {"j": job_id})


def test_relay_thread_relays_until_stopped(engine, rq_redis):
    thread = RelayThread(engine, rq_redis, interval=0.05)
    thread.start()
    try:
        job_ids = _add(engine, 2)
        deadline = time.monotonic() + 5
        while pending(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        thread.stop()
    assert not thread.is_alive()
    assert _rows(engine, job_ids) == [(j, True, 1) for j in job_ids]


@pytest.mark.parametrize(
    "job_id", ["thumbnail:6f1c0000-0000-0000-0000-000000000000", "reports-changed:42", "a_b", "é"]
)
def test_rq_job_ids_are_valid_and_distinct(job_id):
    assert JOB_ID_PATTERN.fullmatch(rq_job_id(job_id))
    others = {"a:b", "a_b", "a_3ab", "a-b", "ab", "e"}
    assert rq_job_id(job_id) not in {rq_job_id(o) for o in others - {job_id}}


@pytest.mark.parametrize("name", sorted(JOBS))
def test_every_job_is_declared_completely(name):
    spec = JOBS[name]
    module, _, func = spec.func.rpartition(".")
    assert callable(getattr(importlib.import_module(module), func))
    assert spec.queue in QUEUE_NAMES
    assert spec.timeout > 0 and spec.failure_ttl > 0 and spec.result_ttl > 0
