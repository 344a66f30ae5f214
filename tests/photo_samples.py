"""Images built in the tests: a phone-like JPEG with GPS and orientation, PNG, WebP, bombs."""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction

from PIL import Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/>secret-xmp</x:xmpmeta>'


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Degrees, minutes and seconds as EXIF rationals (seconds to 1/100)."""
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = Fraction(round((value - degrees - minutes / 60) * 3600 * 100), 100)
    return (IFDRational(degrees), IFDRational(minutes),
            IFDRational(seconds.numerator, seconds.denominator))


def exif_block(
    gps: tuple[float, float] | None = None, orientation: int | None = None
) -> Image.Exif:
    """An EXIF block like a phone writes: camera make, optional orientation and GPS."""
    exif = Image.Exif()
    exif[MAKE] = "Acme Phone 9"
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if gps is not None:
        lat, lng = gps
        exif.get_ifd(GPS_IFD).update({
            1: "N" if lat >= 0 else "S", 2: _dms(lat),
            3: "E" if lng >= 0 else "W", 4: _dms(lng),
        })
    return exif


def marked(size: tuple[int, int] = (64, 32), mode: str = "RGB") -> Image.Image:
    """A red image with a blue 16×16 block in its top-left corner, to see rotations."""
    img = Image.new(mode, size, (220, 30, 30) + ((255,) if mode == "RGBA" else ()))
    img.paste((30, 30, 220) + ((255,) if mode == "RGBA" else ()), (0, 0, 16, 16))
    return img


def jpeg(
    size: tuple[int, int] = (64, 32),
    *,
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
    icc: bool = False,
) -> bytes:
    """A JPEG carrying EXIF (make, optional GPS and orientation), a comment and XMP."""
    buf = io.BytesIO()
    extra = {}
    if icc:
        extra["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    marked(size).save(buf, "JPEG", quality=95, exif=exif_block(gps, orientation),
                      comment=b"taken at 12 Elm Street", xmp=XMP, **extra)
    return buf.getvalue()


def png(size: tuple[int, int] = (48, 24), *, alpha: bool = False,
        gps: tuple[float, float] | None = None) -> bytes:
    """A PNG, optionally with alpha, a text chunk and an eXIf chunk."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "Jane Resident")
    buf = io.BytesIO()
    marked(size, "RGBA" if alpha else "RGB").save(
        buf, "PNG", pnginfo=info, exif=exif_block(gps))
    return buf.getvalue()


def webp(size: tuple[int, int] = (40, 30), *, gps: tuple[float, float] | None = None) -> bytes:
    """A WebP with EXIF."""
    buf = io.BytesIO()
    marked(size).save(buf, "WEBP", quality=90, exif=exif_block(gps))
    return buf.getvalue()


def gif() -> bytes:
    """A GIF: a real image, but not a type we accept."""
    buf = io.BytesIO()
    marked((8, 8)).convert("P").save(buf, "GIF")
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares ``width``×``height`` pixels: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def reopen(data: bytes) -> Image.Image:
    """Open stored bytes for inspection."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def metadata_left(img: Image.Image) -> list[str]:
    """Names of any metadata still in ``img``: EXIF tags, XMP, comments, text, ICC."""
    left = [k for k in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile", "Author")
            if k in img.info]
    if len(img.getexif()):
        left.append("getexif()")
    if getattr(img, "text", None):
        left.append("text")
    return left
