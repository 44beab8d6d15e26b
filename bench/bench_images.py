"""How long upload normalisation takes, and how many image tokens it saves.

    python3 bench/bench_images.py [--runs N] [--max-side PX]

Makes a 12-megapixel photo-like JPEG and a 4096x4096 transparent canvas PNG,
normalises each N times, and prints milliseconds per image (median, p95), bytes in
and out, and the image tokens of what we send (normalised, detail=low) against
sending the original upload at detail=auto. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.ai.image_tokens import image_tokens
from bot.ai.images import NormalisedImage, normalise_image
from tests.imagecorpus import canvas_png, photo

# A tile model, patch models with published multipliers, and the default drawing model.
MODELS = ("gpt-4o", "gpt-4.1-mini", "o4-mini", "gpt-6-luna")


def photo_jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    photo(size, seed=12).save(out, "JPEG", quality=90)
    return out.getvalue()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bench(name: str, data: bytes, runs: int, max_side: int) -> None:
    normalise_image(data, max_side=max_side)  # warm-up: imports, codec tables
    timings: list[float] = []
    cpu: list[float] = []
    result: NormalisedImage | None = None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = normalise_image(data, max_side=max_side)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    assert result is not None
    print(f"\n{name}")
    print(f"  in : {result.source_format} {result.source_width}x{result.source_height}, {len(data):,} bytes")
    print(f"  out: {result.mime} {result.width}x{result.height}, {len(result.data):,} bytes")
    print(
        f"  wall ms over {runs} runs: median {statistics.median(timings):.1f}, p95 {p95(timings):.1f}, "
        f"min {min(timings):.1f}"
    )
    # CPU time is steadier than wall time on a shared machine (the work is one thread).
    print(f"  cpu ms: median {statistics.median(cpu):.1f}, p95 {p95(cpu):.1f}")
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

    start = time.perf_counter()
    photo_bytes = photo_jpeg((4000, 3000))
    drawing_bytes = canvas_png((4096, 4096))
    print(f"made the test images in {time.perf_counter() - start:.1f} s; max_side={args.max_side}")
    bench("12-megapixel photo (JPEG 4000x3000)", photo_bytes, args.runs, args.max_side)
    bench("4096x4096 canvas drawing (transparent PNG)", drawing_bytes, args.runs, args.max_side)


if __name__ == "__main__":
    main()
