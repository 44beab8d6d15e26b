"""A thousand AI answers at once: how long until each is back, through the real engine.

    python3 bench/bench_parallel_ai.py [--rounds N] [--delay S]

Target (issue 11): 1,000 rounds opened at once across 1,000 channels, with a model that takes
2 s to answer: every AI answer back within 3 s of its round start (dialect) or its upload
(drawing), peak RSS under 250 MB. The model is a minimal OpenAI-compatible server in its own
process (so it is not what is measured), answering every chat completion after ``--delay``.
The bot side is the real thing: the engine, a SQLite file, the gateway and the openai client.
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def serve(port: int, delay: float) -> None:
    """The stand-in model: every chat completion answers after ``delay`` seconds."""
    from aiohttp import web

    async def complete(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(delay)
        body = {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "bench-model",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "a zeppelin"}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 90, "completion_tokens": 3, "total_tokens": 93},
        }
        return web.json_response(body)

    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", complete)
    web.run_app(app, host="127.0.0.1", port=port, print=None, backlog=4096)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def drawing() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (800, 600), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((280, 60, 520, 240), outline=(0, 0, 0, 255), width=12)
    draw.line((400, 240, 400, 450), fill=(0, 0, 0, 255), width=12)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


class Clock:
    """The transport: notes when each channel heard the AI."""

    def __init__(self) -> None:
        self.heard: dict[str, float] = {}

    async def deliver(self, space: str, channel: str, replies: Sequence[object]) -> None:
        from bot.replies import Say

        if any(isinstance(r, Say) and "AI" in r.text for r in replies):
            self.heard.setdefault(channel, time.perf_counter())


async def run(game: str, rounds: int, base_url: str, folder: Path) -> None:
    from bot.app import make_gateway
    from bot.config import load_settings
    from bot.engine import Engine
    from bot.events import Command, ImageUpload, Origin
    from storage import open_database

    settings = load_settings(
        None,
        db_path=folder / f"{game}.db",
        locale="en",
        openai_base_url=base_url,
        openai_api_key="bench",
        model_retries=0,
        model_timeout=30,
        daily_call_budget=1_000_000,
    )
    db = await open_database(settings)
    clock = Clock()
    gateway = make_gateway(settings)
    engine = Engine(settings, db, transport=clock, gateway=gateway, tick_interval=3600)
    await engine.start()
    starts: dict[str, float] = {}
    picture = drawing()
    if game == "dialect":

        async def one(c: int) -> None:
            starts[f"c{c}"] = time.perf_counter()
            await engine.handle(Command(Origin("bench", f"c{c}", "p", "P"), "dialect", ()))

        await asyncio.gather(*(one(c) for c in range(rounds)))
    else:
        for c in range(rounds):
            await engine.handle(Command(Origin("bench", f"c{c}", "p", "P"), "draw", ()))

        async def upload(c: int) -> None:
            starts[f"c{c}"] = time.perf_counter()
            origin = Origin("bench", f"c{c}", "p", "P")
            await engine.handle(ImageUpload(origin, picture, "drawing.png", "image/png"))

        await asyncio.gather(*(upload(c) for c in range(rounds)))
    if game == "dialect":
        # A dialect answer is kept until the round's end: it is back when it is in the round.
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            for key, active in engine.rounds.items():
                if active.payload.get("ai") and key[1] not in clock.heard:
                    clock.heard[key[1]] = time.perf_counter()
            if len(clock.heard) >= rounds:
                break
            await asyncio.sleep(0.005)
    await engine.idle()
    waits = sorted(clock.heard[c] - starts[c] for c in clock.heard)
    within = sum(1 for w in waits if w <= 3.0)
    print(
        f"{game:8}: {within:,} of {rounds:,} AI answers within 3 s (target: all); "
        f"median {statistics.median(waits):.2f} s, p99 {waits[int(0.99 * (len(waits) - 1))]:.2f} s, "
        f"last {waits[-1]:.2f} s; answers heard {len(waits):,}"
    )
    await engine.stop()
    await gateway.aclose()
    await db.close()


async def run_all(rounds: int, base: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for game in ("dialect", "drawing"):
            await run(game, rounds, base, Path(tmp))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--delay", str(args.delay)])
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        asyncio.run(run_all(args.rounds, f"http://127.0.0.1:{port}/v1"))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the bot process: {peak:.0f} MB (target < 250 MB); model delay {args.delay} s")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    if "--serve" in sys.argv:
        ns = argparse.ArgumentParser()
        ns.add_argument("--serve", type=int)
        ns.add_argument("--delay", type=float, default=2.0)
        known, _ = ns.parse_known_args()
        serve(known.serve, known.delay)
    else:
        main()
