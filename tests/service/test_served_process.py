"""The real processes with default settings: photos are served, every log line is JSON.

``civicpulse serve`` runs gunicorn in a temporary working directory with
``CIVICPULSE_MEDIA_DIR`` unset, as ``make demo`` and a newcomer do. A relative default
directory was once resolved against the ``service/`` package by Flask's ``send_file``, so
every photo URL answered 500 while the in-process tests (absolute directories) passed.

Log shippers read one JSON object per line: the server's (gunicorn's own lines and the
access log), the worker's (RQ's lines, the jobs', the relay inside it) and the relay's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis
from sqlalchemy import text

from tests.conftest import SECRET
from tests.live_processes import Served, operator_env, run_cli, running, served, wait_for
from tests.photo_samples import png
from tests.service.api.reports_support import report


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The processes' working directory: the default ``./var/media`` lands in here."""
    return tmp_path_factory.mktemp("operator")


@pytest.fixture(scope="module")
def env(database_url: str, redis_url: str, services_loaded: object) -> dict[str, str]:
    """What an operator sets: the database, Redis and the secret; nothing else."""
    return operator_env(database_url, redis_url, SECRET)


@pytest.fixture(scope="module")
def server(env: dict[str, str], workdir: Path) -> Iterator[Served]:
    """gunicorn via ``civicpulse serve``, for this module."""
    with served(env, workdir) as running:
        yield running


