"""Hotspot jobs through real Redis and RQ: run, redelivery, a failure mid-run, a lost worker."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from rq import Queue, SimpleWorker
from rq.job import Job
from sqlalchemy import text

from geo.hotspots.params import RunParams
from geo.hotspots.runs import create_run, latest_run_id, requeue_stale
from tests.cities import empty
from tests.cities.scatter import add_reports, scatter
from workers import context
from workers.hotspot_jobs import run_hotspots
from workers.queues import QUEUE_NAMES, enqueue
from workers.relay import relay_all

pytestmark = pytest.mark.usefixtures("empty_outbox", "job_context")


@pytest.fixture
def city(engine, services_loaded):
    """A small city with one cluster."""
    empty(engine)
    rng = np.random.default_rng(5)
    add_reports(engine, scatter(rng, 150))
    add_reports(engine, scatter(rng, 40, spread_m=100))
    return engine


def _work(rq_redis) -> None:
    queues = [Queue(name, connection=rq_redis) for name in QUEUE_NAMES]
    SimpleWorker(queues, connection=rq_redis).work(burst=True)


def _status(engine, run_id):
    with engine.connect() as conn:
        return conn.execute(text("SELECT status, progress FROM hotspot_runs WHERE id = :r"),
                            {"r": run_id}).one()


def _cells(engine, run_id):
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM hotspot_cells WHERE run_id = :r"),
                            {"r": run_id}).scalar_one()


def test_run_through_outbox_relay_and_worker(city, rq_redis):
    with city.begin() as conn:
        run_id = create_run(conn, RunParams())
    assert relay_all(city, rq_redis) >= 1
    _work(rq_redis)
    assert tuple(_status(city, run_id)) == ("succeeded", 100)
    job = Job.fetch(Queue("analysis", connection=rq_redis).finished_job_registry.get_job_ids()[0],
                    connection=rq_redis)
    assert job.meta["progress"] == 100


def test_duplicate_delivery_writes_the_result_once(city, rq_redis):
    with city.begin() as conn:
        run_id = create_run(conn, RunParams(), enqueue=False)
    for attempt in range(2):  # RQ is at-least-once: the same job arrives twice
        assert enqueue(rq_redis, "hotspot_run", {"run_id": run_id}, f"dup-{attempt}")
    _work(rq_redis)
    assert _status(city, run_id).status == "succeeded"
    with city.connect() as conn:
        cells = _cells(city, run_id)
        distinct = conn.execute(
            text("SELECT count(DISTINCT h3) FROM hotspot_cells WHERE run_id = :r"), {"r": run_id}
        ).scalar_one()
    assert cells == distinct > 0


def test_failure_mid_run_leaves_nothing_visible_and_retry_succeeds(city, rq_redis, monkeypatch):
    with city.begin() as conn:
        previous = create_run(conn, RunParams(), enqueue=False)
    run_hotspots(previous)
    with city.begin() as conn:
        run_id = create_run(conn, RunParams(), enqueue=False)

    import geo.hotspots.engine as engine_module

    def broken_publish(*args, **kwargs):
        raise RuntimeError("disk full while writing cells")

    monkeypatch.setattr(engine_module, "publish", broken_publish)
    with pytest.raises(RuntimeError):
        run_hotspots(run_id)
    status = _status(city, run_id)
    assert status.status == "failed"
    assert _cells(city, run_id) == 0
    with city.connect() as conn:
        assert latest_run_id(conn) == previous  # readers still see the last good run
    monkeypatch.undo()
    run_hotspots(run_id)  # the retry starts from scratch
    assert _status(city, run_id).status == "succeeded"


def test_run_whose_worker_vanished_is_requeued_and_finished(city, rq_redis):
    with city.begin() as conn:
        run_id = create_run(conn, RunParams(), enqueue=False)
        # The worker died after claiming the run: it is "running", an hour old.
        conn.execute(text("UPDATE hotspot_runs SET status = 'running', attempts = 1, "
                          "started_at = now() - interval '3 hours' WHERE id = :r"), {"r": run_id})
    with city.begin() as conn:
        assert requeue_stale(conn, 3600) == [run_id]
        assert requeue_stale(conn, 3600) == []
    assert relay_all(city, rq_redis) >= 1
    _work(rq_redis)
    assert tuple(_status(city, run_id)) == ("succeeded", 100)


def test_new_reports_lead_to_a_refreshed_layer(city, rq_redis, settings):
    context.install(dataclasses.replace(settings, refresh_debounce_seconds=0))
    with city.begin() as conn:
        conn.execute(text("DELETE FROM hotspot_runs WHERE status = 'queued'"))
    add_reports(city, scatter(np.random.default_rng(9), 5))  # writes a reports_changed signal
    for _ in range(3):  # signal → refresh run → published
        relay_all(city, rq_redis)
        _work(rq_redis)
    with city.connect() as conn:
        run = conn.execute(text("SELECT id, status, trigger FROM hotspot_runs "
                                "ORDER BY id DESC LIMIT 1")).one()
        assert (run.status, run.trigger) == ("succeeded", "refresh")
        assert latest_run_id(conn) == run.id
