"""Drawings uploaded in played rounds become vision training examples (only where collecting is on)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

from PIL import Image

from bot.engine import Engine
from bot.finetune.datasets import build_drawings
from tests.helpers import FakeClock, chat, command, upload


def canvas_png() -> bytes:
    image = Image.new("RGBA", (800, 600), (0, 0, 0, 0))
    for x in range(100, 700):
        for y in (300, 301, 302):
            image.putpixel((x, y), (0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_played_rounds_become_training_examples(engine: Engine, clock: FakeClock, tmp_path: Path) -> None:
    await engine.handle(command("config", "collect", "on", admin=True))
    labels = []
    for _ in range(2):
        await engine.handle(command("draw"))
        word = engine.rounds[("s1", "c1")].word
        assert word is not None
        labels.append(word.ko)
        await engine.handle(upload(canvas_png()))
        await engine.handle(chat(word.en, user="bob"))
        clock.advance(10)
    # Another space played too, without collecting: its drawing must not be exported.
    await engine.handle(command("draw", space="s2"))
    await engine.handle(upload(canvas_png(), space="s2"))
    await engine.handle(command("skip", space="s2"))

    out = tmp_path / "drawings.jsonl"
    result = await build_drawings(engine.settings, out, lang="ko", valid_fraction=0)
    assert result.written == 2
    examples = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [e["messages"][-1] for e in examples] == [{"role": "assistant", "content": label} for label in labels]
    system, user = examples[0]["messages"][0], examples[0]["messages"][1]
    assert system == {"role": "system", "content": engine.settings.drawing_system_prompt}
    url = user["content"][1]["image_url"]["url"]
    header, data = url.split(",", 1)
    assert header in ("data:image/png;base64", "data:image/jpeg;base64")
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        assert image.mode == "RGB" and max(image.size) <= 512
        assert image.getpixel((10, 10)) == (255, 255, 255)  # the transparent canvas became white
