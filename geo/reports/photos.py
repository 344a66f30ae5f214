"""Residents' photos: check, strip, store and thumbnail them; decide who may see one.

An upload is trusted for nothing but its pixels. Its type is sniffed from the
bytes (the filename and claimed content type are ignored), it is fully decoded
under a pixel cap, its EXIF orientation is applied, its GPS position is read as a
*suggestion* for the report's location, and it is re-encoded from a fresh image
that carries no metadata at all: no EXIF, XMP, comments, text chunks or GPS.

ICC profiles: phones embed one (iPhones: Display P3). A profile is mostly colour
maths, but its text tags (description, copyright, sometimes the device model) can
narrow down the phone. So the pixels are converted to sRGB with the embedded
profile and no profile is stored; browsers assume sRGB, so colours stay right. A
profile LittleCMS cannot read is dropped and the pixels are kept as they are.

Files live at ``<media_dir>/<id[:2]>/<id>.<ext>``, the thumbnail beside it as
``<id>.thumb.jpg``. Each is written to a temporary file and moved into place, so
a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageOps
from sqlalchemy import Connection, text

from geo import outbox
from geo.access.keys import Principal
from geo.errors import FieldError

#: Largest image accepted, in pixels. 40 MP covers every phone camera (a 48 MP
#: sensor saves 12 MP by default); decoded RGBA at the cap is 160 MB, which bounds
#: what one upload can make a web process allocate.
MAX_PIXELS = 40_000_000
THUMBNAIL_MAX_SIDE = 320
THUMBNAIL_QUALITY = 80

#: Pillow format → (content type, file extension). Only these are accepted.
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
EXTENSIONS = {content_type: ext for content_type, ext in FORMATS.values()}

_GPS_IFD = 0x8825
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class ProcessedImage:
    """An upload after checking and stripping: the bytes to store and what to record."""

    data: bytes
    content_type: str
    ext: str
    width: int
    height: int
    sha256: str
    lat: float | None = None
    long: float | None = None


@dataclass(frozen=True)
class PhotoRecord:
    """A stored photo and, when it is linked, the privacy of its report's service."""

    id: uuid.UUID
    report_id: int | None
    content_type: str
    width: int
    height: int
    bytes: int
    sha256: str
    suggested_lat: float | None
    suggested_long: float | None
    thumbnail_ready: bool
    app_key_id: int | None
    privacy: str | None


