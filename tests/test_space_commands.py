"""Space settings, own words, models, help and the CLI helpers around the bank."""

from __future__ import annotations

import json
from pathlib import Path

from bot import i18n
from bot.cli import main
from bot.config import Settings
from bot.engine import Engine
from storage import Database
from tests.helpers import FakeClock, RecordingTransport, chat, command


async def test_config_needs_an_admin_and_changes_the_space(engine: Engine, db: Database) -> None:
    shown = await engine.handle(command("config"))
    assert "collection of drawings for training off" in shown[0].text
    refused = await engine.handle(command("config", "collect", "on", user="bob"))
    assert "Only admins" in refused[0].text
    assert await db.get_setting("s1", "collect_drawings") is None
    await engine.handle(command("config", "collect", "on", admin=True))
    assert await db.get_setting("s1", "collect_drawings") == "on"
    for zone in ("Mars/Olympus", "Asia", "Asia/" + "x" * 300, "../../etc/passwd", "UTC\x00"):
        bad = await engine.handle(command("config", "timezone", zone, admin=True))
        assert "not a time zone" in bad[0].text
    assert await db.get_setting("s1", "timezone") is None
    await engine.handle(command("config", "locale", "ko", admin=True))
    korean = await engine.handle(command("help"))
    assert "명령어" in korean[0].text


async def test_space_time_zone_moves_the_week_boundary(engine: Engine, db: Database, clock: FakeClock) -> None:
    # Sunday 2026-11-22 23:30 in Seoul is still Sunday 14:30 UTC: week 47 in Seoul.
    clock.now = 1795357800.0  # 2026-11-22T14:30:00Z
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    await engine.handle(chat(word.en, user="bob"))
    seoul_w47 = (await engine.handle(command("leaderboard", "2026-W47")))[0]
    assert [r.name for r in seoul_w47.rows] == ["Bob", "Alice"]  # type: ignore[union-attr]
    await engine.handle(command("config", "timezone", "America/Los_Angeles", admin=True))
    la_w47 = (await engine.handle(command("leaderboard", "2026-W47")))[0]
    assert [r.name for r in la_w47.rows] == ["Bob", "Alice"]  # type: ignore[union-attr]
    clock.now = 1795390200.0  # Monday 2026-11-23 08:30 Seoul = Sunday 15:30 in Los Angeles
    await engine.handle(command("config", "timezone", "Asia/Seoul", admin=True))
    seoul_now = (await engine.handle(command("leaderboard")))[0]
    assert seoul_now.rows == ()  # type: ignore[union-attr]  # a new week in Seoul
    await engine.handle(command("config", "timezone", "America/Los_Angeles", admin=True))
    la_now = (await engine.handle(command("leaderboard")))[0]
    assert [r.name for r in la_now.rows] == ["Bob", "Alice"]  # type: ignore[union-attr]


async def test_own_words_are_played_and_guarded(engine: Engine) -> None:
    clash = await engine.handle(command("word", "add", "apple", "능금사과", admin=True))
    assert "already names" in clash[0].text
    bad = await engine.handle(command("word", "add", "sky_lantern", "lantern", admin=True))
    assert "Hangul" in bad[0].text
    added = await engine.handle(command("word", "add", "sky_lantern", "풍등", "objects", "2", admin=True))
    assert "custom_sky_lantern" in added[0].text
    listed = await engine.handle(command("word", "list"))
    assert "sky lantern/풍등" in listed[0].text
    bank, judge = await engine.bank("s1")
    word = bank.get("custom_sky_lantern")
    assert word is not None and judge.judge(word, "풍등이에요").correct
    other_space, _ = await engine.bank("s2")
    assert other_space.get("custom_sky_lantern") is None
    removed = await engine.handle(command("word", "remove", "custom_sky_lantern", admin=True))
    assert "Removed" in removed[0].text
    assert (await engine.bank("s1"))[0].get("custom_sky_lantern") is None


async def test_model_command_shows_defaults_and_validates(engine: Engine) -> None:
    shown = await engine.handle(command("model"))
    assert engine.settings.drawing_model in shown[0].text and engine.settings.dialect_fallback_model in shown[0].text
    bad = await engine.handle(command("model", "dialect", "bad id with spaces", admin=True))
    assert "does not look like a model id" in bad[0].text or "Use:" in bad[0].text
    await engine.handle(command("model", "dialect", "my-local-model", admin=True))
    assert "my-local-model" in (await engine.handle(command("model")))[0].text
    await engine.handle(command("model", "dialect", "reset", admin=True))
    assert "my-local-model" not in (await engine.handle(command("model")))[0].text


async def test_unknown_command_and_empty_chat(engine: Engine) -> None:
    unknown = await engine.handle(command("@everyone"))
    assert "don't know the command" in unknown[0].text and "@everyone" not in unknown[0].text
    assert await engine.handle(chat("   ")) == []


async def test_stats_for_unknown_player(engine: Engine) -> None:
    replies = await engine.handle(command("stats", "nobody"))
    assert "don't know a player" in replies[0].text


