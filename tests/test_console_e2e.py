"""A scripted console session in a real `python -m bot` process, killed with SIGKILL and restarted.

The test plays like a person at the terminal: it reads the bot's output to learn
the secret word and answers through stdin.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.cli_run import console

TIMEOUT = 20.0


class ConsoleProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []

    @classmethod
    async def start(cls, db: Path, **env: str) -> ConsoleProcess:
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CATCHBOT_", "OPENAI_", "AZURE_"))},
            "CATCHBOT_DB_PATH": str(db),
            "CATCHBOT_LOCALE": "en",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "console",
            "--user",
            "alice",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            cwd=str(db.parent),
        )
        return cls(proc)

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        await self.proc.stdin.drain()

    async def expect(self, pattern: str) -> re.Match[str]:
        """Read output until a line matches ``pattern``."""
        regex = re.compile(pattern)
        assert self.proc.stdout is not None
        while True:
            try:
                raw = await asyncio.wait_for(self.proc.stdout.readline(), TIMEOUT)
            except TimeoutError:
                raise AssertionError(f"no line matched {pattern!r}; output so far: {self.lines[-15:]}") from None
            if not raw:
                stderr = await self.proc.stderr.read() if self.proc.stderr else b""
                raise AssertionError(f"console ended before {pattern!r}; stderr: {stderr.decode()[-2000:]}")
            line = raw.decode().rstrip("\n")
            self.lines.append(line)
            if match := regex.search(line):
                return match

    async def board(self, rows: int) -> dict[str, int]:
        """The all-time board of every game, as {player: points}."""
        await self.send("/leaderboard both all")
        await self.expect(r"Leaderboard: all games, all time")
        board = {}
        for _ in range(rows):
            match = await self.expect(r"^\d+\. (\w+): (\d+)$")
            board[match.group(1)] = int(match.group(2))
        return board

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def quit(self) -> int:
        await self.send("/quit")
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return await asyncio.wait_for(self.proc.wait(), TIMEOUT)


def drawing_file(folder: Path) -> Path:
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    for x in range(50, 350):
        image.putpixel((x, 150), (0, 0, 0, 255))
    path = folder / "drawing.png"
    image.save(path)
    return path


@pytest.mark.timeout(120)
async def test_scripted_session_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "game.db"
    drawing = drawing_file(tmp_path)
    bot = await ConsoleProcess.start(db, CATCHBOT_DRAW_SECONDS="8", CATCHBOT_DIALECT_SECONDS="5")

    # 1. A drawing round won by a human.
    await bot.send("/draw")
    secret = (await bot.expect(r"\[private to alice\] .*: (.+) \((.+)\)\.")).group(1)
    await bot.send(f"/upload {drawing}")
    await bot.expect(r"Drawing 1/4 received")
    await bot.send("/as bob")
    await bot.send("not the word at all")
    await bot.send("/wait 1.1")  # the per-player guess cooldown
    await bot.send(secret)
    won = await bot.expect(r"bob got it .* bob \+(\d+), drawer alice \+(\d+)")
    bob_points, alice_points = int(won.group(1)), int(won.group(2))
    assert 3 <= bob_points <= 10 and alice_points == 5  # speed points; the board must match them below

    # 2. A drawing round that times out.
    await bot.send("/as carol")
    await bot.send("/draw")
    await bot.expect(r"\[private to carol\]")
    await bot.send("/wait 9")
    await bot.expect(r"Time's up! Nobody got it")

    # 3. A dialect round with three answers.
    await bot.send("/dialect jeju")
    await bot.expect(r"Jeju dialect")
    for player, answer in (("bob", "어서 오세요"), ("carol", "모르겠어요"), ("dave", "안녕하세요")):
        await bot.send(f"/as {player}")
        await bot.send(answer)
    await bot.send("/wait 6")
    await bot.expect(r"Time's up! Results")
    results = [await bot.expect(r"^\d\. (\w+): .* \(([\d.]+), \+(\d+)\)") for _ in range(3)]
    dialect_points = {m.group(1): int(m.group(3)) for m in results}
    assert set(dialect_points) == {"bob", "carol", "dave"}
    bob_won_dialect = results[0].group(1) == "bob" and float(results[0].group(2)) > 0

    # 4. The board and stats agree with what was announced.
    expected = {
        "bob": bob_points + dialect_points["bob"],
        "alice": alice_points,
        "carol": dialect_points["carol"],
        "dave": dialect_points["dave"],
    }
    expected = {k: v for k, v in expected.items() if v}
    board_before = await bot.board(len(expected))
    assert board_before == expected
    await bot.send("/stats bob")
    stats_before = (await bot.expect(r"📊 bob: .*")).group(0)
    wins = 1 + int(bob_won_dialect)
    assert f"2 rounds played, {wins} win{'s' if wins != 1 else ''}, {expected['bob']} points" in stats_before

    # 5. A round is open when the process is killed.
    await bot.send("/as erin")
    await bot.send("/draw")
    await bot.expect(r"\[private to erin\]")
    await bot.kill()

    again = await ConsoleProcess.start(db, CATCHBOT_DRAW_SECONDS="8", CATCHBOT_DIALECT_SECONDS="3")
    resumed = await again.expect(r"goes on|while I was away")
    assert resumed
    assert await again.board(len(expected)) == board_before
    await again.send("/stats bob")
    assert (await again.expect(r"📊 bob: .*")).group(0) == stats_before
    assert await again.quit() == 0


async def test_a_second_bot_on_the_same_sqlite_file_is_refused_with_one_sentence(tmp_path: Path) -> None:
    db = tmp_path / "game.db"
    first = await ConsoleProcess.start(db)
    await first.send("/draw")
    await first.expect(r"\[private to alice\]")
    second = await ConsoleProcess.start(db)
    assert await asyncio.wait_for(second.proc.wait(), TIMEOUT) == 2
    assert second.proc.stderr is not None
    said = (await second.proc.stderr.read()).decode().strip().splitlines()
    assert len(said) == 1 and "another catchbot process" in said[0] and "PostgreSQL" in said[0], said
    # The first one never noticed: its round is still its own.
    await first.send("/skip")
    await first.expect(r"skipped the round")
    # Reading the file beside a running bot is fine.
    status = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--db", str(db), "db", "status", stdout=asyncio.subprocess.PIPE, cwd=tmp_path
    )
    out, _ = await status.communicate()
    assert status.returncode == 0 and b"schema version" in out
    assert await first.quit() == 0
    # Once the first has stopped (or died: the kernel drops the lock), the file is free again.
    third = await ConsoleProcess.start(db)
    await third.send("/leaderboard")
    await third.expect(r"Leaderboard")
    assert await third.quit() == 0


async def test_piped_script_runs_to_the_end(tmp_path: Path) -> None:
    script = "/help\n/draw\n/leaderboard\n/skip\n/quit\n"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={
            **os.environ,
            "CATCHBOT_DB_PATH": str(tmp_path / "x.db"),
            "CATCHBOT_LOCALE": "ko",
            "LOGNAME": "tess",
            "USER": "tess",
        },
        cwd=str(tmp_path),
    )
    out, err = await asyncio.wait_for(proc.communicate(script.encode()), TIMEOUT)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    # The default player is the login name; the console's own words are Korean too.
    assert "명령어" in text and "그림을 그립니다" in text and "[tess 님에게만]" in text
    assert "콘솔 명령" in text and "/upload" in text
    assert "라운드를 넘겼어요" in text


async def test_bad_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "CATCHBOT_DRAW_SECONDS": "soon", "CATCHBOT_DB_PATH": str(tmp_path / "x.db")},
        cwd=str(tmp_path),
    )
    _out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "CATCHBOT_DRAW_SECONDS" in lines[0]


async def test_the_readme_script_runs_the_same_way_twice(tmp_path: Path) -> None:
    script = "/draw\n/as bob\napple\n/leaderboard\n"  # the README's piped example
    first = await console(script, cwd=tmp_path, args=("--user", "alice"))
    second = await console(script, cwd=tmp_path, args=("--user", "alice"))
    for run in (first, second):
        assert run.code == 0, run.err
        assert "round this script opened in #main is closed" in run.out
        assert "alice skipped the round" in run.out and "goes on" not in run.out
    assert "[private to alice]" in second.out and "[private to bob]" not in second.out
    assert "already running" not in second.out
