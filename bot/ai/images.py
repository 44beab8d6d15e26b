"""Uploaded drawings -> small, clean RGB images for a vision model.

Every upload is treated as hostile. The type is decided by content (magic bytes,
then Pillow must agree), never by file name or declared content type. Sizes are
checked before any pixel is decoded, so a 100000x100000 "PNG" of a few hundred
bytes is refused from its header. Decoding is full (a truncated file is refused,
not padded with grey) and huge JPEGs are decoded at 1/2..1/8 scale by libjpeg
itself (``draft``), so a 24-megapixel phone photo never exists in memory at full size.

The result is RGB (transparency flattened onto white: canvas drawings are black
strokes on transparent pixels, which would otherwise turn black on black), EXIF
orientation applied, long side at most ``max_side``, no metadata at all, encoded as
whichever of PNG and JPEG is smaller.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import struct
import threading
import warnings
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

from bot.errors import RefusedImage

log = logging.getLogger(__name__)

DEFAULT_MAX_SIDE = 512
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000
# A 20:1 strip is a plausible doodle; 1000x10 is not a picture of anything.
MAX_ASPECT = 50
JPEG_QUALITY = 85

ACCEPTED = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
# Formats Pillow may report for content we sniffed as the key: phone JPEGs carrying a
# second picture (MPO, e.g. depth maps) are still JPEGs and open on their first frame.
_PILLOW_FORMATS: dict[str, tuple[str, ...]] = {
    "PNG": ("PNG",),
    "JPEG": ("JPEG", "MPO"),
    "WEBP": ("WEBP",),
    "GIF": ("GIF",),
    "BMP": ("BMP",),
}

# Everything Pillow's decoders are known to raise on malformed input. Hostile files
# reach odd corners (struct unpacking, palette indexing), so the list is wide.
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    struct.error,
    MemoryError,
)

# warnings.catch_warnings() swaps process-wide state and is not thread-safe; uploads
# are opened from worker threads, so header parsing (microseconds) is serialised.
_OPEN_LOCK = threading.Lock()
# Decoding a 50-megapixel PNG can take ~250 MB; bound how many run at once so a burst
# of uploads cannot multiply that. Worker threads wait here, never the event loop.
_DECODE_SLOTS = threading.BoundedSemaphore(2)

# Pictures above this many pixels are reduced in bands of about _BAND_PIXELS.
_BANDED_ABOVE = 4_000_000
_BAND_PIXELS = 2_000_000

# EXIF orientation -> the transpose that shows the picture upright (the table
# ImageOps.exif_transpose uses).
_EXIF_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True, slots=True)
class NormalisedImage:
    """A cleaned image ready to send, with the size it had when uploaded."""

    data: bytes = field(repr=False)
    mime: Literal["image/jpeg", "image/png"]
    width: int
    height: int
    source_format: str
    source_width: int  # as displayed, i.e. after EXIF orientation
    source_height: int

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def sniff_format(data: bytes) -> str | None:
    """The accepted format ``data`` starts like ("PNG", "JPEG", "WEBP", "GIF", "BMP"), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    # "BM" + file size + 4 reserved bytes + pixel offset; Pillow validates the rest.
    if data.startswith(b"BM") and len(data) >= 26:
        return "BMP"
    return None


