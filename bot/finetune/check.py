"""Everything that makes a provider reject or waste a chat fine-tuning file.

:func:`check_file` streams the JSONL file once, collecting problems per line and
token counts for the examples that can train; :func:`format_report` turns the
result into the readable report printed by ``catchbot dataset check``.
``catchbot finetune start`` runs the same check before uploading anything.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import statistics
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.finetune import tokens as tk

MAX_IMAGES_PER_EXAMPLE = 10
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # providers' per-image limit for training files
MAX_IMAGE_PIXELS = 50_000_000  # larger pictures only cost tokens and memory; the bot's own limit too
# A longer line is refused unread: parsing it would take many times its size in memory.
MAX_LINE_BYTES = 20 * 1024 * 1024
MIN_EXAMPLES = 10
# Remote images cannot be measured offline; count them as a square of this side.
REMOTE_IMAGE_SIDE = 512
MAX_LISTED_PROBLEMS = 200

ALLOWED_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
ALLOWED_MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"})
ALLOWED_TOP_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls"})
IMAGE_MIMES = ("image/jpeg", "image/png", "image/webp")
IMAGE_DETAILS = ("low", "high", "auto")

# kind -> (label, is an error that makes the provider reject the file)
KINDS: dict[str, tuple[str, bool]] = {
    "blank_line": ("blank line", True),
    "not_json": ("not JSON", True),
    "not_object": ("not a JSON object", True),
    "unknown_key": ("unknown top-level key", True),
    "no_messages": ("no messages list", True),
    "message_not_object": ("message is not an object", True),
    "missing_role": ("message without role", True),
    "missing_content": ("message without content", True),
    "unknown_role": ("unknown role", True),
    "unknown_message_key": ("unknown message key", True),
    "empty_content": ("empty content", True),
    "bad_content": ("content is not text or content parts", True),
    "bad_weight": ("bad weight", True),
    "no_assistant": ("no assistant message", True),
    "assistant_image": ("image in an assistant message", True),
    "bad_image_url": ("image URL not data: or http(s):", True),
    "bad_image_type": ("image not JPEG, PNG or WEBP", True),
    "image_too_large": ("image over 10 MB", True),
    "too_many_images": (f"more than {MAX_IMAGES_PER_EXAMPLE} images", True),
    "too_few_examples": (f"fewer than {MIN_EXAMPLES} examples", True),
    "too_long": ("over the context limit (truncated)", False),
}

_DATA_URL = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*),(.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Problem:
    line: int  # 1-based; 0 for problems with the whole file
    kind: str
    detail: str = ""

    @property
    def label(self) -> str:
        return KINDS[self.kind][0]

    @property
    def is_error(self) -> bool:
        return KINDS[self.kind][1]


@dataclass(slots=True)
class CheckReport:
    path: Path
    base_model: str | None
    min_examples: int
    epochs: int | None = None
    training: bool = True  # False for a validation file: no epochs, nothing billed
    lines: int = 0
    examples: int = 0  # examples without errors, the ones that would train
    problems: list[Problem] = field(default_factory=list)  # the first MAX_LISTED_PROBLEMS
    counts: Counter[str] = field(default_factory=Counter)
    example_tokens: list[int] = field(default_factory=list)
    assistant_tokens: list[int] = field(default_factory=list)
    images: int = 0
    remote_images: int = 0
    image_tokens_exact: bool = True
    too_long_lines: list[int] = field(default_factory=list)
    cost: tk.CostEstimate | None = None

    def add(self, line: int, kind: str, detail: str = "") -> None:
        self.counts[kind] += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(Problem(line, kind, detail))

    @property
    def error_count(self) -> int:
        return sum(n for kind, n in self.counts.items() if KINDS[kind][1])

    @property
    def usable(self) -> bool:
        return self.error_count == 0

    @property
    def context(self) -> tuple[int, bool]:
        return tk.context_limit(self.base_model)


# --- one example ------------------------------------------------------------


def _text_tokens(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return tk.count_text(value)
    return tk.count_text(json.dumps(value, ensure_ascii=False))


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the image's header (nothing is decoded); None when Pillow cannot read it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns on stderr about a big header; the caller judges the size against its own limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                return im.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _magic_mime(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class _ExampleChecker:
    """Checks one parsed example, adding problems to the report and returning its token count."""

    def __init__(self, report: CheckReport, line: int, detail: str) -> None:
        self.report = report
        self.line = line
        self.default_detail = detail
        self.errors = 0
        self.tokens = 0
        self.assistant_tokens = 0
        self.images = 0

    def problem(self, kind: str, detail: str = "") -> None:
        self.report.add(self.line, kind, detail)
        if KINDS[kind][1]:
            self.errors += 1

    def run(self, obj: Any) -> None:
        if not isinstance(obj, dict):
            self.problem("not_object", type(obj).__name__)
            return
        for key in obj:
            if key not in ALLOWED_TOP_KEYS:
                self.problem("unknown_key", repr(key))
        messages = obj.get("messages")
        if not isinstance(messages, list) or not messages:
            self.problem("no_messages", "missing" if messages is None else "not a non-empty list")
            return
        has_assistant = False
        for index, message in enumerate(messages, start=1):
            has_assistant |= self._message(index, message)
        if not has_assistant:
            self.problem("no_assistant")
        if self.images > MAX_IMAGES_PER_EXAMPLE:
            self.problem("too_many_images", f"{self.images} images")
        for key in ("tools", "functions"):
            if key in obj:
                self.tokens += _text_tokens(obj[key])
        self.tokens += tk.TOKENS_REPLY_PRIMING

    def _message(self, index: int, message: Any) -> bool:
        where = f"message {index}"
        if not isinstance(message, dict):
            self.problem("message_not_object", where)
            return False
        for key in message:
            if key not in ALLOWED_MESSAGE_KEYS:
                self.problem("unknown_message_key", f"{where}: {key!r}")
        role = message.get("role")
        if role is None:
            self.problem("missing_role", where)
        elif not isinstance(role, str) or role not in ALLOWED_ROLES:
            self.problem("unknown_role", f"{where}: {role!r}")
        is_assistant = role == "assistant"
        if "weight" in message and (message["weight"] not in (0, 1) or not is_assistant):
            self.problem("bad_weight", f"{where}: weight must be 0 or 1 and only on assistant messages")
        self.tokens += tk.TOKENS_PER_MESSAGE + (tk.count_text(role) if isinstance(role, str) else 0)
        if isinstance(message.get("name"), str):
            self.tokens += tk.count_text(message["name"]) + tk.TOKENS_PER_NAME
        calls = message.get("tool_calls") or message.get("function_call")
        if calls:
            n = _text_tokens(calls)
            self.tokens += n
            if is_assistant:
                self.assistant_tokens += n
        if "content" not in message or message["content"] is None:
            # An assistant turn may consist of tool calls only.
            if not (is_assistant and calls):
                self.problem("missing_content", where)
            return is_assistant
        n = self._content(where, role, message["content"])
        self.tokens += n
        if is_assistant:
            self.assistant_tokens += n
        return is_assistant

    def _content(self, where: str, role: Any, content: Any) -> int:
        if isinstance(content, str):
            if not content.strip():
                self.problem("empty_content", where)
            return tk.count_text(content)
        if not isinstance(content, list):
            self.problem("bad_content", f"{where}: {type(content).__name__}")
            return 0
        if not content:
            self.problem("empty_content", where)
            return 0
        total = 0
        has_text = False
        errors_before = self.errors
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                has_text |= bool(part["text"].strip())
                total += tk.count_text(part["text"])
            elif kind == "image_url" and isinstance(part.get("image_url"), dict):
                has_text = True
                total += self._image(where, role, part["image_url"])
            else:
                self.problem("bad_content", f"{where}: part {json.dumps(part, ensure_ascii=False)[:60]}")
        if not has_text and self.errors == errors_before:
            self.problem("empty_content", where)
        return total

    def _image(self, where: str, role: Any, spec: dict[str, Any]) -> int:
        self.images += 1
        self.report.images += 1
        if role == "assistant":
            self.problem("assistant_image", where)
        url = spec.get("url")
        detail = str(spec.get("detail") or self.default_detail)
        if detail not in IMAGE_DETAILS:
            self.problem("bad_content", f"{where}: image detail {detail!r} is not low, high or auto")
            return 0
        if not isinstance(url, str):
            self.problem("bad_image_url", f"{where}: no url")
            return 0
        if url.startswith(("http://", "https://")):
            self.report.remote_images += 1
            return self._image_tokens(REMOTE_IMAGE_SIDE, REMOTE_IMAGE_SIDE, detail, exact=False)
        match = _DATA_URL.match(url)
        if not match:
            self.problem("bad_image_url", f"{where}: {url[:40]!r}")
            return 0
        mime, params, payload = match.group(1).lower(), match.group(2), match.group(3)
        if mime not in IMAGE_MIMES:
            self.problem("bad_image_type", f"{where}: declared {mime or 'no type'}")
            return 0
        if ";base64" not in params.lower():
            self.problem("bad_image_type", f"{where}: data URL is not base64")
            return 0
        if len(payload) * 3 // 4 > MAX_IMAGE_BYTES:
            self.problem("image_too_large", f"{where}: about {len(payload) * 3 // 4 / 1e6:.1f} MB")
            return 0
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            self.problem("bad_image_type", f"{where}: invalid base64")
            return 0
        actual = _magic_mime(data[:16])
        if actual is None:
            self.problem("bad_image_type", f"{where}: declared {mime}, bytes are not JPEG, PNG or WEBP")
            return 0
        if actual != mime:
            self.problem("bad_image_type", f"{where}: declared {mime}, bytes are {actual}")
            return 0
        from PIL import Image

        try:
            size = _image_size(data)
        except Image.DecompressionBombError:
            self.problem("image_too_large", f"{where}: its header claims more pixels than can be opened safely")
            return 0
        if size is None:
            self.problem("bad_image_type", f"{where}: {mime} that cannot be decoded")
            return 0
        if size[0] * size[1] > MAX_IMAGE_PIXELS:
            self.problem(
                "image_too_large", f"{where}: {size[0]}×{size[1]} pixels, over {MAX_IMAGE_PIXELS // 1_000_000} MP"
            )
            return 0
        return self._image_tokens(size[0], size[1], detail, exact=True)

    def _image_tokens(self, width: int, height: int, detail: str, *, exact: bool) -> int:
        from bot.ai.image_tokens import image_tokens

        model = tk.base_of(self.report.base_model) if self.report.base_model else "*"
        n, table_exact = image_tokens(model, width, height, detail)
        if not (exact and table_exact):
            self.report.image_tokens_exact = False
        return int(n)


# --- whole file -------------------------------------------------------------


def iter_lines(path: Path) -> Iterable[tuple[int, bytes | None]]:
    """The file's lines; ``None`` for a line over :data:`MAX_LINE_BYTES`, which is skipped unread."""
    with path.open("rb") as fh:
        number = 0
        while line := fh.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := fh.readline(1024 * 1024)) and not rest.endswith(b"\n"):
                    pass
                yield number, None
                continue
            yield number, line


