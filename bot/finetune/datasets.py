"""Training files in the standard chat JSONL format, from AI-Hub labels and from play.

Each line is ``{"messages": [...]}`` built by the same prompt builders the game
uses (:func:`bot.ai.players.dialect_messages` / :func:`drawing_messages`) plus the
wanted assistant answer, so a fine-tuned model is later called exactly as it was
trained. The format is the one OpenAI, Azure OpenAI and open-weights trainers
(TRL, axolotl) read.

Both builders stream: one example at a time goes from the source to the file,
and the train/validation split is decided per example by a seeded hash, so the
same inputs and seed always give the same files whatever the order or the size,
and identical examples never straddle the split.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal, TextIO

from bot.config import Settings
from bot.finetune.check import IMAGE_MIMES, MAX_IMAGE_BYTES
from bot.finetune.errors import FinetuneError
from bot.finetune.progress import ProgressBar

MIN_IMAGE_SIDE = 32  # smaller drawings carry too little to learn from
_TRAINABLE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


def valid_path_for(out: Path) -> Path:
    """``train.jsonl`` → ``train.valid.jsonl`` beside it."""
    name = out.name.removesuffix(".jsonl")
    return out.with_name(f"{name}.valid.jsonl")


def _valid_target(out: Path, valid_out: Path | None, valid_fraction: float) -> Path | None:
    """Where validation examples go: nowhere at fraction 0, else the given path or one beside ``out``."""
    if not 0 <= valid_fraction < 1:
        raise FinetuneError("--valid-fraction must be at least 0 and below 1.")
    if valid_fraction == 0:
        return None
    return valid_out if valid_out is not None else valid_path_for(out)


def goes_to_valid(key: str, fraction: float, seed: int) -> bool:
    """Deterministic split: a stable hash of (seed, key) mapped to [0, 1)."""
    if fraction <= 0:
        return False
    if fraction >= 1:
        return True
    digest = hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


def example_line(messages: list[dict[str, Any]], answer: str) -> str:
    example = {"messages": [*messages, {"role": "assistant", "content": answer}]}
    return json.dumps(example, ensure_ascii=False) + "\n"


class _SplitWriter:
    """Writes train and validation lines to ``*.partial`` files, renamed into place on success."""

    def __init__(self, out: Path, valid_out: Path | None) -> None:
        self.targets = [out] + ([valid_out] if valid_out is not None else [])
        self.partials = [t.with_name(t.name + ".partial") for t in self.targets]
        for target in self.targets:
            target.parent.mkdir(parents=True, exist_ok=True)
        self.files: list[IO[str]] = [p.open("w", encoding="utf-8", newline="\n") for p in self.partials]
        self.counts = [0, 0]

    def write(self, line: str, valid: bool) -> None:
        index = 1 if valid and len(self.files) > 1 else 0
        self.files[index].write(line)
        self.counts[index] += 1

    def finish(self) -> None:
        for fh in self.files:
            fh.close()
        for partial, target in zip(self.partials, self.targets, strict=True):
            partial.replace(target)

    def abort(self) -> None:
        for fh in self.files:
            fh.close()
        for partial in self.partials:
            partial.unlink(missing_ok=True)


@dataclass(slots=True)
class BuildResult:
    out: Path
    valid_out: Path | None
    train: int = 0
    valid: int = 0
    lines: list[str] = field(default_factory=list)  # the summary, ready to print

    @property
    def written(self) -> int:
        return self.train + self.valid


def _breakdown(counts: Counter[str]) -> str:
    if not counts:
        return ""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return " (" + ", ".join(f"{k} {n:,}" for k, n in ordered) + ")"


# --- dialect ------------------------------------------------------------------


def build_dialect(
    settings: Settings,
    paths: Iterable[Path],
    out: Path,
    *,
    valid_out: Path | None = None,
    valid_fraction: float = 0.1,
    seed: int = 0,
    source: Literal["dialect", "pronunciation"] = "dialect",
    limit: int | None = None,
    progress: TextIO | None = None,
) -> BuildResult:
    """AI-Hub label files (files or folders) → chat JSONL; returns counts and a summary."""
    from bot.ai.players import dialect_messages
    from bot.dialect.aihub import ImportStats, iter_label_files, iter_pairs

    paths = [Path(p) for p in paths]
    valid_out = _valid_target(out, valid_out, valid_fraction)
    total_files = sum(1 for _ in iter_label_files(paths))  # paths only: cheap, and gives the bar an end
    stats = ImportStats()
    bar = ProgressBar(total_files, "label files", stream=progress)
    writer = _SplitWriter(out, valid_out)
    try:
        pairs = iter_pairs(paths, source=source, stats=stats, on_file=lambda p: bar.advance(1, p.name))
        for pair in pairs:
            valid = goes_to_valid(f"{pair.dialect}\x00{pair.standard}", valid_fraction, seed)
            writer.write(example_line(dialect_messages(settings, pair.dialect), pair.standard), valid)
            if limit is not None and writer.counts[0] + writer.counts[1] >= limit:
                break
    except BaseException:
        writer.abort()
        bar.close()
        raise
    writer.finish()
    bar.close()
    result = BuildResult(out=out, valid_out=valid_out, train=writer.counts[0], valid=writer.counts[1])
    skipped = sum(stats.files_skipped.values())
    result.lines = [
        f"Files read: {stats.files_read:,}",
        f"Files skipped: {skipped:,}{_breakdown(stats.files_skipped)}",
        *(f"  {name}: {reason}" for name, reason in stats.skipped_files),
        f"Pairs kept: {result.written:,} (train {result.train:,}, valid {result.valid:,})"
        + (f", stopped at --limit {limit:,}" if limit is not None and result.written >= limit else ""),
        f"Pairs dropped: {sum(stats.dropped.values()):,}{_breakdown(stats.dropped)}",
        f"Wrote {out}" + (f" and {valid_out}" if valid_out is not None else ""),
    ]
    return result


# --- drawings -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Prepared:
    data_url: str | None
    skip: str | None


def _prepare_image(data: bytes, max_side: int, max_pixels: int) -> _Prepared:
    """Keep a trainable image as is, re-normalise one that is not, or say why it cannot train."""
    import base64

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt, mode, (width, height) = im.format, im.mode, im.size
            im.load()  # a truncated file fails here, not at training time
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return _Prepared(None, "undecodable")
    if min(width, height) < MIN_IMAGE_SIDE:
        return _Prepared(None, "too small")
    mime = _TRAINABLE_FORMATS.get(fmt or "")
    fits = len(data) <= MAX_IMAGE_BYTES and max(width, height) <= max_side
    if mime in IMAGE_MIMES and mode == "RGB" and fits:
        return _Prepared(f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", None)
    from bot.ai.images import normalise_image
    from bot.errors import UserError

    try:
        image = normalise_image(data, max_side=max_side, max_bytes=max(len(data), 1), max_pixels=max_pixels)
    except (UserError, OSError, ValueError):
        return _Prepared(None, "undecodable")
    if len(image.data) > MAX_IMAGE_BYTES:
        return _Prepared(None, "too large")
    return _Prepared(image.data_url(), None)


async def build_drawings(
    settings: Settings,
    out: Path,
    *,
    space: str | None = None,
    since: datetime | None = None,
    lang: Literal["en", "ko"] = "en",
    valid_out: Path | None = None,
    valid_fraction: float = 0.1,
    seed: int = 0,
    progress: TextIO | None = None,
) -> BuildResult:
    """Drawings collected in play (spaces with collecting on) → vision chat JSONL."""
    import storage
    from bot.ai.players import drawing_messages

    valid_out = _valid_target(out, valid_out, valid_fraction)
    skipped: Counter[str] = Counter()
    seen = 0
    bar = ProgressBar(None, "drawings", stream=progress)
    db = await storage.open_database(settings)
    writer = await asyncio.to_thread(_SplitWriter, out, valid_out)
    try:
        async for rec in db.iter_drawings(space=space, since=since):
            seen += 1
            bar.advance(1)
            label = (rec.label_en if lang == "en" else rec.label_ko) or ""
            if not label.strip():
                skipped["no label"] += 1
                continue
            prepared = await asyncio.to_thread(
                _prepare_image, rec.image, settings.image_max_side, settings.image_max_pixels
            )
            if prepared.skip is not None or prepared.data_url is None:
                skipped[prepared.skip or "undecodable"] += 1
                continue
            line = example_line(drawing_messages(settings, prepared.data_url), label.strip())
            valid = goes_to_valid(f"drawing:{rec.id}", valid_fraction, seed)
            await asyncio.to_thread(writer.write, line, valid)
    except BaseException:
        writer.abort()
        bar.close()
        raise
    finally:
        await db.close()
    await asyncio.to_thread(writer.finish)
    bar.close()
    result = BuildResult(out=out, valid_out=valid_out, train=writer.counts[0], valid=writer.counts[1])
    where = f"space {space}" if space else "every space with collecting on"
    result.lines = [
        f"Drawings read: {seen:,} ({where}" + (f", since {since:%Y-%m-%d}" if since else "") + ")",
        f"Skipped: {sum(skipped.values()):,}{_breakdown(skipped)}",
        f"Examples kept: {result.written:,} (train {result.train:,}, valid {result.valid:,}), labels in {lang}",
        f"Wrote {out}" + (f" and {valid_out}" if valid_out is not None else ""),
    ]
    if seen == 0:
        result.lines.append("No drawings found: switch collecting on in a space with `config collect on`.")
    return result