def _known_other_kind(data: bytes) -> str | None:
    """A name for common files we refuse, so the user learns what was wrong."""
    head = data[:1024]
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if head.startswith(b"%PDF-"):
        return "PDF"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand.startswith(b"avi"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<svg", b"<?xml", b"<!doctype svg")) and b"<svg" in text:
        return "SVG"
    return None


def _limit_text(value: float) -> str:
    return f"{round(value, 1):g}"


def _oriented(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    # Orientations 5-8 turn the picture by 90 degrees: stored width is shown height.
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(0x0112, 1)
    except _DECODE_ERRORS:  # malformed EXIF does not spoil a good picture
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _target_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    w, h = size
    if max(w, h) <= max_side:
        return w, h
    scale = max_side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _open(data: bytes, fmt: str, pixel_limit: int) -> Image.Image:
    """Parse the header only; refuse anything whose pixel count is over the limit."""
    with _OPEN_LOCK, warnings.catch_warnings():
        # Pillow warns (and only errors past twice its limit) about bombs; here a
        # warning is a refusal too. Its global MAX_IMAGE_PIXELS is left alone.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=[fmt])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise RefusedImage("images.too_many_pixels", limit_mp=_limit_text(pixel_limit / 1e6)) from None
        except _DECODE_ERRORS:  # UnidentifiedImageError included: looked like one, is not
            raise RefusedImage("images.broken") from None
    if img.format not in _PILLOW_FORMATS[fmt]:
        img.close()
        raise RefusedImage("images.not_image")
    return img


def _check_size(img: Image.Image, pixel_limit: int) -> None:
    w, h = img.size
    if w < 1 or h < 1:
        raise RefusedImage("images.zero_size")
    if w * h > pixel_limit:
        raise RefusedImage("images.too_many_pixels", limit_mp=_limit_text(pixel_limit / 1e6))
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise RefusedImage("images.bad_shape", width=w, height=h)


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def _resizable(img: Image.Image) -> Image.Image:
    """``img`` in a mode that downscales well (no palette, no 1-bit, 8 bits a channel)."""
    mode = img.mode
    if mode in ("RGB", "RGBA", "L", "LA", "CMYK") and "transparency" not in img.info:
        return img
    if mode.startswith("I;16") or mode == "I":
        # 16-bit grey: convert("L") would clip everything above 255 to white.
        wide = img if mode in ("I", "I;16") else img.convert("I")
        return wide.point(lambda v: v / 256).convert("L")
    if mode == "F":
        return img.point(lambda v: v * 255).convert("L")
    if mode == "1":
        return img.convert("L")  # resize() on 1-bit (and palette) images would use NEAREST
    return img.convert("RGBA" if _has_alpha(img) else "RGB")


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    """``img`` (decoded) downscaled to fit ``max_side``, in a mode :func:`_to_rgb` takes.

    Big images are box-reduced band by band: converting a whole 50-megapixel palette or
    RGBA picture (and premultiplying its alpha for resampling) would need two or three
    more full-size copies next to the decoded one; bands need a few megabytes.
    """
    target = _target_size(img.size, max_side)
    # Keep at least twice the target for the final Lanczos pass.
    factor = min(img.width // (2 * target[0]), img.height // (2 * target[1]))
    if factor < 2 or img.width * img.height <= _BANDED_ABOVE:
        work = _resizable(img)
        # thumbnail() itself reduces by a whole factor first, then Lanczos over the last 2x+.
        work.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=2.0)
        return work
    rows = max(factor, _BAND_PIXELS // img.width // factor * factor)  # whole reduce blocks
    reduced: Image.Image | None = None
    for top in range(0, img.height, rows):
        band = _resizable(img.crop((0, top, img.width, min(img.height, top + rows)))).reduce(factor)
        if reduced is None:
            reduced = Image.new(band.mode, (-(-img.width // factor), -(-img.height // factor)))
        reduced.paste(band, (0, top // factor))
    assert reduced is not None
    reduced.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=None)
    return reduced


def _to_rgb(img: Image.Image) -> Image.Image:
    """Plain RGB with no metadata; transparent pixels become white."""
    if img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    rgb = img.convert("RGB")
    # A fresh image carries no info dict: no EXIF, ICC profile, XMP, comments or DPI.
    return Image.frombytes("RGB", rgb.size, rgb.tobytes())


def _encode(img: Image.Image) -> tuple[bytes, Literal["image/jpeg", "image/png"]]:
    """The smaller of PNG (optimised) and JPEG: line drawings are usually smaller (and
    exact) as PNG, photos much smaller as JPEG."""
    jpeg = io.BytesIO()
    img.save(jpeg, "JPEG", quality=JPEG_QUALITY, optimize=True)
    # A fast PNG (zlib level 1, ~5 ms) is a size probe: the optimised one is at most
    # ~3x smaller, so when the probe is far bigger than the JPEG the ~100 ms a photo's
    # optimised PNG would cost is not spent.
    png = io.BytesIO()
    img.save(png, "PNG", compress_level=1)
    if png.tell() <= 3 * jpeg.tell():
        optimized = io.BytesIO()
        img.save(optimized, "PNG", optimize=True)
        if optimized.tell() < png.tell():
            png = optimized
    if png.tell() <= jpeg.tell():
        return png.getvalue(), "image/png"
    return jpeg.getvalue(), "image/jpeg"


def normalise_image(
    data: bytes,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> NormalisedImage:
    """Check and clean one upload; raise :class:`RefusedImage` when it cannot be used.

    CPU-bound (tens of milliseconds for a phone photo): from async code use
    :func:`normalise_upload`.
    """
    if max_side < 1:
        raise ValueError("max_side must be at least 1")
    if not data:
        raise RefusedImage("images.empty")
    if len(data) > max_bytes:
        raise RefusedImage("images.too_big", limit_mb=_limit_text(max_bytes / (1024 * 1024)))
    fmt = sniff_format(data)
    if fmt is None:
        kind = _known_other_kind(data)
        if kind is not None:
            raise RefusedImage("images.unsupported", kind=kind)
        raise RefusedImage("images.not_image")
    # Never above Pillow's own bomb threshold: past it, Image.open would warn/raise.
    pixel_limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)

    with _DECODE_SLOTS:
        img = _open(data, fmt, pixel_limit)
        try:
            return _normalise_open(img, max_side, pixel_limit)
        finally:
            img.close()


def _normalise_open(img: Image.Image, max_side: int, pixel_limit: int) -> NormalisedImage:
    _check_size(img, pixel_limit)
    source_format = "JPEG" if img.format == "MPO" else str(img.format)
    stored_size = img.size
    target = _target_size(stored_size, max_side)
    try:
        if source_format == "JPEG" and target != stored_size:
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale (never below the size asked), so
            # asking for 1.5x the target leaves the Lanczos pass a 1.5-3x reduction.
            img.draft("RGB", (target[0] * 3 // 2, target[1] * 3 // 2))
        img.load()  # full decode: truncated or corrupt data raises here
        work = _shrink(img, max_side)
    except _DECODE_ERRORS as exc:
        log.info("refused a broken %s upload: %s", source_format, exc)
        raise RefusedImage("images.broken") from None
    # Read only after the full decode: a PNG may keep its EXIF after the pixel data.
    orientation = _orientation(img)
    if orientation != 1:
        # Applied to the downscaled picture (a quarter megapixel, not 24) with the
        # orientation read from the file: after mode conversions the EXIF block may
        # no longer travel with the pixels for ImageOps.exif_transpose to find.
        work = work.transpose(_EXIF_TRANSPOSE[orientation])
    source_width, source_height = _oriented(stored_size, orientation)
    rgb = _to_rgb(work)
    blob, mime = _encode(rgb)
    return NormalisedImage(
        data=blob,
        mime=mime,
        width=rgb.width,
        height=rgb.height,
        source_format=source_format,
        source_width=source_width,
        source_height=source_height,
    )


async def normalise_upload(
    data: bytes,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> NormalisedImage:
    """:func:`normalise_image` in a worker thread, so the event loop keeps running."""
    return await asyncio.to_thread(normalise_image, data, max_side=max_side, max_bytes=max_bytes, max_pixels=max_pixels)
