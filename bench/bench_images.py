"""How long upload normalisation takes, against the floor it cannot beat, and what it saves.

    python3 bench/bench_images.py [--runs N] [--max-side PX]

Targets (issue 11): a noisy, EXIF-rotated 12-megapixel phone JPEG (about 7 MB) model-ready
within 15% of the bare reduced-size decode of the same file in the same run (all its
compressed data must be read, so that decode is the floor), and a 4096x4096 RGBA canvas PNG
under 150 ms. Also printed: the image tokens of what is sent (detail=low) against sending the
original at detail=auto. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from bot.ai.image_tokens import image_tokens
from bot.ai.images import NormalisedImage, normalise_image
from tests.imagecorpus import canvas_png

MODELS = ("gpt-4o", "gpt-4.1-mini", "o4-mini", "gpt-6-luna")


def phone_jpeg() -> bytes:
    """A 4000x3000 photo with sensor-like noise (compresses like a real one: ~7 MB), stored sideways."""
    channels = [Image.effect_noise((4000, 3000), 40).point(lambda v, o=o: min(255, v + o)) for o in (0, 20, 40)]
    picture = Image.merge("RGB", channels)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees, as a phone held upright writes it
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def reduced_decode(data: bytes, max_side: int) -> Callable[[], None]:
    """The floor: libjpeg decoding the file at the scale our pipeline asks for, and nothing else."""

    def run() -> None:
        with Image.open(io.BytesIO(data)) as img:
            scale = max_side / max(img.size)
            img.draft("RGB", (round(img.width * scale * 3 / 2), round(img.height * scale * 3 / 2)))
            img.load()

    return run


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up: imports, codec tables
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def show_tokens(result: NormalisedImage) -> None:
    print(f"  {'model':<14}{'original @auto':>16}{'sent @low':>12}{'ratio':>9}  note")
    for model in MODELS:
        before, exact_before = image_tokens(model, result.source_width, result.source_height, "auto")
        after, exact_after = image_tokens(model, result.width, result.height, "low")
        note = "" if exact_before and exact_after else "estimate (auto or unpublished formula)"
        print(f"  {model:<14}{before:>16,}{after:>12,}{before / after:>8.1f}x  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--max-side", type=int, default=512)
    args = parser.parse_args()
    side = args.max_side

    photo, canvas = phone_jpeg(), canvas_png((4096, 4096))
    print(
        f"inputs: phone JPEG {len(photo) / 1e6:.1f} MB (4000x3000, EXIF rotated); canvas PNG {len(canvas) / 1e6:.2f} MB"
    )

    # Interleaved, so that a busy machine slows both sides alike.
    ours, floor = [], []
    for _ in range(args.runs):
        ours += timed(lambda: normalise_image(photo, max_side=side), 1)
        floor += timed(reduced_decode(photo, side), 1)
    result = normalise_image(photo, max_side=side)
    ratio = statistics.median(ours) / statistics.median(floor)
    print("\nphone JPEG → model-ready")
    shape = f"{result.mime} {result.width}x{result.height}"
    print(f"  ours : median {statistics.median(ours):.1f} ms, p95 {p95(ours):.1f} ms → {shape}")
    print(f"  floor: median {statistics.median(floor):.1f} ms (reduced-size decode alone)")
    print(f"  ratio: {ratio:.2f}x the floor (target ≤ 1.15x)")
    show_tokens(result)

    drawing = timed(lambda: normalise_image(canvas, max_side=side), args.runs)
    result = normalise_image(canvas, max_side=side)
    print("\n4096x4096 RGBA canvas PNG → model-ready")
    print(f"  ours : median {statistics.median(drawing):.1f} ms, p95 {p95(drawing):.1f} ms (target < 150 ms)")
    print(f"  out  : {result.mime} {result.width}x{result.height}, {len(result.data):,} bytes")
    show_tokens(result)


if __name__ == "__main__":
    main()
