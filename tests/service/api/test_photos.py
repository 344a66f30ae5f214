"""POST/GET /api/v1/photos: who may upload and read, what is refused, what is stored."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from geo.access import keys
from geo.reports import intake as reports
from geo.reports import photos
from geo.services import services_by_code
from tests.photo_samples import (
    gif,
    jpeg,
    metadata_left,
    png,
    png_header_only,
    reopen,
    webp,
)

SECRET = "test-secret-key-0123456789"
URL = "/api/v1/photos"


def _upload(client, api_keys, data: bytes, role="app", name="photo.jpg", ctype="image/jpeg"):
    return client.post(
        URL,
        data={"file": (io.BytesIO(data), name, ctype)},
        headers=api_keys.headers(role),
        content_type="multipart/form-data",
    )


def _created(client, api_keys, data: bytes | None = None, role="app") -> dict:
    resp = _upload(client, api_keys, data or png(), role)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _state(engine, settings) -> tuple[int, int, list[Path]]:
    """Photos rows, their outbox messages, and files on disk: all must stay put on refusal."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM photos")).scalar_one()
        messages = conn.execute(
            text("SELECT count(*) FROM outbox WHERE job = 'make_thumbnail'")).scalar_one()
    return rows, messages, sorted(Path(settings.media_dir).rglob("*"))


def _problem(resp, status: int, field: str) -> None:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status
    assert body["errors"][0]["field"] == field
    assert body["detail"].startswith(f"{field}:")


def _problem_404(resp) -> None:
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"


@pytest.mark.parametrize("role", ["app", "planner", "admin"])
def test_upload_roles(client, api_keys, role):
    assert _upload(client, api_keys, png(), role).status_code == 201


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("grant_writer", 403)])
def test_upload_refused_without_an_uploading_role(client, api_keys, engine, settings, role, status):
    before = _state(engine, settings)
    assert _upload(client, api_keys, png(), role).status_code == status
    assert _state(engine, settings) == before


def test_upload_with_unknown_key_is_401(client):
    resp = client.post(URL, data={"file": (io.BytesIO(png()), "a.png")},
                       headers={"Authorization": "Bearer cp_nope"})
    assert resp.status_code == 401


def test_phone_photo_suggests_location_and_is_served_stripped(client, api_keys, engine):
    sent = jpeg((64, 32), gps=(52.3731, 4.8922), orientation=6, icc=True)
    resp = _upload(client, api_keys, sent)

    assert resp.status_code == 201
    body = resp.get_json()
    assert body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"]) == (32, 64)  # orientation applied
    assert body["lat"] == pytest.approx(52.3731, abs=1e-5)
    assert body["long"] == pytest.approx(4.8922, abs=1e-5)
    assert resp.headers["Location"] == body["url"] == f"{URL}/{body['id']}"
    assert body["thumbnail_url"] == f"{URL}/{body['id']}/thumbnail"

    got = client.get(body["url"], headers=api_keys.headers("app"))
    assert got.status_code == 200
    assert got.mimetype == "image/jpeg"
    assert len(got.data) == body["bytes"]
    stored = reopen(got.data)
    assert metadata_left(stored) == []
    assert stored.size == (32, 64)
    assert b"Elm Street" not in got.data and b"secret-xmp" not in got.data
    with engine.connect() as conn:
        sha = conn.execute(text("SELECT sha256 FROM photos WHERE id = :id"),
                           {"id": body["id"]}).scalar_one()
    assert got.headers["ETag"] == f'"{sha}"'
    assert got.headers["Cache-Control"] == "private, max-age=3600"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    conditional = {**api_keys.headers("app"), "If-None-Match": f'"{sha}"'}
    assert client.get(body["url"], headers=conditional).status_code == 304


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(png(alpha=True), "image/png"), (webp(), "image/webp"), (jpeg(), "image/jpeg")],
)
def test_type_comes_from_the_bytes_not_the_name(client, api_keys, data, content_type):
    resp = _upload(client, api_keys, data, name="photo.jpg", ctype="image/jpeg")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["content_type"] == content_type
    assert "lat" not in body and "long" not in body  # no GPS in the image, no suggestion
    assert client.get(body["url"], headers=api_keys.headers("app")).mimetype == content_type


@pytest.mark.parametrize(
    ("data", "name", "status"),
    [
        (b"I am a text file, honest", "holiday.jpg", 415),
        (gif(), "anim.gif", 415),
        (jpeg()[:400], "cut.jpg", 422),
        (png_header_only(8000, 6000), "big.png", 422),
        (png_header_only(30000, 30000), "bomb.png", 422),
        (b"", "empty.jpg", 422),
    ],
)
def test_bad_images_are_refused_and_leave_nothing(client, api_keys, engine, settings, data, name,
                                                   status):
    before = _state(engine, settings)
    _problem(_upload(client, api_keys, data, name=name), status, "file")
    assert _state(engine, settings) == before


