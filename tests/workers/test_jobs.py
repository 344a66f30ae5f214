"""Jobs end to end: upload → outbox → relay → worker → thumbnail served; repeats are harmless."""

from __future__ import annotations

import io
import json
import logging

import pytest
from rq import Queue, SimpleWorker, Worker
from rq.job import Job, JobStatus
from sqlalchemy import text

from geo.reports import intake as reports
from geo.reports import photos
from geo.services import services_by_code
from service.cli import main
from service.observability import JsonFormatter
from tests.photo_samples import png, reopen
from workers import jobs
from workers.queues import QUEUE_NAMES, rq_job_id
from workers.relay import pending, relay_all

pytestmark = pytest.mark.usefixtures("empty_outbox", "job_context")


def _upload(client, api_keys, size=(1200, 800)) -> dict:
    resp = client.post("/api/v1/photos", data={"file": (io.BytesIO(png(size)), "p.png")},
                       headers=api_keys.headers("app"))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _work(rq_redis, worker_class=Worker) -> None:
    queues = [Queue(name, connection=rq_redis) for name in QUEUE_NAMES]
    worker_class(queues, connection=rq_redis).work(burst=True)


def _thumbnail_ready(engine, photo_id: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT thumbnail_ready FROM photos WHERE id = :id"),
                            {"id": photo_id}).scalar_one()


def test_uploaded_photo_gets_a_thumbnail(client, api_keys, engine, rq_redis):
    photo = _upload(client, api_keys)
    headers = api_keys.headers("app")
    assert client.get(photo["thumbnail_url"], headers=headers).status_code == 404

    assert relay_all(engine, rq_redis) == 1
    _work(rq_redis)  # forks a work-horse, as in production

    job = Job.fetch(rq_job_id(f"thumbnail:{photo['id']}"), connection=rq_redis)
    assert job.get_status() == JobStatus.FINISHED
    assert job.meta["progress"] == 100
    assert job.return_value() == {"photo_id": photo["id"], "width": 320, "height": 213}
    assert _thumbnail_ready(engine, photo["id"])
    resp = client.get(photo["thumbnail_url"], headers=headers)
    assert resp.status_code == 200
    assert resp.mimetype == "image/jpeg"
    assert reopen(resp.data).size == (320, 213)


def test_a_thumbnail_delivered_twice_is_one_file(client, api_keys, engine, rq_redis, settings):
    photo = _upload(client, api_keys, size=(300, 900))
    # At-least-once delivery: the same job body arrives twice under two deliveries.
    queue = Queue("default", connection=rq_redis)
    for _ in range(2):
        queue.enqueue_call("workers.jobs.make_thumbnail", kwargs={"photo_id": photo["id"]})
    _work(rq_redis)

    assert queue.finished_job_registry.count == 2
    assert queue.failed_job_registry.count == 0
    folder = photos.media_path(settings.media_dir, photo["id"], "png").parent
    mine = sorted(p.name for p in folder.iterdir() if p.name.startswith(photo["id"]))
    assert mine == [f"{photo['id']}.png", f"{photo['id']}.thumb.jpg"]
    first = (folder / mine[1]).read_bytes()
    assert jobs.make_thumbnail(photo["id"]) == {"photo_id": photo["id"], "width": 107,
                                                "height": 320}
    assert (folder / mine[1]).read_bytes() == first


@pytest.mark.parametrize("photo_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid"])
def test_thumbnail_for_a_missing_photo_logs_and_returns(rq_redis, photo_id):
    assert jobs.make_thumbnail(photo_id) is None
    queue = Queue("default", connection=rq_redis)
    job = queue.enqueue_call("workers.jobs.make_thumbnail", kwargs={"photo_id": photo_id})
    _work(rq_redis)
    assert job.get_status() == JobStatus.FINISHED


def test_jobs_log_json_with_their_job_id(client, api_keys, engine, rq_redis):
    photo = _upload(client, api_keys, size=(50, 50))
    relay_all(engine, rq_redis)
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    handler = Collect()
    logging.getLogger("civicpulse.jobs").addHandler(handler)
    try:
        _work(rq_redis, SimpleWorker)  # in-process, so the records reach this handler
    finally:
        logging.getLogger("civicpulse.jobs").removeHandler(handler)
    records = [json.loads(line) for line in lines]
    assert any(r.get("job_id") == rq_job_id(f"thumbnail:{photo['id']}")
               and photo["id"] in r["msg"] for r in records)


def test_reports_changed_queues_one_debounced_refresh(engine, services_loaded, rq_redis):
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM hotspot_runs WHERE status = 'queued'"))
        row = reports.prepare(
            reports.NewReport(service_code="pothole", lat=1.0, long=2.0),
            services_by_code(conn), secret="s",
        )
        reports.insert(conn, [row], secret="s")
    assert relay_all(engine, rq_redis) == 1
    [job_id] = Queue("analysis", connection=rq_redis).job_ids
    _work(rq_redis)
    job = Job.fetch(job_id, connection=rq_redis)
    first = job.return_value()
    assert first["services"] == ["pothole"] and isinstance(first["refresh_run_id"], int)
    assert job.meta["progress"] == 100
    # A second signal coalesces into the refresh already pending …
    assert jobs.reports_changed(["pothole", "pothole"]) == {
        "services": ["pothole"], "refresh_run_id": None,
    }
    # … whose job waits out the debounce before the relay hands it to RQ.
    with engine.connect() as conn:
        delay = conn.execute(
            text("SELECT extract(epoch FROM available_at - created_at) FROM outbox "
                 "WHERE job = 'hotspot_run' AND args->>'run_id' = :r"),
            {"r": str(first["refresh_run_id"])},
        ).scalar_one()
    assert delay >= 60
    assert pending(engine) == 0


def test_cli_worker_burst_drains_outbox_and_queues(client, api_keys, engine, rq_redis,
                                                   worker_env):
    from click.testing import CliRunner

    uploaded = [_upload(client, api_keys, size=(400, 400)) for _ in range(2)]
    assert pending(engine) == 2

    result = CliRunner().invoke(main, ["worker", "--burst"], env=worker_env)

    assert result.exit_code == 0, result.output
    assert "drained in 1 round(s); 0 job(s) failed" in result.output
    assert pending(engine) == 0
    assert all(Queue(n, connection=rq_redis).count == 0 for n in QUEUE_NAMES)
    assert all(_thumbnail_ready(engine, p["id"]) for p in uploaded)


def test_cli_relay_once(client, api_keys, engine, rq_redis, worker_env):
    from click.testing import CliRunner

    _upload(client, api_keys, size=(40, 40))
    down = CliRunner().invoke(main, ["relay", "--once"],
                              env={**worker_env, "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert down.exit_code == 1
    assert "1 pending" in down.output and "redis" in down.output.lower()

    up = CliRunner().invoke(main, ["relay", "--once"], env=worker_env)
    assert up.exit_code == 0, up.output
    assert "relayed 1 job(s); 0 pending" in up.output
    assert Queue("default", connection=rq_redis).count == 1