def check_file(
    path: Path,
    *,
    base_model: str | None = None,
    epochs: int | None = None,
    prices: Mapping[str, float] | None = None,
    min_examples: int = MIN_EXAMPLES,
    image_detail: str = "auto",
    training: bool = True,
) -> CheckReport:
    """Check a chat fine-tuning JSONL file (blocking: call it through ``asyncio.to_thread``)."""
    report = CheckReport(path=path, base_model=base_model, min_examples=min_examples, epochs=epochs, training=training)
    limit, _ = tk.context_limit(base_model)
    for number, raw in iter_lines(path):
        report.lines = number
        if raw is None:
            report.add(number, "not_json", f"a line over {MAX_LINE_BYTES // (1024 * 1024)} MB is not read")
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            report.add(number, "not_json", f"not UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        if not line.strip():
            report.add(number, "blank_line")
            continue
        if line.startswith("\ufeff"):
            report.add(number, "not_json", "starts with a byte-order mark")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            report.add(number, "not_json", exc.msg)
            continue
        except RecursionError:
            report.add(number, "not_json", "nested too deeply")
            continue
        except ValueError:
            report.add(number, "not_json", "a number too long to read")
            continue
        checker = _ExampleChecker(report, number, image_detail)
        checker.run(obj)
        if checker.errors:
            continue
        report.examples += 1
        report.example_tokens.append(checker.tokens)
        report.assistant_tokens.append(checker.assistant_tokens)
        if checker.tokens > limit:
            report.add(number, "too_long", f"{checker.tokens:,} tokens > {limit:,}")
            report.too_long_lines.append(number)
    if report.examples < min_examples:
        needed = f"{report.examples} usable example(s), at least {min_examples} needed"
        report.add(0, "too_few_examples", needed)
    report.cost = tk.training_cost(
        report.example_tokens, base_model, prices if prices is not None else {"*": 0.0}, epochs
    )
    return report


# --- report -----------------------------------------------------------------


def _distribution(values: list[int]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    return (
        f"min {ordered[0]:,}, median {statistics.median(ordered):,.0f}, "
        f"mean {statistics.fmean(ordered):,.1f}, p95 {tk.percentile(ordered, 0.95):,.0f}, max {ordered[-1]:,}"
    )


def format_report(report: CheckReport) -> str:
    out: list[str] = []
    base = report.base_model or "an unknown base model (fallback tables)"
    out.append(f"Checking {report.path} for {base}")
    for p in report.problems:
        where = f"line {p.line}" if p.line else "file"
        out.append(f"  {where}: {p.label}" + (f" ({p.detail})" if p.detail else ""))
    listed = len(report.problems)
    total = sum(report.counts.values())
    if total > listed:
        out.append(f"  … and {total - listed:,} more")
    if report.counts:
        out.append("Problems by kind:")
        width = max(len(KINDS[k][0]) for k in report.counts)
        for kind, n in sorted(report.counts.items(), key=lambda kv: (-kv[1], kv[0])):
            label, is_error = KINDS[kind]
            out.append(f"  {label:<{width}}  {n:>7,}{'' if is_error else '  (warning)'}")
    else:
        out.append("No problems found.")
    limit, limit_exact = report.context
    out.append(f"Examples: {report.examples:,} usable of {report.lines:,} line(s)")
    out.append(f"Tokens per example (o200k_base): {_distribution(report.example_tokens)}")
    out.append(f"Assistant tokens per example: {_distribution(report.assistant_tokens)}")
    if report.images:
        note = "" if report.image_tokens_exact else " (image tokens partly estimated)"
        remote = f", {report.remote_images:,} remote" if report.remote_images else ""
        out.append(f"Images: {report.images:,}{remote}{note}")
    out.append(
        f"Over the {limit:,}-token training context{'' if limit_exact else ' (fallback value)'}: "
        f"{len(report.too_long_lines):,} example(s), truncated by the provider"
    )
    cost = report.cost
    # Only the training file is trained on (and billed) epoch after epoch.
    if cost is not None and report.training:
        why = f"provider default for {report.examples:,} examples" if cost.epochs_are_default else "as asked"
        out.append(f"Epochs: {cost.epochs} ({why})")
        out.append(
            f"Billed training tokens: {cost.billed_tokens:,} ({cost.tokens_per_epoch:,} per epoch × {cost.epochs})"
        )
        row = "model not in the price table, '*' row: estimate" if cost.estimated_price else cost.price_row
        out.append(f"Estimated training cost: ${cost.usd:,.2f} at ${cost.price_per_million:,.2f} per 1M tokens ({row})")
    if report.usable:
        out.append("Result: usable.")
    else:
        out.append(f"Result: NOT usable, {report.error_count:,} problem(s) to fix first.")
    return "\n".join(out)