def sniff(head: bytes) -> str | None:
    """The format named by a file's magic bytes (``JPEG``, ``PNG``, ``WEBP``) or None.

    >>> sniff(b"\\x89PNG\\r\\n\\x1a\\n....")
    'PNG'
    >>> sniff(b"GIF89a") is None
    True
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip("\x00 ").upper()


def _degrees(dms: Any, ref: Any, positive: str, negative: str, bound: float) -> float | None:
    if not isinstance(dms, (tuple, list)) or not 1 <= len(dms) <= 3 or ref is None:
        return None
    parts = [float(p) for p in dms]
    if not all(math.isfinite(p) and p >= 0 for p in parts):
        return None
    value = sum(p / 60**i for i, p in enumerate(parts))
    hemisphere = _text(ref)
    if hemisphere not in (positive, negative) or value > bound:
        return None
    return -value if hemisphere == negative else value


def gps_from_exif(exif: Image.Exif) -> tuple[float, float] | None:
    """Decimal ``(lat, long)`` from an image's EXIF GPS block, or None.

    None also when the block is void (``GPSStatus`` V), incomplete, out of range or
    exactly (0, 0), the position many cameras write when they have no fix.

    >>> exif = Image.Exif()
    >>> exif.get_ifd(0x8825).update({1: "S", 2: (33.0, 51.0, 54.0), 3: "E", 4: (151.0, 12.0, 36.0)})
    >>> gps_from_exif(exif)
    (-33.865, 151.21)
    """
    try:
        gps = exif.get_ifd(_GPS_IFD)
        if not gps or _text(gps.get(9, "A")) == "V":
            return None
        lat = _degrees(gps.get(2), gps.get(1), "N", "S", 90.0)
        lng = _degrees(gps.get(4), gps.get(3), "E", "W", 180.0)
    except Exception:  # noqa: BLE001 - EXIF is attacker-written; a bad block is just no hint
        return None
    if lat is None or lng is None or (lat == 0 and lng == 0):
        return None
    return round(lat, 7), round(lng, 7)


def _to_srgb(img: Image.Image) -> Image.Image:
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(img, source, _SRGB, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img  # unreadable profile: keep the pixels, drop the profile
    return converted if converted is not None else img


def _output_mode(img: Image.Image, fmt: str) -> str:
    alpha = img.has_transparency_data
    if fmt == "JPEG":
        return "L" if img.mode == "L" else "RGB"
    if fmt == "PNG" and img.mode in ("L", "LA", "RGB", "RGBA"):
        return img.mode
    return "RGBA" if alpha else "RGB"


def _strip(img: Image.Image, fmt: str) -> Image.Image:
    """Upright, sRGB pixels in a brand-new image that carries no metadata."""
    # A corrupt orientation tag is no reason to refuse the photo: keep the pixels as sent.
    with suppress(Exception):
        ImageOps.exif_transpose(img, in_place=True)
    img = _to_srgb(img)
    mode = _output_mode(img, fmt)
    if img.mode != mode:
        img = img.convert(mode)
    # Pillow's encoders fall back to ``im.info`` for some metadata (JPEG comments,
    # PNG ICC profiles); pasting into a fresh image leaves nothing to fall back to.
    clean = Image.new(mode, img.size)
    clean.paste(img, (0, 0))
    return clean


def _encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.save(buf, "JPEG", quality=88)
    elif fmt == "PNG":
        img.save(buf, "PNG", compress_level=6)
    else:
        img.save(buf, "WEBP", quality=85, method=4)
    return buf.getvalue()


def process(data: bytes, *, max_pixels: int = MAX_PIXELS) -> ProcessedImage:
    """Check an upload and return it upright, in sRGB, re-encoded without metadata.

    Raises :class:`FieldError` on ``file``: 415 for anything but JPEG, PNG or WebP
    (by content, whatever its name), 422 for an image that does not decode or has
    more than ``max_pixels`` pixels.

    >>> buf = io.BytesIO(); Image.new("RGB", (4, 2)).save(buf, "PNG")
    >>> p = process(buf.getvalue()); (p.content_type, p.width, p.height)
    ('image/png', 4, 2)
    """
    fmt = sniff(data[:16])
    if fmt is None:
        raise FieldError("file", "not a JPEG, PNG or WebP image", status=415)
    try:
        # ``formats`` stops Pillow from trying every other decoder it has on these bytes.
        with Image.open(io.BytesIO(data), formats=[fmt]) as img:
            if img.width * img.height > max_pixels:
                raise FieldError(
                    "file",
                    f"image is {img.width}×{img.height} pixels; at most "
                    f"{max_pixels / 1e6:g} megapixels are accepted",
                )
            img.load()
            suggested = gps_from_exif(img.getexif())
            clean = _strip(img, fmt)
    except (FieldError, MemoryError):
        raise  # MemoryError is the server's trouble, not a bad image
    except Image.DecompressionBombError as exc:
        raise FieldError("file", f"image has too many pixels ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure on client bytes is bad input
        raise FieldError("file", f"{fmt} image could not be decoded ({exc})") from None
    encoded = _encode(clean, fmt)
    content_type, ext = FORMATS[fmt]
    return ProcessedImage(
        data=encoded,
        content_type=content_type,
        ext=ext,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
        lat=suggested[0] if suggested else None,
        long=suggested[1] if suggested else None,
    )


def media_path(media_dir: str | os.PathLike[str], photo_id: uuid.UUID | str, ext: str) -> Path:
    """Where a photo's file lives; the id is re-parsed so no caller text reaches the path.

    >>> media_path("/m", "6f1c0000-0000-0000-0000-000000000000", "jpg").as_posix()
    '/m/6f/6f1c0000-0000-0000-0000-000000000000.jpg'
    """
    pid = str(uuid.UUID(str(photo_id)))
    return Path(media_dir) / pid[:2] / f"{pid}.{ext}"


def thumbnail_path(media_dir: str | os.PathLike[str], photo_id: uuid.UUID | str) -> Path:
    """Where a photo's thumbnail lives, beside the original."""
    return media_path(media_dir, photo_id, "thumb.jpg")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # Group-readable: the web process and the workers may run as different
        # users of one group; photos are never world-readable.
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def stored_file(
    media_dir: str | os.PathLike[str], photo_id: uuid.UUID, image: ProcessedImage
) -> Iterator[Path]:
    """Write the photo's file and remove it again if the block (its transaction) fails.

    The file is written first so that a committed row always has its file; a crash
    between the two can only leave a file without a row, which nothing serves.
    """
    path = media_path(media_dir, photo_id, image.ext)
    write_atomic(path, image.data)
    try:
        yield path
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def insert(
    conn: Connection, photo_id: uuid.UUID, image: ProcessedImage, *, app_key_id: int | None
) -> None:
    """Record a stored photo and queue its thumbnail, in the caller's transaction."""
    conn.execute(
        text(
            "INSERT INTO photos (id, content_type, width, height, bytes, sha256, "
            "suggested_lat, suggested_long, app_key_id) VALUES (:id, :content_type, :width, "
            ":height, :bytes, :sha256, :lat, :long, :app_key_id)"
        ),
        {
            "id": photo_id,
            "content_type": image.content_type,
            "width": image.width,
            "height": image.height,
            "bytes": len(image.data),
            "sha256": image.sha256,
            "lat": image.lat,
            "long": image.long,
            "app_key_id": app_key_id,
        },
    )
    outbox.add(
        conn, "default", "make_thumbnail", {"photo_id": str(photo_id)},
        job_id=f"thumbnail:{photo_id}",
    )


