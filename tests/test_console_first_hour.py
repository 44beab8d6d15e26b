"""The first hour at the console (issue 8), typed as a new player would type it."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.dialect.bank import default_bank
from tests.cli_run import clean_env, console
from tests.stubs.openai_server import OpenAIStub
from tests.test_console_e2e import ConsoleProcess, drawing_file

# --- 2. language -------------------------------------------------------------------------------------


async def test_the_console_speaks_the_terminals_language(tmp_path: Path) -> None:
    english = await console("/help\n/as bob\n/leaderboard\n", cwd=tmp_path, lang="en_US.UTF-8")
    assert "Commands:" in english.out and "(you are now bob)" in english.out
    (tmp_path / "ko").mkdir()
    korean = await console("/help\n/as bob\n/leaderboard\n", cwd=tmp_path / "ko", lang="ko_KR.UTF-8")
    assert "명령어:" in korean.out and "(이제 bob 님입니다)" in korean.out
    # An empty Korean board says "nobody has points" once, not twice.
    assert "점수를 얻은 사람이 없어요" in korean.out and "아직 점수가 없어요" not in korean.out
    chosen = await console("/help\n", cwd=tmp_path, lang="en_US.UTF-8", CATCHBOT_LOCALE="ko")
    assert "명령어:" in chosen.out


async def test_config_locale_switches_the_space_and_the_console_at_once(tmp_path: Path) -> None:
    run = await console(
        "/config locale en\n/as bob\n/config\n/config locale ko\n/as carol\n", cwd=tmp_path, lang="ko_KR"
    )
    out = run.out
    assert "Done: the language is now English." in out and "(you are now bob)" in out
    assert "language English" in out
    assert "완료: 이제 언어 설정은 한국어입니다." in out and "(이제 carol 님입니다)" in out
    assert "locale" not in out.split("/config locale ko")[1]  # no English key leaks into the Korean answer


# --- 6. nothing fails silently --------------------------------------------------------------------------


async def test_nothing_passes_in_silence(tmp_path: Path) -> None:
    picture = drawing_file(tmp_path)
    guesses = "".join(f"guess {n}\n" for n in range(1, 10))  # the ninth within ten seconds is one too many
    script = f"/upload {picture}\n/\n/draw\nmy own word\n/as bob\n{guesses}/upload nowhere.png\n"
    run = await console(script, cwd=tmp_path)
    lines = run.out.splitlines()

    def after(typed: str) -> str:
        return lines[lines.index(f"{typed}") + 1]

    assert "No drawing round is running here, so I did not look at that picture" in after(f"tess> /upload {picture}")
    assert after("tess> /") == "A command name must follow the /: type /help for the list."
    assert "you are drawing, so your messages are not guesses" in after("tess> my own word")
    assert after("bob> guess 8") == "bob> guess 9"  # eight guesses: wrong, and quiet
    assert "Too many guesses: at most 8 guesses" in after("bob> guess 9")
    assert after("bob> /upload nowhere.png") == "Cannot read nowhere.png (no such file)."


# --- 8. usage errors say what was wrong -------------------------------------------------------------------


async def test_usage_errors_name_the_bad_argument(tmp_path: Path) -> None:
    script = "/word add apple 사과 fruit 7\n/word add kite 연 toys\n/word add comet 혜성 nature 7\n"
    script += "/config locale fr\n/config colour blue\n/leaderboard drawing dialect\n/leaderboard week month\n//draw\n"
    run = await console(script, cwd=tmp_path)
    out = run.out
    assert '"fruit" is not a category: use food, animals,' in out
    assert '"toys" is not a category' in out
    assert '"7" is not a difficulty: use 1 (easy), 2 (normal) or 3 (hard).' in out
    assert '"fr" is not allowed for the language: use ko | en.' in out
    assert '"colour" is not a setting: use collect, locale or timezone' in out
    assert 'Pick one game: "drawing" and "dialect" are both games' in out
    assert 'Pick one period: "week" and "month" are both periods' in out
    assert '"//draw" is not a command: commands start with a single /' in out
    assert "is drawing" not in out  # //draw started nothing
    with sqlite3.connect(tmp_path / "game.db") as conn:
        assert conn.execute("SELECT count(*) FROM rounds").fetchone() == (0,)


# --- 7. /word remove by any name the list shows ----------------------------------------------------------


async def test_word_remove_takes_every_name_the_list_shows(tmp_path: Path) -> None:
    script = (
        "/word add zorblax 조르블락\n/word add sky_lantern 풍등 objects 2\n"
        "/word add quibble 퀴블\n/word add glim 글림\n"
        "/word list\n/word remove zorblax\n/word remove 풍등\n/word remove quibble/퀴블\n/word remove custom_glim\n"
        "/word remove zorblax\n/word list\n"
    )
    out = (await console(script, cwd=tmp_path)).out
    assert "This space has 4 words of its own: glim/글림, quibble/퀴블, sky lantern/풍등, zorblax/조르블락" in out
    for shown in ("zorblax/조르블락", "sky lantern/풍등", "quibble/퀴블", "glim/글림"):
        assert f"Removed {shown}." in out
    assert "This space has no word of its own called zorblax" in out
    assert out.rstrip().endswith(
        "This space has no words of its own yet; admins add one with: word add ENGLISH KOREAN [category] [1-3]."
    )
    one = (await console("/word add zorblax 조르블락\n/word list\n", cwd=tmp_path)).out
    assert "This space has 1 word of its own: zorblax/조르블락" in one


# --- 9. the console explains itself ------------------------------------------------------------------------


async def test_help_lists_the_console_commands_and_the_login_name_plays(tmp_path: Path) -> None:
    run = await console("/help\n/draw\n/channel other\n/draw\n", cwd=tmp_path)
    assert "[#other] 🎨 tess is drawing!" in run.out
    for command in ("/upload PATH", "/as NAME", "/channel NAME", "/wait SECONDS", "/quit"):
        assert command in run.out
    assert "[private to tess]" in run.out and "🎨 tess is drawing!" in run.out
    assert "tess #main>" not in run.out  # no prompt when piped: the echo shows who typed


def _read_until(fd: int, wanted: str, timeout: float = 20.0) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {wanted!r} on the terminal; saw {seen.decode(errors='replace')[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            assert chunk, f"terminal closed before {wanted!r}; saw {seen.decode(errors='replace')[-500:]!r}"
            seen += chunk
    return seen.decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_terminal_gets_a_prompt_with_player_and_channel_and_history(tmp_path: Path) -> None:
    import subprocess

    main, child = pty.openpty()
    env = clean_env(CATCHBOT_DB_PATH=str(tmp_path / "game.db"), CATCHBOT_DRAW_SECONDS="3", TERM="dumb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "console", "--user", "alice"],
        stdin=child,
        stdout=child,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
    )
    os.close(child)
    try:
        assert "/help lists the commands" in _read_until(main, "alice #main> ")
        os.write(main, b"/channel art\r")
        _read_until(main, "alice #art> ")
        os.write(main, b"/as bob\r")
        _read_until(main, "bob #art> ")
        os.write(main, b"\x1b[A\x1b[A\r")  # arrow up twice: readline history brings back /channel art
        _read_until(main, "(now in #art)")
        # A message that arrives while a line is half typed is printed above it, and the prompt comes back.
        os.write(main, b"/draw\r")
        _read_until(main, "bob #art> ")
        os.write(main, b"half typed")
        after = _read_until(main, "Time's up!").split("Time's up!", 1)[1]
        if "bob #art> half typed" not in after:
            _read_until(main, "bob #art> half typed")
        os.write(main, b"\r/quit\r")
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)


# --- 4, 5. who is the AI, and its stats ---------------------------------------------------------------------


def _model_answers(secret: dict[str, str]) -> Any:
    sentences = {item.dialect: item.references[0] for item in default_bank()}

    def answer(body: dict[str, Any]) -> str:
        content = body["messages"][-1]["content"]
        if isinstance(content, str):  # a dialect sentence: the AI answers the reference exactly
            return sentences.get(content, "모르겠어요")
        return f"It is a {secret['word']}"

    return answer


@pytest.mark.timeout(120)
async def test_the_ai_is_itself_on_boards_and_its_stats_are_right(tmp_path: Path) -> None:
    picture = drawing_file(tmp_path)
    secret: dict[str, str] = {}
    async with OpenAIStub() as stub:
        stub.chat_reply = _model_answers(secret)
        bot = await ConsoleProcess.start(
            tmp_path / "game.db",
            OPENAI_BASE_URL=stub.base_url,
            OPENAI_API_KEY="sk-test",
            CATCHBOT_DIALECT_SECONDS="3",
        )
        refused = await console("", cwd=tmp_path, args=("--user", "ＡＩ"))
        assert refused.code == 2 and refused.err_lines == ['catchbot: "ＡＩ" is the AI player\'s name; pick another.']
        for name in ("AI", "🤖 AI", "ＡＩ", "a.i.", "catchbot:ai"):
            await bot.send(f"/as {name}")
            await bot.expect("is the AI player's name; pick another")
        # A drawing the AI recognises: the AI wins it.
        await bot.send("/draw")
        secret["word"] = (await bot.expect(r"\[private to alice\] .*: (.+) \(.+\)\.")).group(1)
        await bot.send(f"/upload {picture}")
        won = await bot.expect(r"🤖 The AI got it .* AI \+(\d+), drawer alice \+5")
        ai_points = int(won.group(1))
        # A dialect round: the AI answers the reference and scores 100; bob answers too.
        await bot.send("/dialect")
        await bot.expect(r"dialect: «")
        await bot.send("/as bob")
        await bot.send("zzz")  # scores 0 against every sentence of the bank: no points, no win
        await bot.send("/wait 4")
        ai_line = await bot.expect(r"🤖 AI: .* \(100\.0, \+(\d+)\)")
        ai_points += int(ai_line.group(1))
        await bot.send("/leaderboard both all")
        await bot.expect(r"Leaderboard: all games, all time")
        assert (await bot.expect(r"^1\. (.+): (\d+)$")).group(0) == f"1. 🤖 AI: {ai_points}"
        for who in ("AI", "🤖", "ai"):
            await bot.send(f"/stats {who}")
            stats = (await bot.expect(r"📊 🤖 AI: .*")).group(0)
            assert stats.startswith(f"📊 🤖 AI: 2 rounds played, 1 win, {ai_points} points, best dialect score 100.0")
        await bot.send("/stats bob")
        assert "📊 bob: 1 round played, 0 wins, 0 points, best dialect score" in (await bot.expect(r"📊 bob")).string
        assert await bot.quit() == 0


async def test_a_chat_player_named_like_the_ai_is_marked_human(engine: Any, clock: Any, transport: Any) -> None:
    from bot.events import ChatMessage, Command, Origin
    from bot.rounds import AI_USER

    def said(user: str, name: str) -> Origin:
        return Origin("discord:1", "c1", user, name, is_admin=True)

    await engine.handle(Command(said("u1", "🤖 AI"), "draw"))
    word = engine.rounds[("discord:1", "c1")].word
    for user, name in (("u2", "AI"), ("u3", "ＡＩ"), (AI_USER, "AI")):
        clock.advance(2)
        await engine.handle(ChatMessage(said(user, name), "nope"))
    clock.advance(2)
    await engine.handle(ChatMessage(said("u2", "AI"), word.en))
    (won,) = transport.results()
    assert "👤 AI got it" in won.text
    board = (await engine.handle(Command(said("u4", "dora"), "leaderboard")))[0]
    assert [r.name for r in board.rows] == ["👤 AI", "👤 AI"] and not any(r.is_ai for r in board.rows)
    assert AI_USER not in {r.user for r in board.rows}
    ai_stats = (await engine.handle(Command(said("u4", "dora"), "stats", ("AI",))))[0]
    assert ai_stats.is_ai and ai_stats.text.startswith("📊 🤖 AI: 0 rounds played")
    human = (await engine.handle(Command(said("u4", "dora"), "stats", ("👤", "AI"))))[0]
    assert not human.is_ai and human.user != AI_USER and human.text.startswith("📊 👤 AI:")


# --- 11. a resumed round tells its drawer the word again --------------------------------------------------


@pytest.mark.timeout(60)
async def test_a_resumed_round_whispers_the_word_again(tmp_path: Path) -> None:
    bot = await ConsoleProcess.start(tmp_path / "game.db", CATCHBOT_DRAW_SECONDS="60")
    await bot.send("/draw")
    word = (await bot.expect(r"\[private to alice\] .*: (.+) \((.+)\)\.")).group(1)
    await bot.kill()
    again = await ConsoleProcess.start(tmp_path / "game.db", CATCHBOT_DRAW_SECONDS="60")
    await again.expect("goes on")
    back = await again.expect(r"\[private to alice\] 🤫 I'm back: your word is still (.+) \(")
    assert back.group(1) == word
    assert await again.quit() == 0
    await asyncio.sleep(0)
