"""Housekeeping on RQ's scheduler: one run per slot however many workers ask; workers run it."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from click.testing import CliRunner
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import text

from geo.reports import photos
from geo.settings import ConfigError, Settings
from service.cli import main
from workers.housekeeping import HousekeepingWorker, schedule
from workers.queues import JOBS, QUEUE_NAMES

pytestmark = pytest.mark.usefixtures("empty_outbox", "job_context")

INTERVAL = 600


def test_each_slot_is_queued_once_however_many_workers_ask(rq_redis):
    now = time.time()
    slot = int(now // INTERVAL)
    first = schedule(rq_redis, INTERVAL, now=now)
    assert first == [f"housekeeping-{INTERVAL}-{slot}", f"housekeeping-{INTERVAL}-{slot + 1}"]
    assert schedule(rq_redis, INTERVAL, now=now) == []  # a second worker, same slot

    queue = Queue(JOBS["housekeeping"].queue, connection=rq_redis)
    assert queue.job_ids == [first[0]]
    scheduled = ScheduledJobRegistry(queue=queue)
    assert scheduled.get_job_ids() == [first[1]]
    when = scheduled.get_scheduled_time(first[1])
    assert when == dt.datetime.fromtimestamp((slot + 1) * INTERVAL, dt.UTC)
    job = Job.fetch(first[0], connection=rq_redis)
    # The id must outlive the slot, or a worker starting late in it would run it again.
    assert job.result_ttl >= 2 * INTERVAL


def _abandoned_photo(engine, settings) -> uuid.UUID:
    """An unlinked photo uploaded three days ago, with its file."""
    pid = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO photos (id, content_type, width, height, bytes, sha256, created_at) "
                 "VALUES (:id, 'image/png', 1, 1, 1, 'x', now() - interval '3 days')"),
            {"id": pid},
        )
    path = photos.media_path(settings.media_dir, pid, "png")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"png")
    return pid


def _photo_exists(engine, pid) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1 FROM photos WHERE id = :id"), {"id": pid}).first() \
            is not None


def test_a_worker_runs_the_scheduled_job_when_its_time_comes(engine, settings, rq_redis):
    pid = _abandoned_photo(engine, settings)
    # Two slots ago: this slot's job and the next slot's (already due) both exist.
    [now_job, next_job] = schedule(rq_redis, INTERVAL, now=time.time() - 2 * INTERVAL)
    queues = [Queue(name, connection=rq_redis) for name in QUEUE_NAMES]

    HousekeepingWorker(queues, connection=rq_redis).work(burst=True, with_scheduler=True)

    for job_id in (now_job, next_job):  # the scheduler moved the due one to the queue
        job = Job.fetch(job_id, connection=rq_redis)
        assert job.get_status() == JobStatus.FINISHED, job.latest_result()
    assert Job.fetch(now_job, connection=rq_redis).return_value()["pruned"]["photos"] == 1
    assert not _photo_exists(engine, pid)
    assert not photos.media_path(settings.media_dir, pid, "png").exists()


def test_cli_worker_runs_housekeeping_once_per_slot(engine, settings, rq_redis, worker_env):
    pid = _abandoned_photo(engine, settings)
    for _ in range(2):
        result = CliRunner().invoke(main, ["worker", "--burst"], env=worker_env)
        assert result.exit_code == 0, result.output
    assert not _photo_exists(engine, pid)
    finished = Queue("default", connection=rq_redis).finished_job_registry.get_job_ids()
    slot = int(time.time() // settings.housekeeping_interval_seconds)
    ours = [j for j in finished if j.startswith("housekeeping-")]
    # Usually one; two if the burst runs straddled a slot boundary.
    prefix = f"housekeeping-{settings.housekeeping_interval_seconds}-"
    assert ours and all(j.startswith(prefix) for j in ours)
    assert len(ours) <= 2 and f"{prefix}{slot}" in ours


@pytest.mark.parametrize("name", ["CIVICPULSE_PHOTO_GRACE_HOURS", "CIVICPULSE_RUN_RETENTION_DAYS",
                                  "CIVICPULSE_EXPORT_RETENTION_DAYS",
                                  "CIVICPULSE_HOUSEKEEPING_INTERVAL_SECONDS"])
@pytest.mark.parametrize("value", ["0", "soon"])
def test_retention_settings_are_checked_at_start(name, value):
    env = {"CIVICPULSE_ENV": "test", "DATABASE_URL": "postgresql://x/y",
           "REDIS_URL": "redis://x/0", name: value}
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(env)
