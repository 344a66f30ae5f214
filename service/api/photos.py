"""Photos on the native API: upload one, read it back stripped, read its thumbnail.

Who may read a photo (``geo.reports.photos.may_view``): anyone, once it is linked to a
report of a public service; otherwise planners, admins and the app key that
uploaded it. Everyone else gets 404, so a photo's existence is not confirmed.

Uploads take no ``Idempotency-Key``: a retried upload makes a second, unlinked
photo that nothing shows, and the report links only the ids the phone sends.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from flask import Response, current_app, jsonify, request, send_file, url_for
from pydantic import BaseModel
from werkzeug.exceptions import RequestEntityTooLarge

from geo.errors import FieldError
from geo.reports import photos
from geo.settings import Settings
from service.api import bp
from service.auth import principal, roles_required
from service.db import engine
from service.errors import Problem
from service.idempotency import idempotent
from service.openapi import Body, operation

log = logging.getLogger("civicpulse.photos")

UPLOAD_ROLES = ("app", "planner", "admin")
#: Photos never change under their id, but who may see one can (a report is
#: linked, a service's privacy changes), so caches keep them for an hour only.
MAX_AGE = 3600


class PhotoCreated(BaseModel):
    """The stored photo; ``lat``/``long`` only when the image carried a GPS position."""

    id: uuid.UUID
    content_type: str
    width: int
    height: int
    bytes: int
    lat: float | None = None
    long: float | None = None
    url: str
    thumbnail_url: str


_UPLOAD_SCHEMA = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "additionalProperties": False,
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "A JPEG, PNG or WebP image (type read from its bytes), "
                    "at most 10 MB and 40 megapixels. All metadata is removed.",
                }
            },
        },
        "encoding": {"file": {"contentType": "image/jpeg, image/png, image/webp"}},
    }
}


def _settings() -> Settings:
    return current_app.config["SETTINGS"]


def _too_large(limit: int) -> Problem:
    return Problem(413, f"file: larger than the limit of {limit} bytes", field="file",
                   kind="content-too-large")


def _upload(limit: int) -> bytes:
    """The bytes of the one ``file`` part, read no further than ``limit`` + 1."""
    length = request.content_length
    if length is not None and length > (current_app.config.get("MAX_CONTENT_LENGTH") or length):
        raise _too_large(limit)
    try:
        files, form = request.files, request.form
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    for name in (*form.keys(), *files.keys()):
        if name != "file":
            raise Problem(400, f"{name}: unknown field; send only the image as 'file'", field=name)
    parts = files.getlist("file")
    if not parts:
        raise Problem(400, "file: required, as a multipart/form-data file part", field="file")
    if len(parts) > 1:
        raise Problem(400, "file: send one image per request", field="file")
    data = parts[0].stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    if not data:
        raise Problem(422, "file: is empty", field="file")
    return data


@bp.post("/photos")
@roles_required(*UPLOAD_ROLES)  # before the body is read: strangers cost nothing
@operation(
    summary="Upload a photo; its metadata is removed and its GPS position suggested",
    responses={201: PhotoCreated, 413: "Larger than 10 MB", 415: "Not JPEG, PNG or WebP",
               422: "Does not decode, or more than 40 megapixels"},
    roles=UPLOAD_ROLES,
    tags=("photos",),
    request_content=_UPLOAD_SCHEMA,
    idempotent=True,
)
@idempotent
def upload_photo() -> tuple[Response, int, dict[str, str]]:
    """Check, strip and store one image; queue its thumbnail."""
    who = principal()
    settings = _settings()
    data = _upload(settings.max_upload_bytes)
    try:
        image = photos.process(data)
    except FieldError as exc:
        kind = "unsupported-media-type" if exc.status == 415 else "invalid-image"
        raise Problem(exc.status, str(exc), field=exc.field, kind=kind) from None
    photo_id = uuid.uuid4()
    # The file is removed again if the row or its commit fails (see stored_file).
    with photos.stored_file(settings.media_dir, photo_id, image), engine().begin() as conn:
        photos.insert(conn, photo_id, image, app_key_id=who.key_id)
    url = url_for("api.get_photo", photo_id=photo_id)
    body = PhotoCreated(
        id=photo_id, content_type=image.content_type, width=image.width, height=image.height,
        bytes=len(image.data), lat=image.lat, long=image.long, url=url,
        thumbnail_url=url_for("api.get_photo_thumbnail", photo_id=photo_id),
    )
    return jsonify(body.model_dump(mode="json", exclude_none=True)), 201, {"Location": url}


def _visible(photo_id: uuid.UUID) -> photos.PhotoRecord:
    with engine().connect() as conn:
        photo = photos.get(conn, photo_id)
    if photo is None or not photos.may_view(photo, principal()):
        raise Problem(404, f"photo {photo_id} not found", kind="not-found")
    return photo


def _serve(photo: photos.PhotoRecord, path: Path, mimetype: str, etag: str | bool) -> Response:
    resp = send_file(path, mimetype=mimetype, etag=etag, conditional=True, max_age=MAX_AGE)
    public = photo.report_id is not None and photo.privacy == "public"
    # A photo only some callers may see must never sit in a shared cache.
    resp.headers["Cache-Control"] = f"{'public' if public else 'private'}, max-age={MAX_AGE}"
    if not public:
        resp.headers["Vary"] = "Authorization"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/photos/<uuid:photo_id>")
@operation(
    summary="A photo, re-encoded without any metadata",
    responses={200: Body("The image, re-encoded; ETag is its SHA-256",
                         {"image/jpeg": None, "image/png": None, "image/webp": None}),
               304: "Not modified", 404: "No such photo, or not visible to the caller"},
    tags=("photos",),
)
def get_photo(photo_id: uuid.UUID) -> Response:
    """Serve a stored photo to a caller who may see it."""
    photo = _visible(photo_id)
    path = photos.media_path(_settings().media_dir, photo.id, photos.EXTENSIONS[photo.content_type])
    if not path.is_file():
        log.error("photo %s has a row but no file at %s", photo.id, path)
        raise Problem(404, f"photo {photo_id} not found", kind="not-found")
    return _serve(photo, path, photo.content_type, photo.sha256)


@bp.get("/photos/<uuid:photo_id>/thumbnail")
@operation(
    summary="A photo's thumbnail (JPEG, at most 320 px a side), once a worker has made it",
    responses={200: Body("The thumbnail", {"image/jpeg": None}), 304: "Not modified",
               404: "No such photo, not visible to the caller, or thumbnail not made yet"},
    tags=("photos",),
)
def get_photo_thumbnail(photo_id: uuid.UUID) -> Response:
    """Serve a photo's thumbnail; 404 until the worker has made it."""
    photo = _visible(photo_id)
    path = photos.thumbnail_path(_settings().media_dir, photo.id)
    if not photo.thumbnail_ready or not path.is_file():
        raise Problem(404, f"photo {photo_id}: thumbnail not made yet; try again shortly",
                      kind="not-found")
    return _serve(photo, path, "image/jpeg", True)
