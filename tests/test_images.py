"""The upload pipeline on real Pillow images (odd and hostile), and the image-token formulas."""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFile, ImageStat

from bot.ai.image_tokens import image_tokens, patch_count, tile_count
from bot.ai.images import (
    NormalisedImage,
    normalise_image,
    normalise_upload,
    sniff_format,
)
from bot.errors import RefusedImage, UserError
from tests import imagecorpus as corpus

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024

SOURCE_FORMATS = {
    "canvas_png": "PNG",
    "exif_rotated_jpeg": "JPEG",
    "big_rotated_jpeg": "JPEG",
    "mpo_jpeg": "JPEG",
    "cmyk_jpeg": "JPEG",
    "gray16_png": "PNG",
    "palette_png": "PNG",
    "onebit_png": "PNG",
    "la_png": "PNG",
    "big_photo_jpeg": "JPEG",
    "strip_png": "PNG",
    "webp_alpha": "WEBP",
    "animated_gif": "GIF",
    "bmp": "BMP",
    "tiny_png": "PNG",
}


def decoded(result: NormalisedImage) -> Image.Image:
    img = Image.open(io.BytesIO(result.data))
    img.load()
    return img


def is_white(px: tuple[int, ...]) -> bool:
    return all(c >= 235 for c in px[:3])


def is_dark(px: tuple[int, ...]) -> bool:
    return all(c <= 70 for c in px[:3])


def at(img: Image.Image, fx: float, fy: float) -> tuple[int, ...]:
    """The pixel at a fraction of the width and height."""
    return img.getpixel((min(img.width - 1, int(img.width * fx)), min(img.height - 1, int(img.height * fy))))  # type: ignore[return-value]


# --------------------------------------------------------------------------- accepted


def test_every_odd_image_is_listed() -> None:
    assert set(SOURCE_FORMATS) == set(corpus.ODD)


@pytest.mark.parametrize("name", sorted(corpus.ODD))
def test_odd_image_is_normalised(name: str) -> None:
    raw = corpus.ODD[name]()
    result = normalise_image(raw)
    img = decoded(result)

    assert img.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[result.mime]
    assert img.mode == "RGB"
    assert (img.width, img.height) == (result.width, result.height)
    assert max(img.size) <= 512 and min(img.size) >= 1
    assert result.source_format == SOURCE_FORMATS[name]
    # the aspect ratio survives (within rounding of the short side)
    src_ratio = result.source_width / result.source_height
    assert abs(img.width / img.height - src_ratio) <= src_ratio * 0.05 + 1 / img.height
    # all metadata stripped
    assert len(img.getexif()) == 0
    for key in ("exif", "icc_profile", "comment", "xmp", "XML:com.adobe.xmp", "transparency", "dpi"):
        assert key not in img.info
    assert b"Exif" not in result.data
    assert corpus.SECRET.encode() not in result.data


def test_transparent_canvas_is_drawn_black_on_white() -> None:
    result = normalise_image(corpus.canvas_png())
    img = decoded(result)
    assert (result.width, result.height) == (512, 384)
    for corner in ((0.02, 0.02), (0.98, 0.02), (0.02, 0.98), (0.98, 0.98)):
        assert is_white(at(img, *corner))
    # the horizontal arm (y = 0.55) and the body (x = 0.5) stay black
    assert is_dark(at(img, 0.3, 0.55))
    assert is_dark(at(img, 0.5, 0.65))
    colours = img.convert("L").histogram()
    assert sum(colours[235:]) > 0.8 * img.width * img.height  # mostly white paper
    assert sum(colours[:70]) > 0.02 * img.width * img.height  # and visible strokes


@pytest.mark.parametrize("name", ["webp_alpha", "la_png"])
def test_other_alpha_formats_flatten_onto_white(name: str) -> None:
    img = decoded(normalise_image(corpus.ODD[name]()))
    assert is_white(at(img, 0.02, 0.02))
    assert is_dark(at(img, 0.3, 0.55))


