"""geo.reports.photos: type by content, GPS read, all metadata removed, atomic storage."""

from __future__ import annotations

import uuid

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from geo.access import keys
from geo.access.keys import Principal
from geo.errors import FieldError
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


def test_phone_jpeg_gives_gps_and_is_stored_upright_without_metadata():
    sent = jpeg((64, 32), gps=(-33.8651, 151.2099), orientation=6, icc=True)
    assert {"exif", "xmp", "comment", "icc_profile"} <= set(reopen(sent).info)

    image = photos.process(sent)

    assert (image.content_type, image.ext) == ("image/jpeg", "jpg")
    assert image.lat == pytest.approx(-33.8651, abs=1e-5)
    assert image.long == pytest.approx(151.2099, abs=1e-5)
    stored = reopen(image.data)
    assert metadata_left(stored) == []
    assert b"Acme" not in image.data and b"Elm Street" not in image.data
    # Orientation 6 means "turn 90° clockwise to view": 64×32 becomes 32×64 and the
    # blue top-left corner of the sensor image ends up top-right.
    assert stored.size == (32, 64) == (image.width, image.height)
    r, g, b = stored.getpixel((stored.width - 6, 6))
    assert b > 150 and r < 100


@pytest.mark.parametrize(
    ("data", "content_type", "lat", "long"),
    [
        (png(alpha=True, gps=(51.5, -0.1)), "image/png", 51.5, -0.1),
        (webp(gps=(40.7, -74.0)), "image/webp", 40.7, -74.0),
        (png(), "image/png", None, None),
    ],
)
def test_png_and_webp_accepted_and_stripped(data, content_type, lat, long):
    image = photos.process(data)
    assert image.content_type == content_type
    assert image.lat == (pytest.approx(lat) if lat is not None else None)
    assert image.long == (pytest.approx(long) if long is not None else None)
    stored = reopen(image.data)
    assert metadata_left(stored) == []
    assert b"Jane Resident" not in image.data


def test_png_alpha_is_kept():
    stored = reopen(photos.process(png(alpha=True)).data)
    assert stored.mode == "RGBA"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"just some text, renamed to photo.jpg", 415),
        (gif(), 415),
        (b"%PDF-1.7\n", 415),
        (jpeg()[:300], 422),
        (jpeg()[:-200], 422),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 422),
        (png_header_only(8000, 6000), 422),  # 48 MP: over our cap, under Pillow's
        (png_header_only(20000, 20000), 422),  # 400 MP: Pillow's own bomb error
    ],
)
def test_rejected_uploads_name_the_file_field(data, status):
    with pytest.raises(FieldError) as err:
        photos.process(data)
    assert err.value.field == "file"
    assert err.value.status == status


def test_pixel_cap_is_a_parameter():
    with pytest.raises(FieldError, match="megapixels"):
        photos.process(png((48, 24)), max_pixels=1000)


def _gps_exif(gps: dict) -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update(gps)
    return exif


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        ({1: "N", 2: (10.0, 30.0, 0.0), 3: "W", 4: (20.0, 15.0, 0.0)}, (10.5, -20.25)),
        ({1: b"S\x00", 2: (1.0, 0.0, 0.0), 3: b"E\x00", 4: (2.0, 0.0, 0.0)}, (-1.0, 2.0)),
        ({1: "N", 2: (10.0, 0.0, 0.0), 3: "E", 4: (20.0, 0.0, 0.0), 9: "V"}, None),  # void fix
        ({1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)}, None),  # "no fix" (0, 0)
        ({2: (10.0, 0.0, 0.0), 3: "E", 4: (20.0, 0.0, 0.0)}, None),  # no hemisphere
        ({1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (20.0, 0.0, 0.0)}, None),  # out of range
        ({1: "N", 2: (IFDRational(1, 0), 0.0, 0.0), 3: "E", 4: (2.0, 0.0, 0.0)}, None),
        ({1: "N", 2: "garbage", 3: "E", 4: (2.0, 0.0, 0.0)}, None),
        ({}, None),
    ],
)
def test_gps_from_exif(gps, expected):
    assert photos.gps_from_exif(_gps_exif(gps)) == expected


def test_media_path_never_takes_caller_text():
    with pytest.raises(ValueError):
        photos.media_path("/m", "../../etc/passwd", "jpg")


def test_thumbnail_is_small_deterministic_jpeg(tmp_path):
    source = tmp_path / "a.png"
    source.write_bytes(photos.process(png((1000, 500), alpha=True)).data)
    target = tmp_path / "a.thumb.jpg"
    assert photos.write_thumbnail(source, target) == (320, 160)
    first = target.read_bytes()
    assert photos.write_thumbnail(source, target) == (320, 160)
    assert target.read_bytes() == first
    thumb = reopen(first)
    assert (thumb.format, thumb.mode, metadata_left(thumb)) == ("JPEG", "RGB", [])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a.thumb.jpg"]


