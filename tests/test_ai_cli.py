"""``guess`` and ``translate`` CLI handlers against the local stub server."""

from __future__ import annotations

import argparse
import inspect
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.ai import cli
from bot.config import Settings, load_settings
from tests.stubs.openai_server import OpenAIStub


def settings_for(stub: OpenAIStub | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"provider": "openai", "locale": "en", "model_timeout": 5.0, "model_retries": 0}
    if stub is not None:
        values["OPENAI_BASE_URL"] = stub.base_url
    values.update(overrides)
    return load_settings(env_file=None, **values)


def write_png(path: Path, size: tuple[int, int] = (900, 600)) -> Path:
    img = Image.new("RGB", size, "white")
    img.paste((30, 120, 30), (200, 150, 700, 450))
    out = io.BytesIO()
    img.save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="catchbot")
    cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_register_adds_both_commands_with_async_handlers() -> None:
    args = parse("guess", "cat.png", "--model", "ft:gpt-4o:stub::x")
    assert (args.image, args.model) == ("cat.png", "ft:gpt-4o:stub::x")
    assert args.handler is cli.guess_command
    assert inspect.iscoroutinefunction(args.handler)
    args = parse("translate", "뭐 하노")
    assert (args.text, args.model) == ("뭐 하노", None)
    assert args.handler is cli.translate_command


async def test_guess_prints_answer_and_details(
    stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.chat_reply = lambda body: "a green box"
    stub.usage = (100, 4)
    image = write_png(tmp_path / "box.png")
    rc = await cli.guess_command(parse("guess", str(image)), settings_for(stub))
    out, err = capsys.readouterr()
    assert rc == 0, err
    first, second = out.strip().splitlines()
    assert first == "a green box"
    assert "gpt-6-luna" in second and "100" in second and "$" in second
    body = stub.chat_requests()[-1]
    assert body["messages"][1]["content"][1]["image_url"]["url"].startswith("data:image/")


async def test_guess_with_model_override(stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = write_png(tmp_path / "box.png")
    rc = await cli.guess_command(parse("guess", str(image), "--model", "vision-x"), settings_for(stub))
    assert rc == 0
    assert stub.chat_requests()[-1]["model"] == "vision-x"
    assert "vision-x" in capsys.readouterr().out


async def test_guess_missing_file(stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = await cli.guess_command(parse("guess", str(tmp_path / "nope.png")), settings_for(stub))
    assert rc == 2
    line = one_line(capsys.readouterr().err)
    assert "Cannot read the image file" in line and "nope.png" in line
    assert stub.requests == []


async def test_guess_directory_is_unreadable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = await cli.guess_command(parse("guess", str(tmp_path)), settings_for(None, OPENAI_API_KEY="sk"))
    assert rc == 2
    assert "Cannot read the image file" in one_line(capsys.readouterr().err)


async def test_guess_refused_image(stub: OpenAIStub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("this is not a picture at all\n" * 20)
    rc = await cli.guess_command(parse("guess", str(fake)), settings_for(stub))
    assert rc == 2
    one_line(capsys.readouterr().err)
    assert stub.requests == []


async def test_guess_file_above_upload_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * 4096)
    rc = await cli.guess_command(
        parse("guess", str(big)), settings_for(None, OPENAI_API_KEY="sk", upload_max_bytes=1024)
    )
    assert rc == 2
    assert "upload limit" in one_line(capsys.readouterr().err)


async def test_no_model_configured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = write_png(tmp_path / "box.png")
    rc = await cli.guess_command(parse("guess", str(image)), settings_for(None, provider="none"))
    assert rc == 2
    assert "No model provider is set up" in one_line(capsys.readouterr().err)
    rc = await cli.translate_command(parse("translate", "우짜노"), settings_for(None, provider="none"))
    assert rc == 2
    one_line(capsys.readouterr().err)


async def test_provider_without_key_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    rc = await cli.translate_command(parse("translate", "우짜노"), settings_for(None))
    assert rc == 2
    assert "OPENAI_API_KEY" in one_line(capsys.readouterr().err)


async def test_translate_prints_answer(stub: OpenAIStub, capsys: pytest.CaptureFixture[str]) -> None:
    stub.chat_reply = lambda body: "어떻게 하니?"
    rc = await cli.translate_command(parse("translate", "우짜노?"), settings_for(stub))
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert out.splitlines()[0] == "어떻게 하니?"
    assert stub.chat_requests()[-1]["messages"][1]["content"] == "우짜노?"


async def test_translate_empty_text(stub: OpenAIStub, capsys: pytest.CaptureFixture[str]) -> None:
    rc = await cli.translate_command(parse("translate", "   "), settings_for(stub))
    assert rc == 2
    assert "no text" in one_line(capsys.readouterr().err)
    assert stub.requests == []


async def test_translate_provider_failing_exits_3(stub: OpenAIStub, capsys: pytest.CaptureFixture[str]) -> None:
    stub.fail("/chat/completions", 503, times=None)
    rc = await cli.translate_command(parse("translate", "우짜노"), settings_for(stub, model_retries=1))
    assert rc == 3
    assert "could not answer" in one_line(capsys.readouterr().err)
    assert len(stub.chat_requests()) == 2


async def test_translate_models_retired_exits_3_in_korean(stub: OpenAIStub, capsys: pytest.CaptureFixture[str]) -> None:
    stub.missing_models.update({"gpt-6-luna", "gpt-6.1-terra"})
    rc = await cli.translate_command(parse("translate", "우짜노"), settings_for(stub, locale="ko"))
    assert rc == 3
    line = one_line(capsys.readouterr().err)
    assert "대체 모델" in line and "gpt-6.1-terra" in line


async def test_fallback_answer_mentions_the_retired_model(stub: OpenAIStub, capsys: pytest.CaptureFixture[str]) -> None:
    stub.missing_models.add("gpt-6-luna")
    rc = await cli.translate_command(parse("translate", "우짜노"), settings_for(stub))
    out, err = capsys.readouterr()
    assert rc == 0
    assert "gpt-6.1-terra" in out
    assert "gpt-6-luna" in one_line(err)