@pytest.fixture(scope="module")
def quiet_queues(engine, redis_url: str) -> None:
    """Earlier test modules' pending jobs are not this module's: set them aside."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET dispatched_at = now() WHERE dispatched_at IS NULL"))
    conn = Redis.from_url(redis_url)
    keys = list(conn.scan_iter("rq:*"))
    if keys:
        conn.delete(*keys)


@pytest.fixture(scope="module")
def photographed(server: Served, api_keys, env, workdir, quiet_queues) -> dict[str, str]:
    """A public report with a photo, its thumbnail made by a burst worker."""
    auth = api_keys.headers("app")
    up = httpx.post(f"{server.base}/api/v1/photos", headers=auth,
                    files={"file": ("flood.png", png((640, 480)), "image/png")})
    assert up.status_code == 201, up.text
    photo = up.json()
    made = httpx.post(f"{server.base}/api/v1/reports", headers=auth,
                      json=report("pothole", photos=[photo["id"]]))
    assert made.status_code == 201, made.text
    worker = run_cli(["worker", "--burst"], env, workdir)
    assert worker.returncode == 0, worker.stderr
    return {"photo": photo["id"], "url": photo["url"], "thumbnail_url": photo["thumbnail_url"],
            "service_request_id": made.json()["service_request_id"],
            "worker_stderr": worker.stderr, "worker_stdout": worker.stdout}


def test_the_default_media_dir_is_under_the_working_directory(photographed, workdir):
    stored = list((workdir / "var" / "media").rglob(f"{photographed['photo']}.*"))
    assert sorted(p.name.split(".", 1)[1] for p in stored) == ["png", "thumb.jpg"]


def test_photo_and_thumbnail_are_served(server, photographed):
    photo = httpx.get(server.base + photographed["url"])
    assert photo.status_code == 200, photo.text
    assert photo.headers["content-type"] == "image/png"
    assert photo.content.startswith(b"\x89PNG")
    thumb = httpx.get(server.base + photographed["thumbnail_url"])
    assert thumb.status_code == 200, thumb.text
    assert thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content.startswith(b"\xff\xd8")


def test_open311_media_url_serves_the_photo(server, photographed):
    found = httpx.get(
        f"{server.base}/open311/v2/requests/{photographed['service_request_id']}.json")
    assert found.status_code == 200, found.text
    media_url = found.json()[0]["media_url"]
    assert media_url.endswith(f"/api/v1/photos/{photographed['photo']}")
    image = httpx.get(media_url if media_url.startswith("http") else server.base + media_url)
    assert image.status_code == 200, image.text
    assert image.content.startswith(b"\x89PNG")


def _json_lines(lines: list[str]) -> list[dict]:
    """Every line parsed as a JSON object; fails naming the first line that is not one."""
    out = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
        assert isinstance(record, dict) and {"ts", "level", "logger", "msg"} <= set(record), line
        out.append(record)
    return out


def _upload(server: Served, api_keys) -> str:
    up = httpx.post(f"{server.base}/api/v1/photos", headers=api_keys.headers("app"),
                    files={"file": ("drain.png", png((64, 64)), "image/png")})
    assert up.status_code == 201, up.text
    return up.json()["id"]


def _outbox_dispatched(engine, photo_id: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT dispatched_at IS NOT NULL FROM outbox "
            "WHERE job = 'make_thumbnail' AND args::text LIKE :p"),
            {"p": f"%{photo_id}%"}).scalar())


def _thumbnail_ready(engine, photo_id: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT thumbnail_ready FROM photos WHERE id = :id"),
                                 {"id": photo_id}).scalar())


def test_server_lines_are_json_with_an_access_line_per_request(server, photographed):
    records = _json_lines(server.lines())
    loggers = {r["logger"] for r in records}
    assert "gunicorn.error" in loggers  # "Starting gunicorn", "Booting worker"
    access = [r for r in records if r["logger"] == "civicpulse.access"
              and r.get("path") == photographed["url"]]
    assert access and access[0]["status"] == 200 and access[0]["method"] == "GET"
    assert access[0]["request_id"] and access[0]["duration_ms"] >= 0


def test_burst_worker_logs_json_and_prints_its_summary(photographed):
    records = _json_lines(photographed["worker_stderr"].splitlines())
    loggers = {r["logger"] for r in records}
    assert {"rq.worker", "civicpulse.jobs"} <= loggers
    assert any("thumbnail" in r["msg"] and r.get("job_id") for r in records)
    # The command's result, for the person who ran it, stays a sentence on stdout.
    assert photographed["worker_stdout"].startswith("outbox and queues drained in ")


def test_running_worker_and_its_relay_log_json(server, api_keys, env, workdir, engine):
    with running(["worker"], env, workdir, "worker.log") as worker:
        photo = _upload(server, api_keys)
        wait_for(lambda: _thumbnail_ready(engine, photo), "thumbnail made by the worker")
    assert worker.proc.returncode is not None
    records = _json_lines(worker.lines())
    msgs = [(r["logger"], r["msg"]) for r in records]
    assert ("civicpulse.relay", "outbox relay started, a pass every 1.0 s") in msgs
    assert ("civicpulse.relay", "relayed 1 job(s) to RQ") in msgs
    assert ("civicpulse.relay", "outbox relay stopped") in msgs
    assert any(logger == "rq.worker" for logger, _ in msgs)
    assert any(logger == "civicpulse.jobs" and photo in msg for logger, msg in msgs)


def test_running_relay_logs_json(server, api_keys, env, workdir, engine, redis_url):
    with running(["relay", "--interval", "0.2"], env, workdir, "relay.log") as relay:
        photo = _upload(server, api_keys)
        wait_for(lambda: _outbox_dispatched(engine, photo), "outbox row relayed")
    assert relay.proc.returncode == 0, relay.lines()
    msgs = [(r["logger"], r["msg"]) for r in _json_lines(relay.lines())]
    assert msgs[0] == ("civicpulse.relay", "outbox relay started, a pass every 0.2 s")
    assert ("civicpulse.relay", "relayed 1 job(s) to RQ") in msgs
    assert msgs[-1] == ("civicpulse.relay", "outbox relay stopped")
    # The thumbnail job it queued is left for no one: later modules start from empty queues.
    conn = Redis.from_url(redis_url)
    keys = list(conn.scan_iter("rq:*"))
    if keys:
        conn.delete(*keys)
