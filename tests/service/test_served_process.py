"""The real server process with default settings: photos are served, logs are JSON.

``civicpulse serve`` runs gunicorn in a temporary working directory with
``CIVICPULSE_MEDIA_DIR`` unset, as ``make demo`` and a newcomer do. A relative default
directory was once resolved against the ``service/`` package by Flask's ``send_file``, so
every photo URL answered 500 while the in-process tests (absolute directories) passed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis
from sqlalchemy import text

from tests.conftest import SECRET
from tests.live_processes import Served, operator_env, run_cli, served
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