def test_palette_transparency_becomes_white_and_strokes_keep_colour() -> None:
    img = decoded(normalise_image(corpus.palette_png()))
    assert is_white(at(img, 0.02, 0.02))  # the transparent index is black in the palette
    r, g, b = at(img, 0.3, 0.55)
    assert b > 200 and r < 60 and g < 60


def test_exif_orientation_is_applied() -> None:
    result = normalise_image(corpus.exif_rotated_jpeg())
    img = decoded(result)
    # stored 400x300 with orientation 6: shown 300 wide, 400 tall
    assert (result.width, result.height) == (300, 400)
    assert (result.source_width, result.source_height) == (300, 400)
    # the red band at the top of the stored pixels now runs down the right-hand side
    for fy in (0.1, 0.5, 0.9):
        r, g, b = at(img, 0.95, fy)
        assert r > 200 and g < 60 and b < 60
        assert is_white(at(img, 0.05, fy))
    assert is_white(at(img, 0.5, 0.02))


def test_exif_orientation_is_applied_with_reduced_scale_decoding() -> None:
    result = normalise_image(corpus.big_rotated_jpeg())
    img = decoded(result)
    assert (result.source_width, result.source_height) == (2000, 3000)
    assert (result.width, result.height) == (341, 512)
    for fy in (0.1, 0.5, 0.9):
        r, g, b = at(img, 0.03, fy)
        assert r > 200 and g < 60 and b < 60
        assert is_white(at(img, 0.9, fy))


def test_multi_picture_jpeg_uses_the_main_picture() -> None:
    assert Image.open(io.BytesIO(corpus.mpo_jpeg())).format == "MPO"
    img = decoded(normalise_image(corpus.mpo_jpeg()))
    assert is_dark(at(img, 0.5, 0.5)) and is_white(at(img, 0.05, 0.05))


def test_cmyk_becomes_rgb_colours() -> None:
    img = decoded(normalise_image(corpus.cmyk_jpeg()))
    r, g, b = at(img, 0.1, 0.1)  # pure cyan ink
    assert r < 60 and g > 180 and b > 180
    assert is_white(at(img, 0.95, 0.05))


def test_sixteen_bit_grey_keeps_its_range() -> None:
    img = decoded(normalise_image(corpus.gray16_png()))
    assert max(at(img, 0.0, 0.5)) < 15
    assert min(at(img, 0.999, 0.5)) > 240
    mid = at(img, 0.5, 0.5)[0]
    assert 110 <= mid <= 145  # scaled, not clipped to white past 255


def test_one_bit_scan_is_downscaled_smoothly() -> None:
    img = decoded(normalise_image(corpus.onebit_png()))
    assert is_white(at(img, 0.02, 0.02)) and is_dark(at(img, 0.3, 0.55))
    grey = img.convert("L").histogram()
    assert sum(grey[60:200]) > 0  # anti-aliased edges: not a nearest-neighbour shrink


def test_animated_gif_uses_the_first_frame() -> None:
    img = decoded(normalise_image(corpus.animated_gif()))
    assert is_dark(at(img, 0.5, 0.5)) and is_white(at(img, 0.05, 0.05))
    reds = sum(n for n, (r, g, b) in img.getcolors(1 << 16) or [] if r > 200 and g < 80)  # type: ignore[misc]
    assert reds == 0


def test_big_phone_photo_is_downscaled() -> None:
    result = normalise_image(corpus.big_photo_jpeg())
    assert (result.source_width, result.source_height) == (6000, 4000)
    assert (result.width, result.height) == (512, 341)
    assert result.mime == "image/jpeg"  # photos compress better as JPEG
    assert len(result.data) < 100_000


def test_wide_strip_keeps_aspect_and_at_least_one_pixel() -> None:
    result = normalise_image(corpus.strip_png())
    assert (result.width, result.height) == (512, 26)
    assert is_dark(at(decoded(result), 0.5, 0.5))
    # 50:1 (the widest accepted) squeezed into 64 px: the short side rounds to 1, not 0
    ribbon = io.BytesIO()
    Image.new("RGB", (1000, 20), (0, 0, 0)).save(ribbon, "PNG")
    tiny = normalise_image(ribbon.getvalue(), max_side=64)
    assert (tiny.width, tiny.height) == (64, 1)


