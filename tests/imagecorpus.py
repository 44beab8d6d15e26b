"""Odd and hostile image files, made in memory, for tests (and benchmarks).

Every generator returns the raw bytes of a file as a user could upload it. The odd
ones are valid pictures in awkward shapes (transparent canvas exports, rotated phone
photos, CMYK, 16-bit grey, palettes, animations...); the hostile ones must be refused
(bombs whose header claims billions of pixels, truncated files, non-images).
Expensive ones are cached: the bytes are immutable, so sharing them is safe.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from functools import cache

from PIL import Image, ImageCms, ImageDraw

# Something an upload's metadata may carry that must never reach a model provider.
SECRET = "SECRET-CAMERA-SERIAL-0042"

RED = (255, 0, 0)
BLACK = (0, 0, 0)


def _save(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def _strokes(draw: ImageDraw.ImageDraw, size: tuple[int, int], fill: object, width: int = 12) -> None:
    """A stick figure-ish doodle: a few thick lines and a circle, like a canvas drawing."""
    w, h = size
    draw.ellipse((w * 0.35, h * 0.1, w * 0.65, h * 0.4), outline=fill, width=width)  # type: ignore[arg-type]
    draw.line((w * 0.5, h * 0.4, w * 0.5, h * 0.75), fill=fill, width=width)  # type: ignore[arg-type]
    draw.line((w * 0.2, h * 0.55, w * 0.8, h * 0.55), fill=fill, width=width)  # type: ignore[arg-type]
    draw.line((w * 0.5, h * 0.75, w * 0.3, h * 0.95), fill=fill, width=width)  # type: ignore[arg-type]
    draw.line((w * 0.5, h * 0.75, w * 0.7, h * 0.95), fill=fill, width=width)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- odd but valid


def canvas_png(size: tuple[int, int] = (800, 600)) -> bytes:
    """A web-canvas export: black strokes on fully transparent *black* pixels (0,0,0,0)."""
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    _strokes(ImageDraw.Draw(img), size, (0, 0, 0, 255), width=max(3, round(min(size) / 50)))
    return _save(img, "PNG")


def exif_rotated_jpeg() -> bytes:
    """A phone photo stored landscape (400x300) with EXIF orientation 6 (turn 90° clockwise).

    The stored pixels have a red band across the top; shown upright (300x400) the band
    runs down the right-hand side. It also carries EXIF (camera serial, GPS), a comment
    and an ICC profile, none of which may survive normalisation.
    """
    img = Image.new("RGB", (400, 300), (255, 255, 255))
    ImageDraw.Draw(img).rectangle((0, 0, 399, 59), fill=RED)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = SECRET  # Make
    exif[0xA431] = SECRET  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (37.0, 33.0, 59.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _save(img, "JPEG", quality=90, exif=exif, icc_profile=icc, comment=SECRET.encode())


def big_rotated_jpeg() -> bytes:
    """3000x2000 stored, EXIF orientation 8 (turn 90° anticlockwise): big enough for the
    reduced-scale JPEG decode, so orientation and draft mode are exercised together.
    The red band at the top of the stored pixels ends up down the left-hand side."""
    img = Image.new("RGB", (3000, 2000), (255, 255, 255))
    ImageDraw.Draw(img).rectangle((0, 0, 2999, 299), fill=RED)
    exif = Image.Exif()
    exif[0x0112] = 8
    return _save(img, "JPEG", quality=85, exif=exif)


def mpo_jpeg() -> bytes:
    """A phone 'JPEG' holding two pictures (MPO): the main one is a black square on white."""
    first = Image.new("RGB", (640, 480), (255, 255, 255))
    ImageDraw.Draw(first).rectangle((220, 140, 420, 340), fill=BLACK)
    second = Image.new("RGB", (640, 480), RED)
    return _save(first, "MPO", save_all=True, append_images=[second])


def cmyk_jpeg() -> bytes:
    """A print-shop CMYK JPEG: pure cyan left half, black strokes."""
    img = Image.new("CMYK", (640, 480), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, 319, 479), fill=(255, 0, 0, 0))
    _strokes(draw, img.size, (0, 0, 0, 255))
    return _save(img, "JPEG", quality=90)


def gray16_png() -> bytes:
    """16-bit greyscale (mode I;16), a left-to-right ramp over the full 0..65535 range."""
    w, h = 1024, 256
    row = b"".join(struct.pack("<H", x * 65535 // (w - 1)) for x in range(w))
    img = Image.frombytes("I;16", (w, h), row * h)
    return _save(img, "PNG")


def palette_png() -> bytes:
    """A palette PNG whose transparent index is black: background must come out white."""
    img = Image.new("P", (600, 400), 0)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * (254 * 3))  # 0: black (transparent), 1: blue
    _strokes(ImageDraw.Draw(img), img.size, 1)
    return _save(img, "PNG", transparency=0)


def onebit_png() -> bytes:
    """A 1-bit scan: white page, black doodle."""
    img = Image.new("1", (900, 700), 1)
    _strokes(ImageDraw.Draw(img), img.size, 0, width=8)
    return _save(img, "PNG")


def la_png() -> bytes:
    """Greyscale with alpha (LA): a dark stroke on transparent."""
    img = Image.new("LA", (500, 500), (0, 0))
    _strokes(ImageDraw.Draw(img), img.size, (20, 255))
    return _save(img, "PNG")


def photo(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """Photo-like RGB: smooth colour blobs over gradients, with a little sensor grain.

    Built from small noise fields scaled up (fast even at 24 megapixels), so that it
    compresses like a photo rather than like white noise.
    """
    w, h = size
    rng = random.Random(seed)
    tile = Image.effect_noise((256, 256), 40)
    grain = Image.new("L", size)
    for x in range(0, w, 256):
        for y in range(0, h, 256):
            grain.paste(tile, (x, y))
    small = (max(8, w // 64), max(8, h // 64))
    bands = []
    for band in range(3):
        blobs = Image.effect_noise(small, 60 + 20 * band).resize(size, Image.Resampling.BICUBIC)
        ramp = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270))).resize(size)
        bands.append(Image.blend(Image.blend(blobs, ramp, 0.5), grain, 0.1))
    return Image.merge("RGB", bands)


@cache
def big_photo_jpeg(size: tuple[int, int] = (6000, 4000)) -> bytes:
    """A 24-megapixel phone-camera-sized JPEG (a few MB)."""
    return _save(photo(size), "JPEG", quality=85)


def strip_png() -> bytes:
    """A 20:1 strip (2000x100): a black line along a white ribbon."""
    img = Image.new("RGB", (2000, 100), (255, 255, 255))
    ImageDraw.Draw(img).line((0, 50, 1999, 50), fill=BLACK, width=20)
    return _save(img, "PNG")


def webp_alpha() -> bytes:
    """Lossless WebP with alpha: black strokes on transparent black."""
    img = Image.new("RGBA", (640, 480), (0, 0, 0, 0))
    _strokes(ImageDraw.Draw(img), img.size, (0, 0, 0, 255))
    return _save(img, "WEBP", lossless=True)


def animated_gif() -> bytes:
    """Two frames: a black square on white, then solid red. Only the first may be used."""
    first = Image.new("RGB", (300, 300), (255, 255, 255))
    ImageDraw.Draw(first).rectangle((100, 100, 199, 199), fill=BLACK)
    second = Image.new("RGB", (300, 300), RED)
    return _save(first, "GIF", save_all=True, append_images=[second], duration=200, loop=0)


def bmp() -> bytes:
    """A plain 24-bit BMP, as old Windows paint programs save."""
    img = Image.new("RGB", (320, 240), (255, 255, 255))
    _strokes(ImageDraw.Draw(img), img.size, BLACK, width=6)
    return _save(img, "BMP")


def tiny_png() -> bytes:
    """Smaller than any limit (40x30): must not be enlarged."""
    img = Image.new("RGB", (40, 30), (255, 255, 255))
    ImageDraw.Draw(img).line((0, 15, 39, 15), fill=BLACK, width=3)
    return _save(img, "PNG")


ODD: dict[str, Callable[[], bytes]] = {
    "canvas_png": canvas_png,
    "exif_rotated_jpeg": exif_rotated_jpeg,
    "big_rotated_jpeg": big_rotated_jpeg,
    "mpo_jpeg": mpo_jpeg,
    "cmyk_jpeg": cmyk_jpeg,
    "gray16_png": gray16_png,
    "palette_png": palette_png,
    "onebit_png": onebit_png,
    "la_png": la_png,
    "big_photo_jpeg": big_photo_jpeg,
    "strip_png": strip_png,
    "webp_alpha": webp_alpha,
    "animated_gif": animated_gif,
    "bmp": bmp,
    "tiny_png": tiny_png,
}


# --------------------------------------------------------------------------- hostile


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking PNG of ~70 bytes whose IHDR claims ``width`` x ``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def bomb_gif(width: int = 65_535, height: int = 65_535) -> bytes:
    """A GIF whose screen and only frame claim 65535x65535 (4.3 gigapixels)."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b";"