def _key_id(engine, key: str) -> int:
    with engine.connect() as conn:
        found = keys.lookup(conn, key)
    assert found is not None and found.key_id is not None
    return found.key_id


def _store(engine, media_dir, image, app_key_id):
    photo_id = uuid.uuid4()
    with photos.stored_file(media_dir, photo_id, image), engine.begin() as conn:
        photos.insert(conn, photo_id, image, app_key_id=app_key_id)
    return photo_id


def test_store_writes_file_row_and_thumbnail_message(engine, api_keys, tmp_path):
    image = photos.process(jpeg(gps=(45.0, 7.0)))
    app_id = _key_id(engine, api_keys["app"])
    photo_id = _store(engine, tmp_path, image, app_id)

    path = photos.media_path(tmp_path, photo_id, "jpg")
    assert path.read_bytes() == image.data
    assert path.parent.name == str(photo_id)[:2]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    with engine.connect() as conn:
        record = photos.get(conn, photo_id)
        message = conn.execute(
            text("SELECT queue, job, args FROM outbox WHERE job_id = :j"),
            {"j": f"thumbnail:{photo_id}"},
        ).one()
    assert record is not None
    assert (record.sha256, record.bytes) == (image.sha256, len(image.data))
    assert record.app_key_id == app_id
    assert (record.suggested_lat, record.suggested_long) == (45.0, 7.0)
    assert (record.report_id, record.privacy, record.thumbnail_ready) == (None, None, False)
    assert tuple(message) == ("default", "make_thumbnail", {"photo_id": str(photo_id)})


def test_failed_insert_leaves_no_file(engine, tmp_path):
    image = photos.process(png())
    photo_id = uuid.uuid4()
    with (
        pytest.raises(IntegrityError, match="foreign key"),
        photos.stored_file(tmp_path, photo_id, image),
        engine.begin() as conn,
    ):
        photos.insert(conn, photo_id, image, app_key_id=2_000_000_000)  # no such key
    assert list(tmp_path.rglob("*.*")) == []
    with engine.connect() as conn:
        assert photos.get(conn, photo_id) is None


def _report(engine, service: str, photo_ids, app_key_id, attributes=None):
    with engine.begin() as conn:
        new = reports.NewReport(
            service_code=service, lat=52.37, long=4.89, photos=list(photo_ids),
            app_key_id=app_key_id, attributes=attributes or {},
        )
        row = reports.prepare(new, services_by_code(conn), secret=SECRET)
        return reports.insert(conn, [row], secret=SECRET)[0].id


def test_report_links_its_photos_and_takes_its_privacy(engine, services_loaded, api_keys, tmp_path):
    app_id = _key_id(engine, api_keys["app"])
    public = _store(engine, tmp_path, photos.process(png()), app_id)
    private = _store(engine, tmp_path, photos.process(png()), app_id)

    pothole = _report(engine, "pothole", [public], app_id)
    lead = _report(engine, "lead_paint", [private], app_id, {"built_before_1978": "yes"})

    with engine.connect() as conn:
        linked_public, linked_private = photos.get(conn, public), photos.get(conn, private)
    assert (linked_public.report_id, linked_public.privacy) == (pothole, "public")
    assert (linked_private.report_id, linked_private.privacy) == (lead, "aggregated")


def test_only_the_uploading_key_can_link_a_photo(engine, services_loaded, api_keys, tmp_path):
    photo_id = _store(engine, tmp_path, photos.process(png()), _key_id(engine, api_keys["app"]))
    with pytest.raises(FieldError) as err:
        _report(engine, "pothole", [photo_id], _key_id(engine, api_keys["app2"]))
    assert err.value.field == "photos"
    with engine.connect() as conn:
        assert photos.get(conn, photo_id).report_id is None


def _record(report_id, privacy, app_key_id=7):
    return photos.PhotoRecord(uuid.uuid4(), report_id, "image/png", 1, 1, 1, "x", None, None,
                              False, app_key_id, privacy)


@pytest.mark.parametrize(
    ("record", "who", "allowed"),
    [
        (_record(1, "public"), Principal(None, None), True),
        (_record(1, "public"), Principal(9, "grant_writer"), True),
        (_record(1, "aggregated"), Principal(None, None), False),
        (_record(1, "aggregated"), Principal(9, "app"), False),
        (_record(1, "aggregated"), Principal(9, "grant_writer"), False),
        (_record(1, "aggregated"), Principal(7, "app"), True),
        (_record(1, "aggregated"), Principal(9, "planner"), True),
        (_record(None, None), Principal(None, None), False),
        (_record(None, None), Principal(9, "app"), False),
        (_record(None, None), Principal(7, "app"), True),
        (_record(None, None), Principal(9, "admin"), True),
        (_record(None, None, app_key_id=None), Principal(None, None), False),
    ],
)
def test_who_may_view_a_photo(record, who, allowed):
    assert photos.may_view(record, who) is allowed