@pytest.mark.parametrize("mode", ["RGBA", "P"])
def test_big_drawings_shrink_in_bands_like_a_plain_resize(mode: str) -> None:
    # 3000x2400 = 7.2 Mpx: over the banding threshold, reduced 2x2 blocks at a time
    if mode == "RGBA":
        raw = corpus.canvas_png((3000, 2400))
    else:
        img = Image.new("P", (3000, 2400), 0)
        img.putpalette([0, 0, 0, 0, 0, 0])  # index 0 transparent black, 1 opaque black
        img.paste(1, (900, 0, 1100, 2400))  # a black pillar, 200 px wide
        buf = io.BytesIO()
        img.save(buf, "PNG", transparency=0)
        raw = buf.getvalue()
    result = decoded(normalise_image(raw))
    source = Image.open(io.BytesIO(raw)).convert("RGBA")
    reference = Image.new("RGB", source.size, (255, 255, 255))
    reference.paste(source, mask=source.getchannel("A"))
    reference = reference.resize(result.size, Image.Resampling.LANCZOS)
    mean_diff = ImageStat.Stat(ImageChops.difference(result, reference).convert("L")).mean[0]
    assert mean_diff < 3, mean_diff  # JPEG noise and box-then-Lanczos, nothing more
    assert is_white(at(result, 0.02, 0.02))


def test_small_images_are_not_enlarged() -> None:
    result = normalise_image(corpus.tiny_png())
    assert (result.width, result.height) == (40, 30)
    big = normalise_image(corpus.canvas_png(), max_side=1024)
    assert (big.width, big.height) == (800, 600)


def test_line_drawing_and_photo_pick_the_smaller_encoding() -> None:
    # a flat two-colour drawing is tiny as PNG
    flat = normalise_image(corpus.bmp())
    assert flat.mime == "image/png"
    png, jpeg = io.BytesIO(), io.BytesIO()
    decoded(flat).save(jpeg, "JPEG", quality=85, optimize=True)
    decoded(flat).save(png, "PNG", optimize=True)
    assert len(flat.data) <= min(png.tell(), jpeg.tell()) * 1.05


def test_data_url_and_repr() -> None:
    result = normalise_image(corpus.tiny_png())
    url = result.data_url()
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == result.data
    assert "data=" not in repr(result) and "40" in repr(result)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (corpus.canvas_png, "PNG"),
        (corpus.exif_rotated_jpeg, "JPEG"),
        (corpus.webp_alpha, "WEBP"),
        (corpus.animated_gif, "GIF"),
        (corpus.bmp, "BMP"),
        (corpus.tiff, None),
        (corpus.svg, None),
        (corpus.pdf, None),
        (corpus.random_bytes, None),
        (lambda: b"", None),
        (lambda: b"BM", None),
    ],
)
def test_sniff_format(make, expected: str | None) -> None:
    assert sniff_format(make()) == expected


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("name", sorted(corpus.HOSTILE))
def test_hostile_upload_is_refused(name: str) -> None:
    make, key = corpus.HOSTILE[name]
    with pytest.raises(RefusedImage) as caught:
        normalise_image(make())
    exc = caught.value
    assert isinstance(exc, UserError)
    assert exc.key == key
    for locale in ("en", "ko"):
        sentence = exc.message(locale)
        assert sentence and "{" not in sentence and "Traceback" not in sentence
    assert re.search(r"[가-힣]", exc.message("ko"))


def test_hostile_uploads_leave_pillow_settings_alone() -> None:
    limit, truncated = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    filters = list(warnings.filters)
    for make, _ in corpus.HOSTILE.values():
        with pytest.raises(RefusedImage):
            normalise_image(make())
    assert Image.MAX_IMAGE_PIXELS == limit and ImageFile.LOAD_TRUNCATED_IMAGES is truncated is False
    assert warnings.filters == filters


