"""`catchbot dataset dialect|drawings`: AI-Hub files and collected drawings -> chat JSONL."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.ai.players import dialect_messages, drawing_messages
from storage import Database
from tests.test_finetune_support import (
    data_url,
    jpeg_bytes,
    make_settings,
    png_bytes,
    read_jsonl,
    run_cli,
)


def write_json(path: Path, doc: Any, *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(("\ufeff" if bom else "") + json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def utt(form: str, standard: str = "", dialect: str = "") -> dict[str, Any]:
    return {"id": "u", "form": form, "standard_form": standard, "dialect_form": dialect, "speaker_id": "1"}


def sentence(dialect: str, pronunciation: str, standard: str) -> dict[str, Any]:
    return {"speakerId": "S1", "dialect": dialect, "pronunciation": pronunciation, "standard": standard}


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    root = tmp_path / "aihub"
    # 2020 regional layout (utterance[].form / standard_form / dialect_form).
    write_json(
        root / "경상도" / "[라벨]경상도_학습데이터_1" / "DZGS0001.json",
        {
            "id": "DZGS0001",
            "metadata": {"title": "방언 발화"},
            "utterance": [
                utt("(그케)/(그렇게) 하믄 (안되나)/(안 되나)"),
                utt("뭐라카노", standard="뭐라고 하니", dialect="뭐라카노"),
                utt("오늘 날씨가 좋네요", standard="오늘 날씨가 좋네요"),  # same -> dropped
                utt("거기 (()) 갔다"),  # unclear -> dropped
            ],
        },
    )
    # Senior-speaker layout (transcription.sentences[]), written with a UTF-8 BOM.
    write_json(
        root / "제주도" / "[라벨]제주도_1인발화" / "JJ_0001.json",
        {
            "fileName": "JJ_0001",
            "transcription": {
                "sentences": [
                    sentence(
                        "삼춘도 초신 멘드라 봐수꽈",
                        "삼춘도 초신 멘드라 봐쑤꽈",
                        "할아버지도 짚신 만들어 봤습니까",
                    ),
                    sentence("혼저 옵서", "혼저 옵써", "어서 오세요"),
                ]
            },
        },
        bom=True,
    )
    (root / "broken.json").write_text('{"utterance": [', encoding="utf-8")
    write_json(root / "list.json", [{"utterance": []}])
    return root


EXPECTED_PAIRS = [
    ("그케 하믄 안되나", "그렇게 하믄 안 되나"),
    ("뭐라카노", "뭐라고 하니"),
    ("삼춘도 초신 멘드라 봐수꽈", "할아버지도 짚신 만들어 봤습니까"),
    ("혼저 옵서", "어서 오세요"),
]


def expected_lines(settings: Any, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "messages": [
                {"role": "system", "content": settings.dialect_system_prompt},
                {"role": "user", "content": dialect},
                {"role": "assistant", "content": standard},
            ]
        }
        for dialect, standard in pairs
    ]


async def test_dialect_dataset_content_and_summary(
    tmp_path: Path, labels: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path)
    out = tmp_path / "out" / "dialect.jsonl"
    code = await run_cli(["dataset", "dialect", str(labels), "--out", str(out), "--valid-fraction", "0"], settings)
    assert code == 0
    assert read_jsonl(out) == expected_lines(settings, EXPECTED_PAIRS)
    # Exactly the prompt the game sends, plus the answer.
    first = read_jsonl(out)[0]["messages"]
    assert first[:2] == dialect_messages(settings, EXPECTED_PAIRS[0][0])
    # One object per line, UTF-8 text (not \u escapes), no blank lines, no leftovers.
    raw = out.read_text(encoding="utf-8")
    assert raw.endswith("}\n") and "\n\n" not in raw and "그케" in raw
    assert not (tmp_path / "out" / "dialect.valid.jsonl").exists()
    assert not list((tmp_path / "out").glob("*.partial"))

    captured = capsys.readouterr()
    summary = captured.out.splitlines()
    assert "Files read: 2" in summary
    assert "Files skipped: 2 (invalid JSON 1, not a JSON object (list) 1)" in summary
    assert "Pairs kept: 4 (train 4, valid 0)" in summary
    assert "Pairs dropped: 2 (same 1, unclear 1)" in summary
    assert any(line.strip().endswith("broken.json: invalid JSON") for line in summary)
    # The progress bar went to stderr (one closing line when stderr is not a terminal).
    assert "label files [" in captured.err and "4/4" in captured.err


async def test_dialect_dataset_pronunciation_source_and_limit(tmp_path: Path, labels: Path) -> None:
    settings = make_settings(tmp_path)
    out = tmp_path / "p.jsonl"
    argv = ["dataset", "dialect", str(labels / "제주도"), "--out", str(out), "--valid-fraction", "0"]
    assert await run_cli([*argv, "--source", "pronunciation"], settings) == 0
    assert read_jsonl(out) == expected_lines(
        settings,
        [("삼춘도 초신 멘드라 봐쑤꽈", "할아버지도 짚신 만들어 봤습니까"), ("혼저 옵써", "어서 오세요")],
    )
    assert await run_cli([*argv, "--limit", "1"], settings) == 0
    assert read_jsonl(out) == expected_lines(settings, EXPECTED_PAIRS[2:3])


async def test_dialect_split_is_seeded_and_deterministic(tmp_path: Path, labels: Path) -> None:
    settings = make_settings(tmp_path)
    # Enough pairs for the split to mean something: 40 more senior files.
    for i in range(40):
        write_json(
            labels / "충청도" / f"CC_{i:04d}.json",
            {"transcription": {"sentences": [sentence(f"그랬슈 {i}", f"그랟슈 {i}", f"그랬어요 {i}")]}},
        )
    results = {}
    for run, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        out = tmp_path / run / "train.jsonl"
        argv = [
            "dataset",
            "dialect",
            str(labels),
            "--out",
            str(out),
            "--valid-fraction",
            "0.25",
            "--seed",
            seed,
        ]
        assert await run_cli(argv, settings) == 0
        valid = tmp_path / run / "train.valid.jsonl"  # beside --out by default
        results[run] = (read_jsonl(out), read_jsonl(valid))
    train_a, valid_a = results["a"]
    assert results["b"] == results["a"]  # same seed, same files
    assert results["c"] != results["a"]  # another seed, another split
    assert len(train_a) + len(valid_a) == 44
    assert 0 < len(valid_a) < 44 * 0.5
    everything = {json.dumps(x, ensure_ascii=False) for x in train_a + valid_a}
    assert len(everything) == 44
    # --valid-out puts the validation file elsewhere.
    elsewhere = tmp_path / "v" / "held-out.jsonl"
    argv = [
        "dataset",
        "dialect",
        str(labels),
        "--out",
        str(tmp_path / "d.jsonl"),
        "--valid-fraction",
        "0.25",
        "--seed",
        "7",
        "--valid-out",
        str(elsewhere),
    ]
    assert await run_cli(argv, settings) == 0
    assert read_jsonl(elsewhere) == valid_a


async def test_dialect_dataset_nothing_written_exits_2(
    tmp_path: Path, labels: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path)
    argv = ["dataset", "dialect", str(labels / "broken.json"), "--out", str(tmp_path / "x.jsonl")]
    assert await run_cli(argv, settings) == 2
    err = capsys.readouterr().err
    assert "catchbot: No sentence pair was written" in err and "Traceback" not in err
    assert (
        await run_cli(["dataset", "dialect", str(tmp_path / "nope"), "--out", str(tmp_path / "x.jsonl")], settings) == 2
    )
    assert "catchbot: Not found:" in capsys.readouterr().err


# --- drawings ---------------------------------------------------------------------


def rgba_png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 0, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()


async def add_drawings(db: Database, space: str, drawings: list[tuple[bytes, str, str]]) -> None:
    now = time.time()
    round_id = await db.open_round(
        space=space,
        channel="main",
        game="drawing",
        starter="u1",
        secret="apple",
        locale="ko",
        payload={},
        started_at=now,
        ends_at=now + 60,
    )
    for n, (image, en, ko) in enumerate(drawings):
        try:
            with Image.open(io.BytesIO(image)) as im:
                width, height = im.size
        except OSError:
            width, height = 0, 0
        await db.add_drawing(
            round_id=round_id,
            space=space,
            user="u1",
            upload_no=n,
            image=image,
            mime="image/png",
            width=width,
            height=height,
            word_id="apple",
            label_en=en,
            label_ko=ko,
            at=now,
        )
    await db.close_round(round_id, status="won", closed_at=now + 30, winner="u2")


async def test_drawings_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path)
    good_png, good_jpeg = png_bytes(64, 64), jpeg_bytes(80, 60)
    db = await Database.open(settings.db_path)
    try:
        await db.set_setting("guild-1", "collect_drawings", "on")
        await add_drawings(
            db,
            "guild-1",
            [
                (good_png, "apple", "사과"),
                (good_jpeg, "apple", "사과"),
                (rgba_png(900, 600), "apple", "사과"),  # RGBA and too big a side: re-normalised
                (png_bytes(16, 16), "apple", "사과"),  # too small
                (b"not an image at all", "apple", "사과"),  # undecodable
                (png_bytes(64, 64), "", ""),  # no label
            ],
        )
        # Collecting is off in this space: its drawings never reach a dataset.
        await add_drawings(db, "guild-2", [(png_bytes(), "cat", "고양이")])
    finally:
        await db.close()

    out = tmp_path / "drawings.jsonl"
    code = await run_cli(["dataset", "drawings", "--out", str(out), "--lang", "ko", "--valid-fraction", "0"], settings)
    assert code == 0
    lines = read_jsonl(out)
    assert len(lines) == 3
    # Trainable images are kept byte for byte, inside the game's own prompt.
    assert lines[0] == {
        "messages": [
            *drawing_messages(settings, data_url(good_png)),
            {"role": "assistant", "content": "사과"},
        ]
    }
    assert lines[1]["messages"][:2] == drawing_messages(settings, data_url(good_jpeg, "image/jpeg"))
    # The RGBA 900x600 one was re-normalised: RGB, JPEG or PNG, within the max side.
    url = lines[2]["messages"][1]["content"][1]["image_url"]["url"]
    head, payload = url.split(",", 1)
    assert head in ("data:image/png;base64", "data:image/jpeg;base64")
    with Image.open(io.BytesIO(base64.b64decode(payload))) as im:
        assert im.mode == "RGB" and max(im.size) <= settings.image_max_side
    summary = capsys.readouterr().out.splitlines()
    assert "Skipped: 3 (no label 1, too small 1, undecodable 1)" in summary
    assert "Examples kept: 3 (train 3, valid 0), labels in ko" in summary

    # English labels, one space, nothing since tomorrow.
    assert (
        await run_cli(
            ["dataset", "drawings", "--out", str(out), "--space", "guild-1", "--valid-fraction", "0"],
            settings,
        )
        == 0
    )
    assert [x["messages"][-1]["content"] for x in read_jsonl(out)] == ["apple"] * 3
    assert await run_cli(["dataset", "drawings", "--out", str(out), "--since", "2999-01-01"], settings) == 2
    assert "No drawing example was written" in capsys.readouterr().err


def test_progress_bar_redraws_on_a_terminal_and_prints_once_elsewhere() -> None:
    from bot.finetune.progress import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with ProgressBar(4, "files", stream=screen, min_interval=0) as bar:
        for name in ("a.json", "b.json", "c.json", "d.json"):
            bar.advance(1, name)
    frames = screen.getvalue().split("\r\x1b[2K")[1:]
    assert frames[0] == "files [#######---------------------] 1/4  25% a.json"
    assert frames[-1] == "files [############################] 4/4 100%\n"

    log = io.StringIO()
    with ProgressBar(None, "drawings", stream=log) as bar:
        bar.advance(3)
    assert log.getvalue() == "drawings 3\n"