def get(conn: Connection, photo_id: uuid.UUID | str) -> PhotoRecord | None:
    """A photo with its report's service privacy (None while it is not linked)."""
    row = conn.execute(
        text(
            "SELECT p.id, p.report_id, p.content_type, p.width, p.height, p.bytes, p.sha256, "
            "p.suggested_lat, p.suggested_long, p.thumbnail_ready, p.app_key_id, s.privacy "
            "FROM photos p LEFT JOIN reports r ON r.id = p.report_id "
            "LEFT JOIN services s ON s.code = r.service_code WHERE p.id = :id"
        ),
        {"id": str(uuid.UUID(str(photo_id)))},
    ).first()
    return PhotoRecord(**row._mapping) if row else None


def mark_thumbnail_ready(conn: Connection, photo_id: uuid.UUID | str) -> bool:
    """Record that the thumbnail exists; False when the photo is gone."""
    result = conn.execute(
        text("UPDATE photos SET thumbnail_ready = true WHERE id = :id"),
        {"id": str(uuid.UUID(str(photo_id)))},
    )
    return result.rowcount == 1


def may_view(photo: PhotoRecord, who: Principal) -> bool:
    """Whether ``who`` may see ``photo``.

    Anyone may see a photo of a report whose service is public. A photo of an
    aggregated service (a home's lead paint), or one not yet linked to a report,
    is for planners and admins and for the app key that uploaded it.

    >>> p = PhotoRecord(uuid.uuid4(), None, "image/jpeg", 1, 1, 1, "", None, None,
    ...                 False, 7, None)
    >>> may_view(p, Principal(7, "app")), may_view(p, Principal(8, "app"))
    (True, False)
    """
    if photo.report_id is not None and photo.privacy == "public":
        return True
    if who.is_staff:
        return True
    return who.key_id is not None and who.key_id == photo.app_key_id


def write_thumbnail(
    source: Path, target: Path, *, max_side: int = THUMBNAIL_MAX_SIDE
) -> tuple[int, int]:
    """Write a JPEG of at most ``max_side`` pixels a side; returns its size.

    The same source always gives the same bytes, so writing it twice is harmless.
    """
    with Image.open(source, formats=list(FORMATS)) as img:
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        if img.has_transparency_data:
            rgba = img.convert("RGBA")
            small = Image.new("RGB", img.size, (255, 255, 255))
            small.paste(rgba, (0, 0), rgba)
        else:
            small = img.convert("RGB")
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=THUMBNAIL_QUALITY)
    write_atomic(target, buf.getvalue())
    return small.size