def test_over_the_limit_is_413(client, api_keys, engine, settings):
    before = _state(engine, settings)
    just_over = jpeg() + b"\0" * (settings.max_upload_bytes + 1 - len(jpeg()))
    _problem(_upload(client, api_keys, just_over), 413, "file")
    far_over = b"\xff\xd8\xff" + b"\0" * (settings.max_upload_bytes + 200_000)
    _problem(_upload(client, api_keys, far_over), 413, "file")
    assert _state(engine, settings) == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"data": {}}, "file"),
        ({"json": {"file": "aGVsbG8="}}, "file"),
        ({"data": {"file": "not a file part"}}, "file"),
        ({"data": {"image": (io.BytesIO(b"x"), "a.png")}}, "image"),
        ({"data": {"file": [(io.BytesIO(png()), "a.png"), (io.BytesIO(png()), "b.png")]}}, "file"),
    ],
)
def test_malformed_forms_are_400_naming_the_field(client, api_keys, engine, settings, kwargs,
                                                   field):
    before = _state(engine, settings)
    _problem(client.post(URL, headers=api_keys.headers("app"), **kwargs), 400, field)
    assert _state(engine, settings) == before


def test_upload_queues_a_thumbnail_in_the_same_transaction(client, api_keys, engine):
    body = _created(client, api_keys)
    with engine.connect() as conn:
        message = conn.execute(
            text("SELECT queue, job, args, dispatched_at FROM outbox WHERE job_id = :j"),
            {"j": f"thumbnail:{body['id']}"},
        ).one()
    assert tuple(message) == ("default", "make_thumbnail", {"photo_id": body["id"]}, None)


def test_thumbnail_is_404_until_made(client, api_keys):
    body = _created(client, api_keys)
    resp = client.get(body["thumbnail_url"], headers=api_keys.headers("app"))
    _problem_404(resp)
    assert "not made yet" in resp.get_json()["detail"]


def _link(engine, api_keys, photo_id: str, service: str) -> None:
    with engine.begin() as conn:
        app_id = keys.lookup(conn, api_keys["app"]).key_id
        attributes = {"built_before_1978": "yes"} if service == "lead_paint" else {}
        row = reports.prepare(
            reports.NewReport(service_code=service, lat=10.0, long=10.0, attributes=attributes,
                              photos=[uuid.UUID(photo_id)], app_key_id=app_id),
            services_by_code(conn), secret=SECRET,
        )
        reports.insert(conn, [row], secret=SECRET)


READERS = [None, "app", "app2", "grant_writer", "planner", "admin"]


@pytest.mark.parametrize(
    ("linked_to", "allowed"),
    [
        (None, {"app", "planner", "admin"}),  # not yet linked: staff and the uploader
        ("lead_paint", {"app", "planner", "admin"}),  # aggregated service: the same
        ("pothole", set(READERS)),  # public service: everyone
    ],
)
@pytest.mark.parametrize("suffix", ["", "/thumbnail"])
def test_who_may_read_a_photo(client, api_keys, engine, linked_to, allowed, suffix):
    body = _created(client, api_keys, role="app")
    if linked_to:
        _link(engine, api_keys, body["id"], linked_to)
    if suffix:  # pretend the worker made it; only the rule is under test here
        with engine.begin() as conn:
            conn.execute(text("UPDATE photos SET thumbnail_ready = true WHERE id = :id"),
                         {"id": body["id"]})
        settings = client.application.config["SETTINGS"]
        stored = photos.media_path(settings.media_dir, body["id"], "png")
        photos.write_thumbnail(stored, photos.thumbnail_path(settings.media_dir, body["id"]))
    for role in READERS:
        resp = client.get(body["url"] + suffix, headers=api_keys.headers(role))
        if role in allowed:
            assert resp.status_code == 200, (role, resp.get_json())
            public = linked_to == "pothole"
            assert resp.headers["Cache-Control"].startswith("public" if public else "private")
        else:
            _problem_404(resp)


NOBODY = "00000000-0000-4000-8000-000000000000"  # fixed: xdist workers must collect the same ids


@pytest.mark.parametrize("path", [f"{URL}/{NOBODY}", f"{URL}/not-a-uuid",
                                  f"{URL}/{NOBODY}/thumbnail"])
def test_unknown_photos_are_404(client, api_keys, path):
    assert client.get(path, headers=api_keys.headers("admin")).status_code == 404


def test_photos_are_in_the_api_document(client):
    doc = client.get("/openapi.json").get_json()
    upload = doc["paths"]["/api/v1/photos"]["post"]
    assert "file" in upload["requestBody"]["content"]["multipart/form-data"]["schema"]["required"]
    assert {"201", "413", "415", "422"} <= set(upload["responses"])
    assert "get" in doc["paths"]["/api/v1/photos/{photo_id}"]
    assert "get" in doc["paths"]["/api/v1/photos/{photo_id}/thumbnail"]


def test_retried_upload_with_the_same_key_is_one_photo(client, api_keys, engine):
    """A phone retrying an upload (new multipart boundary, same file) gets the first answer."""
    headers = {**api_keys.headers("app"), "Idempotency-Key": "upload-retry-1"}
    data = png((300, 200))

    def send():
        return client.post("/api/v1/photos", data={"file": (io.BytesIO(data), "p.png")},
                           headers=headers)

    first, second = send(), send()
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    other = client.post("/api/v1/photos",
                        data={"file": (io.BytesIO(png((301, 200))), "p.png")}, headers=headers)
    assert other.status_code == 422