def test_limits_are_parameters() -> None:
    drawing = corpus.canvas_png()  # 800x600, ~5 KB
    with pytest.raises(RefusedImage) as caught:
        normalise_image(drawing, max_bytes=1000)
    assert caught.value.key == "images.too_big"
    assert "0" in str(caught.value)
    with pytest.raises(RefusedImage) as caught:
        normalise_image(drawing, max_pixels=100_000)
    assert caught.value.key == "images.too_many_pixels"
    assert "0.1 megapixels" in str(caught.value)
    with pytest.raises(RefusedImage) as caught:
        normalise_image(corpus.oversize())
    assert "20 MB" in str(caught.value) and "20MB" in caught.value.message("ko")
    # exactly at the limit is fine
    assert normalise_image(drawing, max_bytes=len(drawing)).width == 512


def test_a_png_signature_alone_is_not_enough() -> None:
    # the decision comes from the bytes alone (there is no name or content-type input),
    # and Pillow must agree with the magic bytes
    with pytest.raises(RefusedImage) as caught:
        normalise_image(corpus.canvas_png()[:40])
    assert caught.value.key == "images.broken"


def test_locale_files_agree() -> None:
    en = json.loads((ROOT / "bot/locales/en/images.json").read_text(encoding="utf-8"))
    ko = json.loads((ROOT / "bot/locales/ko/images.json").read_text(encoding="utf-8"))
    assert set(en) == set(ko)
    for key in en:
        assert set(re.findall(r"{(\w+)}", en[key])) == set(re.findall(r"{(\w+)}", ko[key])), key
    used = {k.split(".", 1)[1] for _, k in corpus.HOSTILE.values()}
    assert used <= set(en)


# --------------------------------------------------------------------------- memory

_MEASURE = """
import json, resource, sys
from bot.ai.images import normalise_image
from bot.errors import RefusedImage


def peak_kb():
    # VmHWM belongs to this process image; ru_maxrss is not usable here because Linux
    # carries the parent's high-water mark across fork+exec (pytest holds big images).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


data = open(sys.argv[1], "rb").read()
before = peak_kb()
try:
    result = normalise_image(data)
    outcome = f"{result.width}x{result.height}"
except RefusedImage as exc:
    outcome = exc.key
print(json.dumps({"before_kb": before, "peak_kb": peak_kb(), "outcome": outcome}))
"""


def measure(tmp_path: Path, name: str, data: bytes) -> dict[str, int | str]:
    """Normalise ``data`` in a fresh interpreter; Pillow allocates in C, so ask the kernel."""
    path = tmp_path / name
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def megabytes(figures: dict[str, int | str], key: str) -> float:
    return int(figures[key]) / 1024


def test_24_megapixel_jpeg_decodes_in_little_memory(tmp_path: Path) -> None:
    figures = measure(tmp_path, "photo.jpg", corpus.big_photo_jpeg())
    assert figures["outcome"] == "512x341"
    # A full RGB decode alone would be 72 MB; draft mode decodes at a quarter of the size.
    assert megabytes(figures, "peak_kb") < 250, figures
    assert megabytes(figures, "peak_kb") - megabytes(figures, "before_kb") < 60, figures


@pytest.mark.parametrize(
    "name", ["bomb_png", "bomb_png_warning", "bomb_png_ours", "bomb_gif", "bomb_jpeg", "text_bomb_png"]
)
def test_bombs_are_never_decoded(tmp_path: Path, name: str) -> None:
    make, key = corpus.HOSTILE[name]
    figures = measure(tmp_path, name, make())
    assert figures["outcome"] == key
    assert megabytes(figures, "peak_kb") < 250, figures
    assert megabytes(figures, "peak_kb") - megabytes(figures, "before_kb") < 10, figures


# --------------------------------------------------------------------------- async


async def test_normalise_upload_does_not_block_the_loop() -> None:
    photo = corpus.big_photo_jpeg()
    ticks: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    start = time.perf_counter()
    result = await normalise_upload(photo)
    end = time.perf_counter()
    stop.set()
    await task

    assert result.width == 512
    during = [t for t in ticks if start <= t <= end]
    stamps = [start, *during, end]
    longest_gap = max(b - a for a, b in itertools.pairwise(stamps))
    # a blocked loop would show one gap as long as the whole call and no ticks in it
    assert len(during) >= 3, (len(during), end - start)
    assert longest_gap < max(0.05, (end - start) * 0.75), (longest_gap, end - start)


