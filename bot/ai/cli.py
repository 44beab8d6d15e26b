"""``catchbot guess IMAGE`` and ``catchbot translate TEXT``: ask the AI players from a shell.

Handy to check a provider, a model or a fine-tune before a game uses it. Exit
codes: 0 answered, 2 the user must fix something (file, image, configuration),
3 the model could not answer (provider failing, model and fallback gone).

``openai`` and Pillow take most of a second to import, so they are imported
when a command runs, not when the parser is built: ``catchbot --help`` stays quick.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.i18n import text

if TYPE_CHECKING:
    from bot.ai.players import ModelAnswer, ModelGateway
    from bot.config import Settings

EXIT_OK = 0
EXIT_USER = 2
EXIT_UNAVAILABLE = 3


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    guess = sub.add_parser("guess", help="ask the drawing model what an image shows")
    guess.add_argument("image", help="path of a PNG, JPEG, WebP, GIF or BMP file")
    guess.add_argument("--model", help="model id or Azure deployment (default: CATCHBOT_DRAWING_MODEL)")
    guess.set_defaults(handler=guess_command)

    translate = sub.add_parser("translate", help="ask the dialect model for the standard Korean of TEXT")
    translate.add_argument("text", help="the dialect sentence")
    translate.add_argument("--model", help="model id or Azure deployment (default: CATCHBOT_DIALECT_MODEL)")
    translate.set_defaults(handler=translate_command)


def _fail(line: str, code: int) -> int:
    print(line, file=sys.stderr)
    return code


def _gateway(settings: Settings) -> ModelGateway | str:
    """The gateway, or the one line that says why there is none."""
    from bot.ai.client import make_client
    from bot.ai.players import ModelGateway
    from bot.config import ConfigError

    try:
        client = make_client(settings)
    except ConfigError as exc:
        return str(exc)
    if client is None:
        return text(settings.locale, "ai.no_provider")
    return ModelGateway(settings, client)


async def _ask(settings: Settings, call: Callable[[ModelGateway], Awaitable[ModelAnswer]]) -> int:
    from bot.ai.players import AIUnavailable

    gateway = _gateway(settings)
    if isinstance(gateway, str):
        return _fail(gateway, EXIT_USER)
    try:
        answer = await call(gateway)
    except AIUnavailable as exc:
        code = EXIT_USER if exc.reason == "no_model" else EXIT_UNAVAILABLE
        line = exc.message(settings.locale)
        return _fail(f"{line} ({exc.detail})" if exc.detail else line, code)
    finally:
        await gateway.aclose()
    _show(answer, settings.locale)
    return EXIT_OK


def _show(answer: ModelAnswer, locale: str) -> None:
    print(answer.text or "(empty answer)")
    cost = f"${answer.cost_usd:.6f}" + (" (estimated)" if answer.cost_estimated else "")
    image = f", {answer.image_tokens} of them image" if answer.image_tokens else ""
    print(
        f"model {answer.model}, tokens {answer.prompt_tokens} in{image} + {answer.completion_tokens} out,"
        f" cost {cost}, {answer.latency_ms} ms"
    )
    if answer.retired_model:
        print(
            text(locale, "ai.retired_notice", model=answer.retired_model, fallback=answer.model),
            file=sys.stderr,
        )


async def _read_image(path: Path, settings: Settings) -> bytes | str:
    """The file's bytes, or the one line that says why not."""
    locale = settings.locale
    try:
        size = (await asyncio.to_thread(path.stat)).st_size
        if size > settings.upload_max_bytes:
            return text(
                locale,
                "ai.file_too_big",
                path=path,
                size_mb=f"{size / 1048576:.1f}",
                limit_mb=f"{settings.upload_max_bytes / 1048576:.1f}",
            )
        return await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        return text(locale, "ai.file_unreadable", path=path, reason=exc.strerror or type(exc).__name__)


async def guess_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.ai.images import normalise_upload
    from bot.errors import RefusedImage

    data = await _read_image(Path(args.image), settings)
    if isinstance(data, str):
        return _fail(data, EXIT_USER)
    try:
        image = await normalise_upload(
            data,
            max_side=settings.image_max_side,
            max_bytes=settings.upload_max_bytes,
            max_pixels=settings.image_max_pixels,
        )
    except RefusedImage as exc:
        return _fail(exc.message(settings.locale), EXIT_USER)
    return await _ask(settings, lambda gateway: gateway.guess_drawing(image, model=args.model))


async def translate_command(args: argparse.Namespace, settings: Settings) -> int:
    sentence = str(args.text).strip()
    if not sentence:
        return _fail(text(settings.locale, "ai.empty_text"), EXIT_USER)
    return await _ask(settings, lambda gateway: gateway.translate_dialect(sentence, model=args.model))
