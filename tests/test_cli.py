"""The command line as people type it: options anywhere, help that lists them, the terminal's language,
quiet logs, one line per failure, and a quick start for quick commands."""

from __future__ import annotations

import argparse
import importlib
import io
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from bot import cli
from bot.i18n import language_of, terminal_locale
from tests.cli_run import catchbot, clean_env, console
from tests.stubs.openai_server import OpenAIStub


def help_of(*argv: str) -> str:
    out = io.StringIO()
    with pytest.raises(SystemExit) as stop:
        sys.stdout, saved = out, sys.stdout
        try:
            cli.main([*argv, "--help"])
        finally:
            sys.stdout = saved
    assert stop.value.code == 0
    return out.getvalue()


# --- 1. options in the place people type them -----------------------------------------------------


async def test_global_options_work_before_and_after_the_command(tmp_path: Path) -> None:
    after = await console("/quit\n", cwd=tmp_path, args=("--user", "alice", "--db", "after.db"))
    assert after.code == 0, after.err
    before = await catchbot("--db", "before.db", "console", "--user", "bob", stdin="/draw\n/quit\n", cwd=tmp_path)
    assert before.code == 0, before.err
    assert (tmp_path / "after.db").is_file() and (tmp_path / "before.db").is_file()
    assert not (tmp_path / "catchbot.db").exists()
    with sqlite3.connect(tmp_path / "before.db") as conn:
        assert conn.execute("SELECT starter FROM rounds").fetchall() == [("bob",)]
    # Both places at once: the one nearer the end wins, as with any repeated option.
    both = await catchbot("--db", "x.db", "console", "--db", "y.db", stdin="/draw\n", cwd=tmp_path)
    assert both.code == 0 and (tmp_path / "y.db").is_file() and not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ("run",),
        ("console",),
        ("judge",),
        ("dialect-score",),
        ("bank",),
        ("bank", "import-dialect"),
        ("guess",),
        ("translate",),
        ("dataset",),
        ("dataset", "dialect"),
        ("finetune",),
        ("eval",),
    ],
)
def test_every_command_help_lists_the_global_options(argv: tuple[str, ...]) -> None:
    shown = help_of(*argv)
    for option in ("--db", "--env-file", "-v, --verbose"):
        assert option in shown, f"{' '.join(argv)} --help lacks {option}"


def test_options_given_after_a_nested_command_reach_the_settings(tmp_path: Path) -> None:
    parser = cli._build_parser(frozenset(cli.MODULES))
    args = parser.parse_args(["dataset", "check", "x.jsonl", "--db", "nested.db", "-vv"])
    assert args.db == Path("nested.db") and args.verbose == 2
    assert cli.load_cli_settings(args).db_path == Path("nested.db")
    plain = parser.parse_args(["--db", "top.db", "judge", "a", "b"])
    assert plain.db == Path("top.db") and plain.verbose == 0 and plain.env_file is None


def test_the_lazy_command_table_matches_what_each_module_registers() -> None:
    for module, listed in cli.MODULES.items():
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module).register(sub)
        registered = {action.dest: action.help for action in sub._choices_actions}
        assert registered == listed, f"update bot/cli.py MODULES for {module}"


def test_registered_commands_keep_working_through_the_placeholder_table() -> None:
    top = help_of()
    for commands in cli.MODULES.values():
        for name, text in commands.items():
            assert name in top and text in top
    assert "--lang" in help_of("dataset", "drawings")  # a module's own options are untouched


# --- 2. the terminal's language ---------------------------------------------------------------------


