"""Shared helpers for the tests/test_finetune_*.py files (this module itself holds no tests)."""

from __future__ import annotations

import argparse
import base64
import inspect
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image

from bot.config import Settings
from bot.finetune.cli import register

SYSTEM = "다음은 한국어를 소리 나는 대로 적은 것입니다. 만약 이것이 방언이라면 표준어로 바꾸세요."


def make_settings(tmp_path: Path, base_url: str | None = None, **overrides: Any) -> Settings:
    """Settings for one test: its own SQLite file, the stub as provider (or none), no .env."""
    values: dict[str, Any] = {
        "db_path": tmp_path / "catchbot.db",
        "provider": "openai" if base_url else "none",
        # These two are read under their environment names (validation aliases).
        "OPENAI_BASE_URL": base_url,
        "OPENAI_API_KEY": "sk-test" if base_url else None,
        "model_retries": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="catchbot")
    root.add_argument("--db", type=Path)
    register(root.add_subparsers(dest="command", required=True))
    return root


async def run_cli(argv: list[str], settings: Settings) -> int:
    """Parse ``argv`` with our commands and run the handler the way bot/cli.py does."""
    args = parser().parse_args(argv)
    result = args.handler(args, settings)
    if inspect.isawaitable(result):
        result = await result
    return int(result)


def png_bytes(width: int = 64, height: int = 64, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    image = Image.new("RGB", (width, height), (255, 255, 255))
    for x in range(width // 4, 3 * width // 4):
        for y in range(height // 4, 3 * height // 4):
            image.putpixel((x, y), colour)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(width: int = 64, height: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buf, format="JPEG")
    return buf.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def dialect_example(user: str, assistant: str, system: str = SYSTEM) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
            {"role": "assistant", "content": assistant},
        ]
    }


def write_jsonl(path: Path, examples: list[Any]) -> Path:
    lines = [e if isinstance(e, str) else json.dumps(e, ensure_ascii=False) for e in examples]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def good_dialect_file(path: Path, n: int = 12) -> Path:
    return write_jsonl(path, [dialect_example(f"그러니께 {i}번 그랬슈", f"그러니까 {i}번 그랬어요") for i in range(n)])