def _aihub_file(folder: Path) -> Path:
    doc = {
        "id": "X",
        "metadata": {"dialect": "제주도"},
        "utterance": [
            {"id": "1", "form": "(혼저)/(어서) 옵서", "standard_form": "어서 오세요", "dialect_form": "혼저 옵서"},
            {"id": "2", "form": "같은 말", "standard_form": "같은 말", "dialect_form": "같은 말"},
        ],
    }
    path = folder / "jeju_0001.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


async def test_imported_ai_hub_sentences_join_a_space_bank(tmp_path: Path, make_settings, clock: FakeClock) -> None:
    source = _aihub_file(tmp_path)
    db_path = tmp_path / "bank.db"
    import asyncio

    known = await Database.open(db_path)
    await known.upsert_player("s1", "alice", "Alice")  # the space has been seen
    await known.close()
    code = await asyncio.to_thread(main, ["--db", str(db_path), "bank", "import-dialect", str(source), "--space", "s1"])
    assert code == 0
    db = await Database.open(db_path)
    settings: Settings = make_settings(db_path=db_path)
    from tests.helpers import RecordingTransport

    engine = Engine(settings, db, transport=RecordingTransport(), clock=clock, tick_interval=3600)
    bank = await engine.sentence_bank("s1")
    imported = [item for item in bank if item.id.startswith("aihub-")]
    assert [(i.region, i.dialect, i.references) for i in imported] == [("jeju", "혼저 옵서", ("어서 오세요",))]
    assert all(not item.id.startswith("aihub-") for item in await engine.sentence_bank("s2"))
    await db.close()


def test_judge_command_exit_codes(capsys) -> None:
    assert main(["judge", "apple", "A red apple with a leaf"]) == 0
    assert "counts" in capsys.readouterr().out
    assert main(["judge", "apple", "pineapple"]) == 1
    assert main(["judge", "car", "cartoon"]) == 1
    assert main(["judge", "달", "달걀"]) == 1


def test_dialect_score_command(capsys) -> None:
    assert main(["dialect-score", "--dialect", "혼저 옵서예", "--reference", "어서 오세요", "어서오세요"]) == 0
    assert capsys.readouterr().out.strip() == "100.0"
    assert main(["dialect-score", "--dialect", "혼저 옵서예", "--reference", "어서 오세요", "혼저 옵서예"]) == 0
    assert capsys.readouterr().out.strip() == "0.0"


async def test_result_of_a_round_is_structured(engine: Engine, transport: RecordingTransport) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    await engine.handle(chat(word.en, user="bob"))
    (result,) = transport.results()
    assert result.answer == word.en and result.lines[0].name == "Bob" and result.lines[0].points == 10


async def test_a_bank_of_ten_thousand_custom_words_is_indexed_off_the_event_loop(
    engine: Engine, db: Database, monkeypatch
) -> None:
    import threading

    import bot.services
    from bot.judge import Judge
    from bot.words import Word

    built_in: list[threading.Thread] = []

    class Watched(Judge):  # the real judge, noting which thread builds it
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            built_in.append(threading.current_thread())
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(bot.services, "Judge", Watched)
    words = [Word(f"custom_w{i}", "custom", 2, f"thing{i}x", f"물건{i}") for i in range(10_000)]
    await db.put_custom_entries("custom_words", "s1", [(w.id, w.to_dict()) for w in words])
    engine.services.forget_bank("s1")
    bank, judge = await engine.services.bank("s1")
    assert bank.get("custom_w9999") is not None and judge.resolve("thing9999x") is not None
    assert built_in and threading.main_thread() not in built_in  # never on the event loop's thread


async def test_forgetting_every_space_rereads_their_settings(engine: Engine, db: Database) -> None:
    assert (await engine.space("s1")).locale == "en"
    await db.set_setting("*", "locale", "ko")  # another process changed what every space inherits
    assert (await engine.space("s1")).locale == "en"  # still the cached view
    engine.services.forget_space("*")  # what the settings listener says for "*" or after a reconnect
    assert (await engine.space("s1")).locale == "ko"


async def test_what_help_offers_is_accepted(engine: Engine) -> None:
    text = (await engine.handle(command("help")))[0].text
    assert "model drawing|dialect reset" in text and "dialect [jeju|gyeongsang|jeolla|chungcheong|gangwon|any]" in text
    assert "judge model|off" in text and "word list - this space's own words; admins:" in text
    offered = [
        ("model", ("dialect", "reset"), True),
        ("config", ("judge", "off"), True),
        ("word", ("list",), False),  # anyone may list the words
        ("dialect", ("any",), False),
    ]
    for name, args, admin in offered:
        reply = (await engine.handle(command(name, *args, admin=admin)))[0].text
        assert "Only admins" not in reply and "Use:" not in reply and "not a" not in reply, (name, args, reply)
    unknown = (await engine.handle(command("nope")))[0].text
    assert "Type help" not in unknown and "help command" in unknown
    korean_help = i18n.text("ko", "core.help")
    assert "내단어 -" in korean_help and "제시어" not in korean_help