def test_terminal_locale_reads_the_environment_like_gettext() -> None:
    assert terminal_locale({}) == "en"
    assert terminal_locale({"LANG": "ko_KR.UTF-8"}) == "ko"
    assert terminal_locale({"LANG": "C.UTF-8"}) == "en"
    assert terminal_locale({"LANG": "ko_KR.UTF-8", "LC_ALL": "en_GB.UTF-8"}) == "en"
    assert terminal_locale({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ko_KR"}) == "ko"
    assert terminal_locale({"LANG": "en_US.UTF-8", "LANGUAGE": "ko:en"}) == "ko"
    assert terminal_locale({"LANG": "fr_FR.UTF-8"}) == "en"
    assert [language_of(t) for t in ("ko", "ko-KR", "en-US", "fr", "", "POSIX")] == ["ko", "ko", "en", "en", None, None]


async def test_cli_errors_speak_the_terminals_language(tmp_path: Path) -> None:
    english = await catchbot("guess", "missing.png", cwd=tmp_path, lang="en_US.UTF-8")
    assert english.code == 2 and english.err_lines == [english.err.strip()]
    assert "Cannot read the image file missing.png" in english.err
    korean = await catchbot("guess", "missing.png", cwd=tmp_path, lang="ko_KR.UTF-8")
    assert korean.code == 2 and "이미지 파일을 읽을 수 없습니다" in korean.err
    chosen = await catchbot("guess", "missing.png", cwd=tmp_path, lang="ko_KR.UTF-8", CATCHBOT_LOCALE="en")
    assert "Cannot read the image file" in chosen.err


async def test_an_operators_slips_are_one_sentence_and_exit_2(tmp_path: Path) -> None:
    missing_env = await catchbot("--env-file", "missing.env", "db", "status", cwd=tmp_path)
    assert missing_env.code == 2
    assert missing_env.err_lines == ["catchbot: --env-file missing.env: there is no such file"]
    typo = await catchbot("--db", "tpyo.db", "db", "status", cwd=tmp_path)
    assert typo.code == 2 and len(typo.err_lines) == 1 and "no SQLite database at tpyo.db" in typo.err
    assert not (tmp_path / "tpyo.db").exists()  # nothing created
    no_dir = await catchbot("dataset", "dialect", "nosuchdir", "--out", "x.jsonl", cwd=tmp_path)
    assert no_dir.code == 2 and len(no_dir.err_lines) == 1
    version = await catchbot("--version", cwd=tmp_path)
    assert version.code == 0 and version.out.startswith("catchbot ")


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "game.db").close()
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "game.db"), "db", "status"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=clean_env(),
    ) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.readline()
        proc.stdout.close()  # `| head -1`
        err = proc.stderr.read().decode()
        proc.wait(30)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


# --- 3 and 13. quiet logs, one line per failure ------------------------------------------------------


async def test_a_broken_image_is_one_stderr_line_and_v_shows_the_log(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, "PNG")
    broken.write_bytes(buffer.getvalue()[:80])
    quiet = await catchbot("guess", str(broken), cwd=tmp_path)
    assert quiet.code == 2
    assert quiet.err_lines == ["That picture is damaged or incomplete; please save it again and resend it."]
    loud = await catchbot("guess", str(broken), "-v", cwd=tmp_path)
    assert loud.code == 2 and len(loud.err_lines) == 2 and "INFO bot.ai.images: refused a broken" in loud.err


async def test_model_calls_log_nothing_by_default_and_everything_with_v(tmp_path: Path) -> None:
    async with OpenAIStub() as stub:
        stub.chat_reply = lambda body: "어서 오세요"
        stub.fail("/v1/chat/completions", status=500, times=1)
        env = {"OPENAI_BASE_URL": stub.base_url, "OPENAI_API_KEY": "sk-test", "CATCHBOT_MODEL_RETRIES": "1"}
        quiet = await catchbot("translate", "혼저 옵서", cwd=tmp_path, **env)
        assert quiet.code == 0, quiet.err
        assert quiet.out.startswith("어서 오세요") and quiet.err == ""
        stub.fail("/v1/chat/completions", status=500, times=1)
        loud = await catchbot("translate", "혼저 옵서", "-v", cwd=tmp_path, **env)
        assert "HTTP Request: POST" in loud.err and "retry 1/1" in loud.err
        level = await catchbot("translate", "혼저 옵서", cwd=tmp_path, CATCHBOT_LOG_LEVEL="INFO", **env)
        assert "HTTP Request: POST" in level.err


async def test_the_console_prints_one_status_line_on_stderr(tmp_path: Path) -> None:
    run = await console("/help\n", cwd=tmp_path)
    assert run.code == 0 and run.err_lines == [f"catchbot on {tmp_path / 'game.db'}; models: none (humans only)"]


# --- 12. start-up --------------------------------------------------------------------------------------


def _modules_after(argv: list[str]) -> set[str]:
    probe = (
        "import sys\n"
        f"sys.argv = ['catchbot', *{argv!r}]\n"
        "from bot.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('MODULES:', ' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=clean_env(), timeout=60)
    # Only the last line: the command's own output (help text names commands like "discord") comes before it.
    (listing,) = [line for line in done.stdout.splitlines() if line.startswith("MODULES: ")]
    return set(listing.split()[1:])


@pytest.mark.parametrize(
    "argv",
    [
        ["judge", "apple", "apple"],
        ["dialect-score", "--dialect", "혼저 옵서", "--reference", "어서 오세요", "어서 오세요"],
        ["--help"],
    ],
)
def test_quick_commands_do_not_load_heavy_libraries(argv: list[str]) -> None:
    loaded = _modules_after(argv)
    assert "bot.cli" in loaded
    for heavy in ("openai", "PIL", "pydantic", "pydantic_settings", "aiohttp", "aiosqlite", "sqlite3", "discord"):
        assert heavy not in loaded, f"catchbot {' '.join(argv)} imported {heavy}"
