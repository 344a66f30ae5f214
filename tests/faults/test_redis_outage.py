"""Redis stopped while residents submit: every report is accepted, no job is lost.

A private ``redis-server`` (never the shared one) serves the app and a real
``civicpulse worker`` process. It is killed between two bursts of submissions and
started again empty, as a Redis without persistence comes back after a crash.
"""

from __future__ import annotations

import dataclasses
import io
import uuid

import pytest
from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import text

from service import create_app
from tests.faults.conftest import CIVICPULSE, cli_env, record_faults, wait_for
from tests.photo_samples import png
from tests.service.api.reports_support import report
from workers.queues import rq_job_id

pytestmark = pytest.mark.usefixtures("empty_outbox")


def _submit(client, api_keys, n: int, photos: list[str]) -> list[int]:
    """``n`` reports and one photo (its id added to ``photos``); every one must be a 201."""
    ids = []
    for _ in range(n):
        headers = api_keys.headers("app", **{"Idempotency-Key": str(uuid.uuid4())})
        resp = client.post("/api/v1/reports", json=report("pothole"), headers=headers)
        assert resp.status_code == 201, resp.get_json()
        ids.append(resp.get_json()["id"])
    photo = client.post("/api/v1/photos", data={"file": (io.BytesIO(png((300, 200))), "p.png")},
                        headers=api_keys.headers("app"))
    assert photo.status_code == 201, photo.get_json()
    photos.append(photo.get_json()["id"])
    return ids


def _outbox(engine, since_id: int) -> list[tuple[str, bool]]:
    """(job id, dispatched) of the outbox rows written after ``since_id`` that are due."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            text("SELECT job_id, dispatched_at IS NOT NULL FROM outbox "
                 "WHERE id > :since AND available_at <= now() ORDER BY id"),
            {"since": since_id},
        )]


def _finished(redis: Redis, job_ids: list[str]) -> bool:
    for job_id in job_ids:
        try:
            if Job.fetch(rq_job_id(job_id), connection=redis).get_status() != JobStatus.FINISHED:
                return False
        except NoSuchJobError:
            return False
    return True


def test_redis_outage_loses_no_report_and_no_job(
    engine, settings, services_loaded, api_keys, redis_server, processes
):
    app = create_app({"TESTING": True, "ACCESS_LOG": False},
                     settings=dataclasses.replace(settings, redis_url=redis_server.url))
    client = app.test_client()
    with engine.connect() as conn:
        start = conn.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar_one()
    worker = processes.start("worker", [*CIVICPULSE, "worker"],
                             cli_env(settings, REDIS_URL=redis_server.url))
    redis = Redis.from_url(redis_server.url)

    photos: list[str] = []
    before = _submit(client, api_keys, 3, photos)
    wait_for(lambda: (rows := _outbox(engine, start)) and all(d for _, d in rows)
             and _finished(redis, [j for j, _ in rows]), "the first burst's jobs")
    assert client.get("/readyz").get_json()["status"] == "ready"

    redis_server.stop()
    with engine.connect() as conn:
        cut = conn.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar_one()
    during = _submit(client, api_keys, 5, photos)
    ready = client.get("/readyz")
    assert ready.status_code == 200, "a Redis outage must not take the web tier out of service"
    assert ready.get_json()["status"] == "degraded"
    assert ready.get_json()["checks"]["redis"].startswith("error")
    # The relay inside the worker keeps trying; nothing can leave the outbox meanwhile.
    waiting = _outbox(engine, cut)
    assert waiting and not any(d for _, d in waiting)

    redis_server.start()  # empty: a Redis without persistence forgets everything
    redis = Redis.from_url(redis_server.url)
    rows = wait_for(lambda: (r := _outbox(engine, cut)) and all(d for _, d in r) and r,
                    "the outbox to drain after Redis came back")
    wait_for(lambda: _finished(redis, [j for j, _ in rows]), "every job of the outage to run")
    assert worker.poll() is None, "the worker must ride out the outage:\n" + processes.log("worker")
    assert client.get("/readyz").get_json()["status"] == "ready"

    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM reports WHERE id = ANY(:ids)"),
                              {"ids": before + during}).scalar_one()
        thumbnails = conn.execute(
            text("SELECT count(*) FROM photos WHERE thumbnail_ready AND id = ANY(:ids)"),
            {"ids": photos},
        ).scalar_one()
    assert stored == len(before + during)
    assert thumbnails == len(photos) == 2
    record_faults("redis_outage", faults_injected=1, reports_accepted=len(before + during),
                  reports_lost=len(before + during) - stored,
                  jobs_relayed_after_outage=len(rows))
