"""Fair play against a cheating player and a careless admin: lists, floods, late answers, pings."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.engine import Engine
from bot.judge import Judge
from bot.replies import Quiet, Say, Whisper
from bot.words import CATEGORIES, default_bank
from storage import Database
from tests.helpers import FakeClock, RecordingTransport, chat, command, upload
from tests.imagecorpus import canvas_png
from tests.stubs.openai_server import OpenAIStub

BANK = default_bank()
JUDGE = Judge(BANK)


# --- word lists ---------------------------------------------------------------------------------------


def test_pasting_the_whole_bank_wins_no_word() -> None:
    english = " ".join(word.en for word in BANK)
    assert [w.id for w in BANK if JUDGE.judge(w, english).correct] == []


def test_pasting_one_category_in_korean_wins_no_word() -> None:
    for category in CATEGORIES:
        words = [w for w in BANK if w.category == category]
        korean = " ".join(w.ko for w in words)
        assert [w.id for w in words if JUDGE.judge(w, korean).correct] == [], category


@pytest.mark.parametrize(
    ("secret", "guess"),
    [
        ("apple", "a red apple with a leaf"),
        ("apple", "빨간 사과 같아요"),
        ("giraffe", "a giraffe eating leaves"),
        ("car", "새 차"),
        ("apple", "I think it is an apple"),
    ],
)
def test_natural_guesses_about_one_thing_still_count(secret: str, guess: str) -> None:
    word = BANK.get(secret)
    assert word is not None and JUDGE.judge(word, guess).correct, guess


@pytest.mark.parametrize(
    "guess", ["cat or dog?", "dog or cat", "고양이 아니면 개", "고양이나 개", "cat, dog", "dog / cat", "cat dog house"]
)
def test_two_names_offered_as_alternatives_and_three_names_never_count(guess: str) -> None:
    cat = BANK.get("cat")
    assert cat is not None
    verdict = JUDGE.judge(cat, guess)
    assert not verdict.correct and verdict.kind == "list", guess


def test_the_judge_command_says_a_list_does_not_count() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "judge", "apple", "dog cat apple car house"], capture_output=True, text=True
    )
    assert done.returncode == 1 and "DOES NOT COUNT (list)" in done.stdout


async def test_a_pasted_list_never_wins_and_the_guesser_hears_why_once(engine: Engine, db: Database) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    pasted = " ".join(w.en for w in BANK)[:280]
    pasted = f"{pasted} {word.en}"
    first = await engine.handle(chat(pasted, user="bob"))
    assert [type(r) for r in first] == [Whisper] and "list" in first[0].text
    assert await engine.handle(chat(pasted, user="bob")) == []  # told once
    assert ("s1", "c1") in engine.rounds
    async with db._conn.execute("SELECT COUNT(*) FROM ledger") as cur:
        assert (await cur.fetchone())[0] == 0


# --- length, deadline -----------------------------------------------------------------------------------


async def test_a_huge_guess_is_refused_before_any_work(engine: Engine, db: Database) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    replies = await engine.handle(chat(word.en + " " + "x" * 1_000_000, user="bob"))
    assert [type(r) for r in replies] == [Quiet] and "too long" in replies[0].text
    async with db._conn.execute("SELECT COUNT(*) FROM participants WHERE user_id = 'bob'") as cur:
        assert (await cur.fetchone())[0] == 0  # not even counted as playing
    assert ("s1", "c1") in engine.rounds


async def test_after_the_deadline_nothing_scores_whatever_the_timer_does(
    engine: Engine, db: Database, clock: FakeClock, transport: RecordingTransport
) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    clock.advance(engine.settings.draw_seconds + 0.5)  # the deadline passed; the tick has not run yet
    late = await engine.handle(chat(word.en, user="bob"))
    assert [type(r) for r in late] == [Quiet] and "too late" in late[0].text
    async with db._conn.execute("SELECT COUNT(*) FROM ledger") as cur:
        assert (await cur.fetchone())[0] == 0
    await engine.tick()
    (result,) = transport.results()
    assert "Time's up" in result.text


async def test_a_late_dialect_answer_is_not_kept(engine: Engine, db: Database, clock: FakeClock) -> None:
    await engine.handle(command("dialect"))
    active = engine.rounds[("s1", "c1")]
    assert active.item is not None
    clock.advance(engine.settings.dialect_seconds + 0.5)
    late = await engine.handle(chat(active.item.references[0], user="bob"))
    assert [type(r) for r in late] == [Quiet]
    assert await db.dialect_answers(active.id) == []


@pytest.fixture
async def ai_engine(make_settings, db: Database, clock: FakeClock, stub: OpenAIStub) -> AsyncIterator[Engine]:
    settings = make_settings(openai_base_url=stub.base_url, openai_api_key="k", model_retries=0)
    engine = Engine(settings, db, transport=RecordingTransport(), clock=clock, tick_interval=3600)
    await engine.start()
    yield engine
    await engine.stop()


async def test_the_ai_hedging_between_two_words_does_not_win(ai_engine: Engine, db: Database, stub: OpenAIStub) -> None:
    await ai_engine.handle(command("draw"))
    word = ai_engine.rounds[("s1", "c1")].word
    assert word is not None
    other = next(w for w in BANK if w.id != word.id and w.category != word.category)
    stub.chat_reply = lambda body: f"{word.en} or {other.en}"
    await ai_engine.handle(upload(canvas_png()))
    await ai_engine.idle()
    assert ("s1", "c1") in ai_engine.rounds
    async with db._conn.execute("SELECT COUNT(*) FROM ledger") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_the_ais_answer_after_the_deadline_scores_nothing(
    ai_engine: Engine, db: Database, clock: FakeClock, stub: OpenAIStub
) -> None:
    await ai_engine.handle(command("draw"))
    word = ai_engine.rounds[("s1", "c1")].word
    assert word is not None

    def late(body: dict[str, Any]) -> str:
        clock.advance(ai_engine.settings.draw_seconds + 1)  # the model answers after the round's time
        return word.en

    stub.chat_reply = late
    await ai_engine.handle(upload(canvas_png()))
    await ai_engine.idle()
    async with db._conn.execute("SELECT COUNT(*) FROM ledger") as cur:
        assert (await cur.fetchone())[0] == 0


# --- text an admin sets ---------------------------------------------------------------------------------


async def test_model_ids_that_could_ping_are_refused(engine: Engine) -> None:
    for bad in ("@everyone", "<!channel>", "model@here", "<@123>"):
        replies = await engine.handle(command("model", "drawing", bad, admin=True))
        assert isinstance(replies[0], Say) and "does not look like a model id" in replies[0].text, bad
        assert "@everyone" not in replies[0].text and "<!channel>" not in replies[0].text
    listing = await engine.handle(command("model"))
    assert "@everyone" not in listing[0].text
    ok = await engine.handle(command("model", "drawing", "ft:gpt-4o-mini-2024-07-18:org:canvas:abc", admin=True))
    assert "ft:gpt-4o-mini" in ok[0].text


async def test_a_spaces_own_words_cannot_carry_a_mention(engine: Engine) -> None:
    for bad in ("@everyone", "<!channel>", "@here"):
        replies = await engine.handle(command("word", "add", bad, "모두", admin=True))
        assert "Latin letters" in replies[0].text, bad
    listing = await engine.handle(command("word", "list"))
    assert all("@everyone" not in r.text for r in listing)


# --- hostile files through the command line ---------------------------------------------------------------


def _cli(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims a size, with almost no pixel data (enough for Pillow to read the size)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def _example(text: str) -> str:
    return json.dumps({"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]})


def _image_example(data: bytes) -> str:
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    content = [{"type": "image_url", "image_url": {"url": url}}]
    return json.dumps({"messages": [{"role": "user", "content": content}, {"role": "assistant", "content": "a cat"}]})


def test_dataset_check_reports_hostile_lines_instead_of_crashing(tmp_path: Path) -> None:
    lines = [_example(f"fine {n}") for n in range(12)]
    lines.append('{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}")  # line 13: nested 100,000 deep
    lines.append(json.dumps({"messages": [{"role": ["user"], "content": "x"}, {"role": "assistant", "content": "y"}]}))
    lines.append('{"messages": [{"role": "user", "content": "x"}], "n": ' + "9" * 5_000 + "}")  # line 15
    lines.append(_image_example(_png_header(30_000, 30_000)))  # line 16: a decompression bomb's header
    lines.append(_image_example(_png_header(10_000, 10_000)))  # line 17: 100 MP
    lines.append(_example("a" * (21 * 1024 * 1024)))  # line 18: one line over 20 MB
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = _cli("dataset", "check", str(path), cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # not usable, and said so
    assert "Traceback" not in done.stderr and "DecompressionBomb" not in done.stderr, done.stderr
    report = done.stdout
    for number in range(13, 19):
        assert re.search(rf"\bline {number}\b", report), f"line {number} is not reported:\n{report}"
    assert "nested too deeply" in report and "too long to read" in report and "over 50 MP" in report
    assert "more pixels than can be opened safely" in report
    assert "is not read" in report


def test_label_files_that_hang_or_never_end_are_skipped_one_by_one(tmp_path: Path) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    doc = {
        "id": "DZGS20000001",
        "metadata": {"title": "방언 발화 자료", "category": "일상 대화"},
        "speaker": [{"id": "1", "birthplace": "경상남도", "principal_residence": "경상남도"}],
        "utterance": [
            {"id": "u", "form": "니 밥 뭇나?", "standard_form": "너 밥 먹었니?", "dialect_form": "니 밥 뭇나?"},
        ],
    }
    (folder / "a_good.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    big = json.dumps(doc, ensure_ascii=False).replace('"id": "u"', '"id": ' + "7" * 5_000)
    (folder / "b_big_number.json").write_text(big, encoding="utf-8")
    os.symlink("/dev/zero", folder / "c_zero.json")
    os.mkfifo(folder / "d_fifo.json")
    out = tmp_path / "dialect.jsonl"
    done = _cli("dataset", "dialect", str(folder), "--out", str(out), cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    said = done.stdout + done.stderr
    assert "c_zero.json: not a regular file" in said and "d_fifo.json: not a regular file" in said
    assert "b_big_number.json: invalid JSON" in said
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1  # the good file's pair was still written
    loaded = _cli(
        "bank", "import-dialect", str(folder), "--region", "gyeongsang", "--db", str(tmp_path / "b.db"), cwd=tmp_path
    )
    assert loaded.returncode == 0 and "Loaded 1 sentence into the bank" in loaded.stdout, loaded.stderr


def test_neutralising_twice_changes_nothing_more() -> None:
    from bot.safety import neutralise

    for text in ("<!channel> @everyone a zeppelin", "<@123> hi", "@here\u200b", "plain words"):
        once = neutralise(text)
        assert neutralise(once) == once
        assert "@everyone" not in once and "<!channel>" not in once and "<@123>" not in once