async def test_concurrent_uploads_all_complete() -> None:
    makers = [corpus.canvas_png, corpus.big_photo_jpeg, corpus.webp_alpha, corpus.cmyk_jpeg, corpus.bmp]
    uploads = [make() for make in makers]
    results = await asyncio.gather(*(normalise_upload(u) for u in uploads))
    assert [r.source_format for r in results] == ["PNG", "JPEG", "WEBP", "JPEG", "BMP"]
    with pytest.raises(RefusedImage):
        await normalise_upload(corpus.bomb_png(), max_pixels=1_000_000)


# --------------------------------------------------------------------------- tokens


def test_tile_examples_from_the_guide() -> None:
    assert image_tokens("gpt-4o", 1024, 1024, "high") == (765, True)  # 85 + 4 * 170
    assert image_tokens("gpt-4o", 2048, 4096, "high") == (1105, True)  # 85 + 6 * 170
    assert image_tokens("gpt-4o", 4096, 8192, "low") == (85, True)
    assert tile_count(1024, 1024) == 4 and tile_count(2048, 4096) == 6
    assert image_tokens("gpt-4o-2024-08-06", 512, 512, "high") == (255, True)  # no upscaling: one tile


def test_tile_table_by_model() -> None:
    assert image_tokens("gpt-4o-mini", 1024, 1024, "low") == (2833, True)
    assert image_tokens("gpt-4o-mini-2024-07-18", 1024, 1024, "high") == (2833 + 4 * 5667, True)
    assert image_tokens("gpt-4.1", 1024, 1024, "high") == (765, True)
    assert image_tokens("gpt-5", 1024, 1024, "high") == (70 + 4 * 140, True)
    assert image_tokens("gpt-5-chat-latest", 10, 10, "low") == (70, True)
    assert image_tokens("o3", 1024, 1024, "high") == (75 + 4 * 150, True)
    assert image_tokens("o1-2024-12-17", 100, 100, "low") == (75, True)


def test_patch_examples_from_the_guide() -> None:
    assert patch_count(1024, 1024) == 1024  # 32 * 32, under the 1536 cap
    assert patch_count(1800, 2400) == 1452  # shrunk to 1056x1408: 33 * 44
    assert patch_count(10_000, 10_000) <= 1536
    assert image_tokens("gpt-4.1-mini", 1024, 1024, "high") == (1659, True)  # 1024 * 1.62, rounded up
    assert image_tokens("gpt-4.1-mini", 1800, 2400, "low") == (2353, True)  # 1452 * 1.62
    assert image_tokens("gpt-4.1-nano", 1024, 1024, "low") == (2520, True)  # 1024 * 2.46 = 2519.04
    assert image_tokens("o4-mini", 1024, 1024, "auto") == (1762, True)  # 1024 * 1.72 = 1761.28
    assert image_tokens("gpt-5-mini", 512, 512, "low") == (415, True)  # 256 * 1.62 = 414.72
    # detail does not apply to patch models
    assert image_tokens("gpt-4.1-mini", 800, 600, "low") == image_tokens("gpt-4.1-mini", 800, 600, "high")
    # float noise does not add a token: 1000 patches * 1.62 is 1620, not 1621
    assert image_tokens("gpt-4.1-mini", 32 * 40, 32 * 25, "high") == (1620, True)


def test_fine_tunes_use_their_base_model() -> None:
    assert image_tokens("ft:gpt-4o-2024-08-06:acme:drawings:abc123", 1024, 1024, "high") == (765, True)
    assert image_tokens("ft:gpt-4o-mini-2024-07-18:acme::x1", 64, 64, "low") == (2833, True)
    assert image_tokens("ft:gpt-4.1-mini-2025-04-14:acme:d:x", 1024, 1024, "low") == (1659, True)


