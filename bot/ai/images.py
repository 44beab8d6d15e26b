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
import functools
import io
import logging
import os
import struct
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
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
_FLAT_COLOURS = 256  # at most this many colours: a flat drawing, kept exact as PNG

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
# What decoding one pixel costs at the peak, by format (measured with Pillow 11-12: a 7,000 x 7,000
# PNG peaks at ~272 MB, a 50-megapixel WebP at ~830 MB, libwebp holding its own copy; a progressive
# JPEG keeps every DCT coefficient until the end). Pictures whose decode would pass PEAK_BYTES
# are refused from their header, so no accepted upload costs more than that.
_BYTES_PER_PIXEL = {"PNG": 5.5, "JPEG": 6.0, "WEBP": 17.0, "GIF": 5.0, "BMP": 5.0}
PEAK_BYTES = 280 * 1024 * 1024
# Decodes running at once share this many bytes; worker threads wait for room, never the event loop.
DECODE_BUDGET = 2 * PEAK_BYTES


class _Budget:
    """Bytes of decoding in flight across threads: a burst of uploads waits instead of adding up."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._cond = threading.Condition()

    def take(self, cost: int) -> None:
        cost = min(cost, self.total)
        with self._cond:
            self._cond.wait_for(lambda: self.used + cost <= self.total)
            self.used += cost

    def give(self, cost: int) -> None:
        with self._cond:
            self.used -= min(cost, self.total)
            self._cond.notify_all()


_BUDGET = _Budget(DECODE_BUDGET)
# One thread a core: image work is CPU-bound (Pillow releases the GIL while it decodes).
_IMAGE_POOL = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)), thread_name_prefix="catchbot-image")

# Pictures above this many pixels are reduced in bands of _BAND_ROWS rows.
_BANDED_ABOVE = 4_000_000
_BAND_ROWS = 64

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


def _resizes_as_it_is(img: Image.Image) -> bool:
    """Whether ``img`` downscales well without a conversion (8 bits a channel, no palette, no colour key)."""
    return img.mode in ("RGB", "RGBA", "L", "LA", "CMYK") and "transparency" not in img.info


def _resizable(img: Image.Image) -> Image.Image:
    """``img`` in a mode that downscales well (no palette, no 1-bit, 8 bits a channel)."""
    mode = img.mode
    if _resizes_as_it_is(img):
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

    First a whole-factor box reduction (one pass in C; for transparent pictures Pillow averages
    premultiplied colours, so strokes get no dark fringe), then a last resize to the exact size.
    Palette and other odd modes of big pictures are reduced band by band: converting a whole
    50-megapixel palette picture would need two or three more full-size copies; bands need a few MB.
    """
    target = _target_size(img.size, max_side)
    factor = min(img.width // target[0], img.height // target[1])
    if factor < 2:
        work = _resizable(img)
    elif img.mode in ("RGBA", "LA") and "transparency" not in img.info:
        work = _reduce_drawn_part(img, factor)
    elif _resizes_as_it_is(img):  # RGB, L, CMYK: reduce as it is (asked without converting a copy)
        work = img.reduce(factor)
    elif img.width * img.height <= _BANDED_ABOVE:
        work = _resizable(img).reduce(factor)
    else:
        work = _banded_reduce(img, factor)
    if work.size == target:
        return work
    # Box averaging is exact for big steps and the cheapest; Lanczos keeps small steps sharp.
    ratio = work.width / target[0]
    return work.resize(target, Image.Resampling.BOX if ratio >= 1.5 else Image.Resampling.LANCZOS)


def _reduce_drawn_part(img: Image.Image, factor: int) -> Image.Image:
    """Reduce a transparent picture where something is drawn; the rest stays transparent.

    Averaging transparent pixels needs premultiplied colours (a conversion Pillow makes inside
    ``reduce``); a canvas export is mostly empty, and outside the box of its visible pixels
    (``getbbox`` reads the alpha channel) every pixel is fully transparent already.
    """
    drawn = img.getbbox()
    if drawn is None:
        return Image.new(img.mode, (-(-img.width // factor), -(-img.height // factor)))
    return _banded_reduce(img, factor, drawn)


def _banded_reduce(img: Image.Image, factor: int, region: tuple[int, int, int, int] | None = None) -> Image.Image:
    """Box-reduce ``region`` of ``img`` (all of it by default) band by band into a reduced copy of the whole.

    Bands of a few dozen rows stay in the processor's cache through the crop, the mode conversion
    and the averaging (about twice as fast as one pass over a big picture), and never need a
    full-size converted copy beside the decoded one.
    """
    left, top, right, bottom = region or (0, 0, img.width, img.height)
    left, top = left // factor * factor, top // factor * factor
    right = min(img.width, -(-right // factor) * factor)
    bottom = min(img.height, -(-bottom // factor) * factor)
    rows = max(factor, _BAND_ROWS // factor * factor)
    reduced: Image.Image | None = None
    for y in range(top, bottom, rows):
        band = _resizable(img.crop((left, y, right, min(bottom, y + rows)))).reduce(factor)
        if reduced is None:
            reduced = Image.new(band.mode, (-(-img.width // factor), -(-img.height // factor)))
        reduced.paste(band, (left // factor, y // factor))
    assert reduced is not None
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


def _encode(img: Image.Image, *, photo: bool) -> tuple[bytes, Literal["image/jpeg", "image/png"]]:
    """One encoding, chosen before any is made: a drawing of a few flat colours as PNG (exact and
    small), anything photo-like (a JPEG upload, or more than 256 colours) as JPEG."""
    out = io.BytesIO()
    if not photo and img.getcolors(_FLAT_COLOURS) is not None:
        img.save(out, "PNG", optimize=True)  # a few flat colours: small and quick to optimise
        return out.getvalue(), "image/png"
    img.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), "image/jpeg"


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
    # Never above Pillow's own bomb threshold (past it, Image.open would warn/raise), and never a
    # picture whose decode alone would pass PEAK_BYTES.
    pixel_limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels, int(PEAK_BYTES / _BYTES_PER_PIXEL[fmt]))
    img = _open(data, fmt, pixel_limit)
    try:
        _check_size(img, pixel_limit)
        cost = int(img.width * img.height * _BYTES_PER_PIXEL[fmt])
        _BUDGET.take(cost)
        try:
            return _normalise_open(img, max_side)
        finally:
            _BUDGET.give(cost)
    finally:
        img.close()


def _normalise_open(img: Image.Image, max_side: int) -> NormalisedImage:
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
    blob, mime = _encode(rgb, photo=source_format == "JPEG")
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
    """:func:`normalise_image` in the image pool's threads, so the event loop keeps running.

    Image work has a pool of its own: a burst of uploads queues there and never delays what runs in
    the default executor (answer scoring, the database's helpers) or the network.
    """
    work = functools.partial(normalise_image, data, max_side=max_side, max_bytes=max_bytes, max_pixels=max_pixels)
    return await asyncio.get_running_loop().run_in_executor(_IMAGE_POOL, work)
