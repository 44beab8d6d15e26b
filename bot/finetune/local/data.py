"""Chat JSONL (the files ``dataset dialect`` and ``dataset drawings`` write) as TRL training examples.

The file is read line by line in Python rather than through ``datasets``' JSON loader: Arrow guesses
one schema for a column, and a file whose ``content`` is a string in one message and a list of parts
in another (every vision file: a text system prompt, then a user turn with an image) is rejected.

Text examples come out as ``{"messages": [{"role", "content": str}]}``. Vision examples keep TRL's
multimodal layout, ``{"messages": [... {"type": "image"} ...], "images": [PIL.Image]}`` (every content a
list of parts), with every
``data:`` URL decoded here, since TRL does not fetch or decode image URLs itself.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from pathlib import Path
from typing import Any

from bot.finetune.errors import FinetuneError

ROLES = ("system", "user", "assistant")


# Training pictures keep their size up to this side; only bigger ones are shrunk (as uploads are).
MAX_SIDE = 4096


def _image(url: str, where: str) -> Any:
    from PIL import Image

    from bot.ai.images import normalise_image
    from bot.errors import RefusedImage

    if not url.startswith("data:image/") or ";base64," not in url:
        raise FinetuneError(f"{where}: only data:image/...;base64 image URLs can be trained on locally.")
    try:
        raw = base64.b64decode(url.split(";base64,", 1)[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FinetuneError(f"{where}: the image cannot be decoded ({exc}).") from None
    try:
        # The checks every upload gets (type, bytes, decompression bombs, pixels, shape), and the same
        # flattening onto white: the model trains on pictures as the game will show them to it.
        clean = normalise_image(raw, max_side=MAX_SIDE)
    except RefusedImage as exc:
        raise FinetuneError(f"{where}: {exc}") from None
    return Image.open(io.BytesIO(clean.data)).convert("RGB")


def _message(raw: Any, where: str, images: list[Any]) -> tuple[dict[str, Any], bool]:
    if not isinstance(raw, dict) or raw.get("role") not in ROLES:
        raise FinetuneError(f"{where}: each message needs a role of system, user or assistant.")
    content = raw.get("content")
    if isinstance(content, str):
        return {"role": raw["role"], "content": content}, False
    if not isinstance(content, list):
        raise FinetuneError(f"{where}: a message's content must be text or a list of parts.")
    parts: list[dict[str, Any]] = []
    vision = False
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append({"type": "text", "text": part["text"]})
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            images.append(_image(str(part["image_url"].get("url", "")), where))
            parts.append({"type": "image"})
            vision = True
        else:
            raise FinetuneError(f"{where}: a content part must be text or an image_url.")
    return {"role": raw["role"], "content": parts}, vision


def _as_text(message: dict[str, Any]) -> dict[str, Any]:
    content = message["content"]
    if isinstance(content, list):
        content = "".join(part["text"] for part in content if part["type"] == "text")
    return {"role": message["role"], "content": content}


def read_examples(path: Path) -> tuple[list[dict[str, Any]], str]:
    """The file's examples and their kind, ``"text"`` or ``"vision"``; a bad line is one clear sentence."""
    from bot.finetune.check import MAX_LINE_BYTES, iter_lines

    examples: list[dict[str, Any]] = []
    any_vision = False
    try:
        # The dataset checker's reader: a line over MAX_LINE_BYTES is never read into memory.
        for number, line in iter_lines(path):
            where = f"{path.name} line {number}"
            if line is None:
                raise FinetuneError(f"{where} is over {MAX_LINE_BYTES // (1024 * 1024)} MB.")
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):  # not JSON, not UTF-8, a number too long, nested too deep
                raise FinetuneError(f"{where} is not JSON.") from None
            raw = record.get("messages") if isinstance(record, dict) else None
            if not isinstance(raw, list) or not raw:
                raise FinetuneError(f"{where} has no messages.")
            images: list[Any] = []
            messages = []
            for message in raw:
                converted, vision = _message(message, where, images)
                messages.append(converted)
                any_vision = any_vision or vision
            if messages[-1]["role"] != "assistant":
                raise FinetuneError(f"{where} does not end with the assistant's answer.")
            examples.append({"messages": messages, "images": images})
    except OSError as exc:
        raise FinetuneError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if not examples:
        raise FinetuneError(f"{path} has no examples.")
    if any_vision:
        # One shape for every message, or Arrow cannot hold the column: text becomes a list of parts.
        for example in examples:
            for message in example["messages"]:
                if isinstance(message["content"], str):
                    message["content"] = [{"type": "text", "text": message["content"]}]
        return examples, "vision"
    return [{"messages": [_as_text(m) for m in e["messages"]]} for e in examples], "text"
