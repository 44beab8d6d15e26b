"""AI-Hub dialect label files -> cleaned (dialect, standard) pairs, streamed from real files on disk."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.dialect.aihub import (
    PLACEHOLDER,
    AIHubFormatError,
    DialectPair,
    ImportStats,
    guess_region,
    iter_label_files,
    iter_pairs,
    read_file_pairs,
)

REGIONAL_DIR = Path("한국어 방언 발화(경상도)", "Training", "[라벨]경상도_학습데이터_1")
SENIOR_ROOT = Path("중노년층 한국어 방언 데이터 (충청도, 전라도, 제주도)")
# The seed article's example (pronunciation spelling), with a dialect spelling next to it.
JEJU_DIALECT = "삼춘도 초신 멘드라 봐수꽈"
JEJU_PRONUNCIATION = "삼춘도 초신 멘드라 봐쑤꽈"
JEJU_STANDARD = "할아버지도 짚신 만들어 봤습니까"


def write_json(path: Path, doc: Any, *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


def utt(form: str | None, standard: str | None = "", dialect: str | None = "") -> dict[str, Any]:
    return {
        "id": "u",
        "form": form,
        "standard_form": standard,
        "dialect_form": dialect,
        "speaker_id": "1",
        "start": 0.0,
        "end": 1.0,
        "note": "",
        "eojeolList": [],
    }


def regional_doc(utterances: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": "DZGS20000001",
        "metadata": metadata or {"title": "방언 발화 자료", "category": "일상 대화"},
        "speaker": [{"id": "1", "birthplace": "", "principal_residence": ""}],
        "setting": {"relation": "친구"},
        "utterance": utterances,
    }


def sentence(dialect: str | None, pronunciation: str | None, standard: str | None) -> dict[str, Any]:
    return {
        "speakerId": "S1",
        "dialect": dialect,
        "pronunciation": pronunciation,
        "standard": standard,
        "startTime": "00:00:01",
        "endTime": "00:00:02",
        "sentenceId": 1,
    }


def senior_doc(
    sentences: list[dict[str, Any]] | None,
    file_level: tuple[str | None, str | None, str | None] = ("IGNORED 1", "IGNORED 2", "IGNORED 3"),
    province: str = "",
) -> dict[str, Any]:
    transcription: dict[str, Any] = {
        "segments": [],
        "dialect": file_level[0],
        "pronunciation": file_level[1],
        "standard": file_level[2],
    }
    if sentences is not None:
        transcription["sentences"] = sentences
    return {
        "fileName": "senior",
        "speaker": [{"speakerId": "S1", "gender": "여", "residenceProvince": province}],
        "transcription": transcription,
    }


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    # (a) 2020 regional layout, region from the Korean folder name.
    write_json(
        root / REGIONAL_DIR / "DZGS20000001.json",
        regional_doc(
            [
                # Double notation in `form` only: each side resolves its own half.
                utt("(그케)/(그렇게) 하믄 (안되나)/(안 되나)"),
                # dialect_form wins for the dialect side; tags removed; anonymisation -> placeholder.
                utt(
                    "{laughing} 아이고 &name1& 씨가 (왔능교)/(왔습니까) {clearing}",
                    standard="{laughing} 아이고 &name1& 씨가 (왔능교)/(왔습니까)",
                    dialect="{laughing} 아이고 &name1& 씨가 왔능교 {clearing}",
                ),
                utt("거기 (()) 갔다 아이가"),  # unclear
                utt("((뭐라꼬)) 카노", standard="뭐라고 하니", dialect="뭐라꼬 카노"),  # unclear in form
                # Equal once spacing and punctuation are ignored.
                utt("오늘 날씨가 좋네요.", standard="오늘 날씨가 좋네요", dialect="오늘  날씨가, 좋네요"),
                utt("{singing} {applausing}"),  # empty
                # Double notation inside dialect_form / standard_form, several anonymisation kinds.
                utt(
                    "",
                    standard="&address2&에 (가가)/(가서) &company-name3& 다녔다 {lipsmack}",
                    dialect="{lipsmack} &address2&에 (가가)/(가서) &company-name3& 댕겼다",
                ),
                utt("니 어데 가노", standard=None, dialect=None),  # nulls fall back to form -> same
            ]
        ),
    )
    # Region from metadata, not from the (neutral) folder.
    write_json(
        root / "misc" / "regional_meta.json",
        regional_doc([utt("(혼저)/(어서) 옵서예", standard="어서 오세요")], metadata={"dialect": "제주도"}),
    )
    # (b) senior layout with sentences, starting with a UTF-8 BOM.
    write_json(
        root / SENIOR_ROOT / "[라벨]충청도_1인발화" / "CC_0001.json",
        senior_doc(
            [
                sentence(
                    "그러니께 &name1&가 {laughing} 그랬슈",
                    "그러니께 &name1&가 그랟슈",
                    "그러니까 &name1&가 그랬어요",
                ),
                # "same" with source=dialect, a real pair with source=pronunciation.
                sentence("밥 먹었어요", "밥 머거써요", "밥 먹었어요."),
                sentence("(())", "(())", "(())"),  # unclear
                sentence("(워디)/(어디) 가유", "(워디)/(어디) 가유", "(워디)/(어디) 가요"),
                sentence("", None, ""),  # empty
            ]
        ),
        bom=True,
    )
    # (b) senior layout without sentences: file-level fallback.
    write_json(
        root / SENIOR_ROOT / "[라벨]제주도_1인발화" / "JJ_0001.json",
        senior_doc([], (JEJU_DIALECT, JEJU_PRONUNCIATION, JEJU_STANDARD)),
    )
    # (b) no "sentences" key at all, region only from the speaker's province.
    write_json(
        root / "misc" / "senior_no_sentences.json",
        senior_doc(None, ("나가 혔당께", "나가 혀땅께", "내가 했다니까"), province="전라남도"),
    )
    # Broken files: each is skipped with a reason, none ends the run.
    misc = root / "misc"
    (misc / "broken.json").write_text('{"utterance": [', encoding="utf-8")
    write_json(misc / "list.json", [{"utterance": []}])
    write_json(misc / "unknown.json", {"fileName": "x", "foo": 1})
    write_json(misc / "wrong_types.json", {"utterance": "그케 하믄"})
    write_json(misc / "wrong_field.json", regional_doc([utt(123)]))  # type: ignore[arg-type]
    (misc / "latin1.json").write_bytes('{"utterance": ["é"]}'.encode("latin-1"))
    # Not label files: other extensions, hidden entries, macOS archive debris.
    (misc / "readme.txt").write_text("not json", encoding="utf-8")
    (misc / ".hidden.json").write_text("{", encoding="utf-8")
    (root / "__MACOSX" / "misc").mkdir(parents=True)
    (root / "__MACOSX" / "misc" / "._regional_meta.json").write_bytes(b"\x00\x05\x16\x07\xff")
    return root


def as_tuples(pairs: list[DialectPair]) -> list[tuple[str, str, str, str | None]]:
    return [(p.dialect, p.standard, Path(p.source_file).name, p.region) for p in pairs]


def test_iter_label_files_walks_sorted_and_ignores_debris(tree: Path) -> None:
    files = list(iter_label_files([tree]))
    assert [f.relative_to(tree).as_posix() for f in files] == [
        "misc/broken.json",
        "misc/latin1.json",
        "misc/list.json",
        "misc/regional_meta.json",
        "misc/senior_no_sentences.json",
        "misc/unknown.json",
        "misc/wrong_field.json",
        "misc/wrong_types.json",
        (SENIOR_ROOT / "[라벨]제주도_1인발화" / "JJ_0001.json").as_posix(),
        (SENIOR_ROOT / "[라벨]충청도_1인발화" / "CC_0001.json").as_posix(),
        (REGIONAL_DIR / "DZGS20000001.json").as_posix(),
    ]
    # Plain files pass through whatever their name; a folder given twice is walked once.
    note = tree / "misc" / "readme.txt"
    assert list(iter_label_files([note])) == [note]
    assert len(list(iter_label_files([tree, tree / "misc"]))) == len(files)


def test_iter_pairs_exact_pairs_and_stats(tree: Path) -> None:
    stats = ImportStats()
    seen: list[Path] = []
    pairs = list(iter_pairs([tree], stats=stats, on_file=seen.append))
    o = PLACEHOLDER
    assert as_tuples(pairs) == [
        ("혼저 옵서예", "어서 오세요", "regional_meta.json", "jeju"),
        ("나가 혔당께", "내가 했다니까", "senior_no_sentences.json", "jeolla"),
        (JEJU_DIALECT, JEJU_STANDARD, "JJ_0001.json", "jeju"),
        (f"그러니께 {o}가 그랬슈", f"그러니까 {o}가 그랬어요", "CC_0001.json", "chungcheong"),
        ("워디 가유", "어디 가요", "CC_0001.json", "chungcheong"),
        ("그케 하믄 안되나", "그렇게 하믄 안 되나", "DZGS20000001.json", "gyeongsang"),
        (f"아이고 {o} 씨가 왔능교", f"아이고 {o} 씨가 왔습니까", "DZGS20000001.json", "gyeongsang"),
        (f"{o}에 가가 {o} 댕겼다", f"{o}에 가서 {o} 다녔다", "DZGS20000001.json", "gyeongsang"),
    ]
    assert all(isinstance(p, DialectPair) for p in pairs)
    assert len(seen) == 11
    assert stats.files_read == 5
    assert stats.files_skipped == Counter(
        {
            "invalid JSON": 1,
            "not UTF-8": 1,
            "not a JSON object (list)": 1,
            "unknown layout": 1,
            "wrong types: utterance is not a list": 1,
            "wrong types: utterance[0].form is int": 1,
        }
    )
    assert [Path(name).name for name, _ in stats.skipped_files] == [
        "broken.json",
        "latin1.json",
        "list.json",
        "unknown.json",
        "wrong_field.json",
        "wrong_types.json",
    ]
    assert stats.pairs_kept == 8
    # CC: 1 same, 1 unclear, 1 empty; DZGS: 2 unclear, 2 same, 1 empty.
    assert stats.dropped == Counter({"same": 3, "unclear": 3, "empty": 2})
    summary = stats.summary()
    assert "Files read: 5" in summary
    assert "Files skipped: 6" in summary
    assert "Pairs kept: 8" in summary
    assert "Pairs dropped: 8 (same 3, unclear 3, empty 2)" in summary
    assert "broken.json: invalid JSON" in summary


def test_source_pronunciation(tree: Path) -> None:
    stats = ImportStats()
    senior = tree / SENIOR_ROOT
    paths = [senior, tree / "misc" / "senior_no_sentences.json"]
    pairs = list(iter_pairs(paths, source="pronunciation", stats=stats))
    o = PLACEHOLDER
    assert as_tuples(pairs) == [
        (JEJU_PRONUNCIATION, JEJU_STANDARD, "JJ_0001.json", "jeju"),
        (f"그러니께 {o}가 그랟슈", f"그러니까 {o}가 그랬어요", "CC_0001.json", "chungcheong"),
        ("밥 머거써요", "밥 먹었어요.", "CC_0001.json", "chungcheong"),  # no longer "same"
        ("워디 가유", "어디 가요", "CC_0001.json", "chungcheong"),
        ("나가 혀땅께", "내가 했다니까", "senior_no_sentences.json", "jeolla"),
    ]
    assert stats.dropped == Counter({"unclear": 1, "empty": 1})
    with pytest.raises(ValueError):
        list(iter_pairs([senior], source="standard"))  # type: ignore[arg-type]


def test_read_file_pairs_one_file_and_errors(tree: Path) -> None:
    pairs, dropped = read_file_pairs(tree / SENIOR_ROOT / "[라벨]제주도_1인발화" / "JJ_0001.json")
    assert [(p.dialect, p.standard) for p in pairs] == [(JEJU_DIALECT, JEJU_STANDARD)]
    assert dropped == {"same": 0, "unclear": 0, "empty": 0}
    _, dropped = read_file_pairs(tree / REGIONAL_DIR / "DZGS20000001.json")
    assert dropped == {"same": 2, "unclear": 2, "empty": 1}

    for name, reason in [
        ("broken.json", "invalid JSON"),
        ("list.json", "not a JSON object (list)"),
        ("unknown.json", "unknown layout"),
        ("latin1.json", "not UTF-8"),
        ("does-not-exist.json", "not found"),
    ]:
        with pytest.raises(AIHubFormatError) as info:
            read_file_pairs(tree / "misc" / name)
        assert info.value.reason == reason


def test_file_level_fallback_with_nothing_usable_counts_empty(tmp_path: Path) -> None:
    path = write_json(tmp_path / "x.json", senior_doc([], (None, None, None)))
    stats = ImportStats()
    assert list(iter_pairs([path], stats=stats)) == []
    assert stats.files_read == 1
    assert stats.dropped == Counter({"empty": 1})


def test_missing_path_is_recorded_not_fatal(tmp_path: Path) -> None:
    good = write_json(tmp_path / "ok.json", senior_doc([sentence("워디 가유", "워디 가유", "어디 가요")]))
    stats = ImportStats()
    pairs = list(iter_pairs([tmp_path / "nope", good], stats=stats))
    assert [(p.dialect, p.standard, p.region) for p in pairs] == [("워디 가유", "어디 가요", None)]
    assert stats.files_skipped == Counter({"not found": 1})


def test_skipped_file_list_is_capped(tmp_path: Path) -> None:
    for i in range(105):
        (tmp_path / f"bad{i:03}.json").write_text("nope", encoding="utf-8")
    stats = ImportStats()
    assert list(iter_pairs([tmp_path], stats=stats)) == []
    assert stats.files_skipped == Counter({"invalid JSON": 105})
    assert len(stats.skipped_files) == 100
    assert "Skipped files (first 100 of 105):" in stats.summary()


def test_iter_pairs_is_lazy(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    same = senior_doc([sentence("밥 먹었어요", "밥 먹었어요", "밥 먹었어요")])
    useful = senior_doc([sentence("워디 가유", "워디 가유", "어디 가요")])
    for i in range(2000):
        doc = same if i < 2 else useful
        (folder / f"f{i:04}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    opened: list[Path] = []
    stream = iter_pairs([tmp_path], on_file=opened.append)
    assert opened == []  # nothing happens before the first pair is asked for
    first = next(stream)
    assert (first.dialect, first.standard) == ("워디 가유", "어디 가요")
    assert [p.name for p in opened] == ["f0000.json", "f0001.json", "f0002.json"]
    next(stream)
    assert len(opened) == 4
    stream.close()


def test_guess_region() -> None:
    assert guess_region(Path("x/[라벨]강원도_학습/a.json"), {}) == "gangwon"
    assert guess_region(Path("/data/Gyeongsang/train/a.json"), {}) == "gyeongsang"
    assert guess_region(Path("/data/JEOLLA_valid/a.json"), {}) == "jeolla"
    # macOS-extracted folder names arrive decomposed (NFD).
    assert guess_region(Path(unicodedata.normalize("NFD", "충청도")) / "a.json", {}) == "chungcheong"
    # The inner folder wins over a parent naming several regions; a lone ambiguous name gives None.
    assert guess_region(SENIOR_ROOT / "[라벨]전라도" / "a.json", {}) == "jeolla"
    assert guess_region(SENIOR_ROOT / "a.json", {}) is None
    assert guess_region(Path("plain/a.json"), {}) is None
    # Metadata first.
    assert guess_region(Path("경상도/a.json"), {"metadata": {"dialect": "jeju"}}) == "jeju"
    assert guess_region(Path("a.json"), {"metadata": {"region": ["경상남도"]}}) == "gyeongsang"
    assert guess_region(Path("a.json"), {"speaker": [{"residenceProvince": "강원도"}]}) == "gangwon"