def bomb_jpeg(width: int = 65_000, height: int = 65_000) -> bytes:
    """A real 16x16 JPEG whose SOF0 marker is rewritten to claim ``width`` x ``height``."""
    data = bytearray(_save(Image.new("RGB", (16, 16), (200, 30, 30)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def text_bomb_png() -> bytes:
    """A real 64x64 PNG carrying a zTXt chunk that inflates from ~100 KB to 100 MB."""
    good = _save(Image.new("RGB", (64, 64), (255, 255, 255)), "PNG")
    ztxt = b"Comment\x00\x00" + zlib.compress(b"\x00" * 100_000_000, 9)
    iend = good.rindex(b"IEND") - 4
    return good[:iend] + _png_chunk(b"zTXt", ztxt) + good[iend:]


def truncated_png() -> bytes:
    """First half of a noisy PNG: the pixel data stops mid-stream."""
    data = _save(Image.effect_noise((400, 300), 80).convert("RGB"), "PNG")
    return data[: len(data) // 2]


def truncated_jpeg() -> bytes:
    """First half of a photo JPEG: the entropy-coded data stops mid-scan."""
    data = _save(photo((800, 600)), "JPEG", quality=90)
    return data[: len(data) // 2]


def png_magic_garbage() -> bytes:
    """The PNG signature followed by noise: looks like a PNG by its first bytes only."""
    return b"\x89PNG\r\n\x1a\n" + random.Random(3).randbytes(2048)


def zero_width_png() -> bytes:
    """A PNG whose IHDR says 0x10 (not a valid PNG)."""
    ihdr = struct.pack(">IIBBBBB", 0, 10, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")


def thin_png() -> bytes:
    """A 1000x10 ribbon (100:1): a valid file with no useful picture in it."""
    return _save(Image.new("RGB", (1000, 10), (255, 255, 255)), "PNG")


def oversize(limit: int = 20 * 1024 * 1024) -> bytes:
    """One byte more than ``limit``, starting like a PNG."""
    head = bomb_png(1000, 1000)
    return head + b"\x00" * (limit + 1 - len(head))


def svg() -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        b'<circle cx="50" cy="50" r="40" fill="red"/></svg>\n'
    )


def pdf() -> bytes:
    """A minimal one-page PDF."""
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 100 100]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def random_bytes() -> bytes:
    """4 KiB of noise, as if someone renamed a random file to drawing.png."""
    return random.Random(7).randbytes(4096)


def tiff() -> bytes:
    return _save(Image.new("RGB", (64, 64), RED), "TIFF")


def heic_header() -> bytes:
    """The start of an iPhone HEIC file (ftyp box, brand heic)."""
    return struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 64


# name -> (generator, the message key it must be refused with)
HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "images.empty"),
    "oversize": (oversize, "images.too_big"),
    "bomb_png": (bomb_png, "images.too_many_pixels"),
    # 100 Mpx: past Pillow's warning threshold (89 Mpx), under its error threshold.
    "bomb_png_warning": (lambda: bomb_png(10_000, 10_000), "images.too_many_pixels"),
    # 64 Mpx: under Pillow's thresholds, over our 50 Mpx default.
    "bomb_png_ours": (lambda: bomb_png(8_000, 8_000), "images.too_many_pixels"),
    "bomb_gif": (bomb_gif, "images.too_many_pixels"),
    "bomb_jpeg": (bomb_jpeg, "images.too_many_pixels"),
    "text_bomb_png": (text_bomb_png, "images.broken"),
    "truncated_png": (truncated_png, "images.broken"),
    "truncated_jpeg": (truncated_jpeg, "images.broken"),
    "png_magic_garbage": (png_magic_garbage, "images.broken"),
    "zero_width_png": (zero_width_png, "images.broken"),
    "thin_png": (thin_png, "images.bad_shape"),
    "svg": (svg, "images.unsupported"),
    "pdf": (pdf, "images.unsupported"),
    "tiff": (tiff, "images.unsupported"),
    "heic": (heic_header, "images.unsupported"),
    "random_bytes": (random_bytes, "images.not_image"),
}


def drawing_png() -> bytes:
    """A small drawing as a chat platform would carry it: one black line on white."""
    image = Image.new("RGB", (320, 240), (255, 255, 255))
    for x in range(60, 260):
        image.putpixel((x, 120), (0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