def test_unlisted_and_unknown_models_are_estimates() -> None:
    # gpt-6 tiers: the scheme is assumed, the figures are not published
    assert image_tokens("gpt-6-luna", 512, 512, "low") == (256, False)
    assert image_tokens("gpt-6.1-terra", 512, 512, "high") == (256, False)
    assert image_tokens("gpt-6.1-sol", 1024, 1024, "high") == (70 + 4 * 140, False)
    # unknown: gpt-4o high-detail tiles whatever the detail asked, marked inexact
    assert image_tokens("llava-13b", 1024, 1024, "low") == (765, False)
    assert image_tokens("my-azure-deployment", 2048, 4096, "high") == (1105, False)
    assert image_tokens("gpt-4oo", 1024, 1024, "low") == (765, False)  # a prefix counts only as a word


def test_auto_detail_is_an_upper_estimate() -> None:
    assert image_tokens("gpt-4o", 6000, 4000, "auto") == (85 + 6 * 170, False)
    assert image_tokens("gpt-4o", 512, 341, "auto") == (85, False)  # small: assumed low


def test_bad_token_arguments() -> None:
    with pytest.raises(ValueError):
        image_tokens("gpt-4o", 0, 10, "low")
    with pytest.raises(ValueError):
        image_tokens("gpt-4o", 10, 10, "ultra")


# --- memory: every accepted picture under a fixed peak, parallel decodes under a fixed budget ------------

_PEAK_PROBE = """
import resource, sys, threading
from pathlib import Path
from bot.ai import images
datas = [Path(p).read_bytes() for p in sys.argv[1:]]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
failed = []
def one(data):
    try:
        images.normalise_image(data)
    except Exception as exc:
        failed.append(repr(exc))
threads = [threading.Thread(target=one, args=(d,)) for d in datas]
for t in threads:
    t.start()
for t in threads:
    t.join()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024, failed)
"""


def _peak_mb(*paths: Path) -> int:
    """The growth of a fresh process's peak memory (MB) while it normalises these files at once."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_PROBE, *map(str, paths)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    grown, failed = done.stdout.split(" ", 1)
    assert failed.strip() == "[]", failed
    return int(grown)


def test_a_small_webp_that_declares_50_megapixels_is_refused_from_its_header() -> None:
    out = io.BytesIO()
    Image.new("RGB", (7072, 7072), (255, 255, 255)).save(out, "WEBP", quality=1, method=0)
    assert len(out.getvalue()) < 200_000  # a few hundred KB that would decode to ~830 MB
    with pytest.raises(RefusedImage) as refused:
        normalise_image(out.getvalue())
    assert refused.value.key == "images.too_many_pixels"


def test_accepted_pictures_stay_under_the_peak_and_a_burst_under_the_budget(tmp_path: Path) -> None:
    from bot.ai.images import DECODE_BUDGET, PEAK_BYTES

    webp, png = tmp_path / "big.webp", tmp_path / "big.png"
    Image.new("RGB", (4096, 4000), (200, 30, 30)).save(webp, "WEBP", quality=50)  # 16.4 MP: accepted
    Image.new("RGB", (7000, 7000), (200, 30, 30)).save(png, "PNG")  # 49 MP: accepted
    limit = PEAK_BYTES // (1024 * 1024) + 20  # what the pipeline promises, plus the decoder libraries' own
    assert _peak_mb(webp) < limit
    assert _peak_mb(png) < limit
    # A colour key (tRNS) on a big RGB or palette PNG used to cost a full-size RGBA copy on top.
    keyed_rgb, keyed_p = tmp_path / "keyed-rgb.png", tmp_path / "keyed-p.png"
    Image.new("RGB", (7071, 7071), (200, 30, 30)).save(keyed_rgb, "PNG", transparency=(255, 255, 255))
    palette = Image.new("P", (7071, 7071), 1)
    palette.putpalette([0, 0, 0, 200, 30, 30])
    palette.save(keyed_p, "PNG", transparency=0)
    assert _peak_mb(keyed_rgb) < limit
    assert _peak_mb(keyed_p) < limit
    burst = _peak_mb(webp, webp, webp, webp)  # four uploads at once wait for room in the budget
    assert burst < DECODE_BUDGET // (1024 * 1024) + 40
