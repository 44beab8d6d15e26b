"""The judge: which guesses name the secret word, and which only look like they do."""

from __future__ import annotations

import random
import time

import pytest

from bot.judge import Judge, Verdict, cross_check, judge_cli, normalise
from bot.words import Word, WordBank, default_bank


def _w(word_id: str, en: str, ko: str, aliases_en: tuple[str, ...] = (), aliases_ko: tuple[str, ...] = ()) -> Word:
    return Word(word_id, "objects", 1, en, ko, aliases_en, aliases_ko)


BANK = WordBank(
    [
        _w("apple", "apple", "사과"),
        _w("pineapple", "pineapple", "파인애플"),
        _w("apple_pie", "apple pie", "애플파이"),
        _w("cat", "cat", "고양이", ("kitty",), ("냥이",)),
        _w("dog", "dog", "개", ("puppy",), ("강아지",)),
        _w("sheep", "sheep", "양"),
        _w("moon", "moon", "달"),
        _w("egg", "egg", "달걀", (), ("계란",)),
        _w("car", "car", "자동차", (), ("차",)),
        _w("watermelon", "watermelon", "수박"),
        _w("house", "house", "집"),
        _w("mouse", "mouse", "쥐"),
        _w("horse", "horse", "말"),
        _w("smiley", "smiley face", "웃는 얼굴", ("smile face",)),
        _w("box", "box", "상자"),
        _w("berry", "berry", "베리"),
        _w("ice_cream", "ice cream", "아이스크림"),
        _w("crab", "crab", "게"),
        _w("face", "face", "얼굴"),
        _w("witch", "witch", "마녀"),
        _w("sun", "sun", "해", (), ("태양",)),
        _w("bird", "bird", "새"),
        _w("nail", "nail", "못"),
        _w("ruler", "ruler", "자"),
    ]
)


@pytest.fixture(scope="module")
def judge() -> Judge:
    return Judge(BANK)


def _judge(judge: Judge, secret: str, guess: str) -> Verdict:
    word = BANK.get(secret)
    assert word is not None
    return judge.judge(word, guess)


COUNTS = [
    # names in both languages, case, width, punctuation
    ("apple", "apple", "exact"),
    ("apple", "사과", "exact"),
    ("apple", "APPLE", "exact"),
    ("apple", "ＡＰＰＬＥ", "exact"),
    ("apple", "apple!!", "exact"),
    ("apple", "사과?", "exact"),
    ("apple", "  Apple...  ", "exact"),
    ("cat", "kitty", "exact"),
    ("cat", "냥이", "exact"),
    ("dog", "강아지", "exact"),
    # articles and plurals
    ("apple", "an apple", "exact"),
    ("apple", "Apples.", "exact"),
    ("cat", "the cats", "exact"),
    ("cat", "cat's", "exact"),
    ("box", "boxes", "exact"),
    ("berry", "berries", "exact"),
    ("apple", "apple maybe", "exact"),
    # Korean endings, particles and softeners
    ("apple", "사과예요", "exact"),
    ("apple", "사과에요", "exact"),
    ("apple", "사과입니다", "exact"),
    ("apple", "사과야", "exact"),
    ("apple", "사과다", "exact"),
    ("apple", "사과요", "exact"),
    ("apple", "사과인가요", "exact"),
    ("apple", "사과인 것 같아요", "exact"),
    ("apple", "사과 같아요", "exact"),
    ("apple", "사과인듯", "exact"),
    ("apple", "사과 아닐까", "exact"),
    ("apple", "사과네", "exact"),
    ("apple", "사과지", "exact"),
    ("apple", "사과일까요", "exact"),
    ("apple", "사과를", "exact"),
    ("apple", "사과도요", "exact"),
    ("cat", "고양이", "exact"),
    ("cat", "고양이야", "exact"),
    ("cat", "고양이인가요", "exact"),
    ("cat", "고양이가", "exact"),
    ("cat", "고양이 같아요 ㅋㅋ", "exact"),
    ("apple", "apple이에요", "exact"),
    # single-syllable Hangul names as whole words
    ("dog", "개", "exact"),
    ("dog", "개예요", "exact"),
    ("dog", "개가 뛰어가요", "phrase"),
    ("dog", "개 두 마리", "phrase"),
    ("dog", "네, 개예요", "phrase"),  # 네 (yes) ends its clause: not "four dogs"
    ("moon", "달", "exact"),
    ("moon", "달이 떴어요", "phrase"),
    ("crab", "게", "exact"),
    ("crab", "게예요", "exact"),
    ("crab", "게 같아요", "exact"),
    ("crab", "게가 모래 위를 걸어가요", "phrase"),  # a particle marks 게 as a noun
    ("sun", "해가 지는 바다", "phrase"),
    ("dog", "개와 고양이가 놀아요", "phrase"),
    ("bird", "새 한 마리", "phrase"),
    ("bird", "새가 날아가요", "phrase"),
    ("car", "새 차", "phrase"),
    ("nail", "벽에 박힌 못", "phrase"),
    ("ruler", "자", "exact"),
    # multi-word names, with and without spaces
    ("smiley", "smiley face", "exact"),
    ("smiley", "Smiley-face!", "exact"),
    ("smiley", "smileyface", "exact"),
    ("smiley", "smile face", "exact"),
    ("smiley", "웃는 얼굴", "exact"),
    ("smiley", "웃는얼굴", "exact"),
    ("smiley", "웃는 얼굴이에요", "exact"),
    ("ice_cream", "ice cream", "exact"),
    ("ice_cream", "icecream", "exact"),
    ("ice_cream", "ice creams", "exact"),
    ("ice_cream", "아이스 크림", "exact"),
    # the AI answers in phrases
    ("apple", "A red apple with a leaf", "phrase"),
    ("cat", "It looks like a cat.", "phrase"),
    ("cat", "고양이 그림", "phrase"),
    ("cat", "고양이가 앉아 있는 그림이에요", "phrase"),
    ("cat", "a cat, not a dog", "phrase"),
    ("apple", "사과 한 개", "phrase"),
    ("face", "a face with a big nose", "phrase"),
    # typing slips on long names
    ("watermelon", "watermelno", "slip"),
    ("watermelon", "watermellon", "slip"),
    ("watermelon", "watermelom", "slip"),
    ("watermelon", "watremelon", "slip"),
    ("watermelon", "watermelons", "exact"),
    ("watermelon", "a big watermelno slice", "slip"),
    ("cat", "고양아", "slip"),  # one jamo substituted (ㅣ -> ㅏ)
    ("cat", "고양ㅇ", "slip"),  # the last vowel not typed yet
    ("cat", "고양아가", "slip"),
    ("smiley", "smiley fase", "slip"),
    ("smiley", "웃는 얼궁", "slip"),
    ("apple", "appel", "slip"),
    ("witch", "wich", "slip"),
    ("witch", "wich?", "slip"),
]


@pytest.mark.parametrize(("secret", "guess", "kind"), COUNTS)
def test_counts(judge: Judge, secret: str, guess: str, kind: str) -> None:
    verdict = _judge(judge, secret, guess)
    assert verdict.correct, verdict.reason
    assert verdict.kind == kind, verdict.reason
    assert verdict.matched is not None
    assert verdict.reason.startswith("counts")


NOT_COUNTS = [
    # part of a longer word, never a substring match
    ("apple", "pineapple", "different word"),
    ("apple", "파인애플", "different word"),
    ("apple", "I see a pineapple", "different word"),
    ("car", "cartoon", "different word than 'car'"),
    ("car", "a cartoon of a cat", "different word than 'car'"),
    ("moon", "달걀", "different word"),
    ("moon", "달걀 두 개", "different word"),
    ("sheep", "고양이", "different word"),
    ("sheep", "고양이가 있어요", "different word than '양'"),
    ("apple", "사과나무", "different word than '사과'"),
    ("dog", "개구리", "different word than '개'"),
    ("dog", "개인", "different word than '개'"),
    # a longer bank word that contains the name
    ("apple", "apple pie", "different word than 'apple'"),
    ("apple", "a slice of apple pie", "different word than 'apple'"),
    ("face", "smiley face", "different word than 'face'"),
    # counters after numbers
    ("dog", "사과 한 개", "counter"),
    ("dog", "두 개", "counter"),
    ("dog", "1개", "counter"),
    ("dog", "사과 3 개", "counter"),
    ("dog", "몇 개예요?", "counter"),
    ("moon", "세 달", "counter"),
    # single syllables that are grammar inside a sentence
    ("crab", "고양이인 게 분명해", "whole guess"),
    ("ruler", "자 이제 그려볼게요", "whole guess"),
    ("bird", "새 차", "modifies"),  # a new car
    ("nail", "못 맞추겠다", "modifies"),  # can't guess it
    # slips inside a sentence only for long names: "with" is a word, not a slip of "witch"
    ("witch", "a cat with a hat", "does not name"),
    ("witch", "is it a wich", "does not name"),
    # denied
    ("apple", "not an apple", "denied"),
    ("apple", "사과가 아니에요", "denied"),
    ("apple", "사과 말고 배", "denied"),
    ("dog", "a cat, not a dog", "denied"),
    ("watermelon", "not a watermelno", "denied"),
    # slips: too short, too far, or another bank word
    ("watermelon", "수벅", "at least 3 syllables"),
    ("cat", "catt", "at least 5 letters"),
    ("watermelon", "wattermelonn", "does not name"),
    ("cat", "고향아", "does not name"),  # two jamo off
    ("house", "mouse", "different word"),
    ("house", "horse", "different word"),
    ("house", "mice", "different word"),
    ("house", "hourse", "as close to 'horse'"),
    # plain misses and nothing at all
    ("dog", "cat", "different word"),
    ("apple", "banana", "does not name"),
    ("apple", "", "empty"),
    ("apple", "!!! ...", "empty"),
    ("apple", "   ", "empty"),
]


@pytest.mark.parametrize(("secret", "guess", "why"), NOT_COUNTS)
def test_does_not_count(judge: Judge, secret: str, guess: str, why: str) -> None:
    verdict = _judge(judge, secret, guess)
    assert not verdict.correct, verdict.reason
    assert verdict.kind == "none"
    assert verdict.matched is None
    assert verdict.reason.startswith("does not count")
    assert why in verdict.reason


def test_reasons_are_single_english_sentences(judge: Judge) -> None:
    assert _judge(judge, "apple", "사과").reason == "counts: '사과' is a name of apple (apple / 사과)"
    assert _judge(judge, "apple", "pineapple").reason == (
        "does not count: 'pineapple' names a different word, pineapple (pineapple / 파인애플)"
    )
    assert _judge(judge, "car", "cartoon").reason == ("does not count: 'cartoon' is a different word than 'car'")
    assert _judge(judge, "watermelon", "watermelno").reason == (
        "counts as a typing slip of 'watermelon' ('watermelno' is one letter off)"
    )
    assert "one jamo off" in _judge(judge, "cat", "고양아").reason
    for secret, guess, *_ in COUNTS + NOT_COUNTS:
        reason = _judge(judge, secret, guess).reason
        assert "\n" not in reason


def test_slip_protection_comes_from_the_bank() -> None:
    # Without mouse in the bank, "mouse" is just one letter off "house".
    small = WordBank([_w("house", "house", "집"), _w("cat", "cat", "고양이")])
    house = small.get("house")
    assert house is not None
    assert Judge(small).judge(house, "mouse").kind == "slip"
    assert Judge(BANK).judge(house, "mouse").kind == "none"


def test_normalise() -> None:
    assert normalise("  The  Cat's  HAT!! ") == "cats hat"
    assert normalise("ＡＰＰＬＥ") == "apple"
    assert normalise("사과?") == "사과"
    assert normalise("Café crème-brûlée") == "cafe creme brulee"
    assert normalise("an apple, a pear") == "apple pear"
    assert normalise("고양ㅇ") == "고양ㅇ"  # NFKC's conjoining jamo mapped back to the typed one
    assert normalise("🍎🍎") == ""
    assert normalise("") == ""


def test_words_outside_the_bank(judge: Judge) -> None:
    kimbap = Word("kimbap", "food", 2, "kimbap", "김밥", ("gimbap",))
    assert judge.judge(kimbap, "김밥이요").kind == "exact"
    assert judge.judge(kimbap, "gimbaps").correct
    assert not judge.judge(kimbap, "김밥집").correct
    # A space's edited version of a bank word is judged with its own names.
    cat2 = Word("cat", "animals", 1, "cat", "고양이", ("kitten",), ("야옹이",))
    assert judge.judge(cat2, "야옹이").correct
    assert judge.judge(cat2, "kitten").correct
    assert not judge.judge(cat2, "kitty").correct


def test_resolve(judge: Judge) -> None:
    cases = {
        "apple": "apple",
        "사과": "apple",
        "Apple!": "apple",
        "ice_cream": "ice_cream",
        "ICE CREAM": "ice_cream",
        "icecream": "ice_cream",
        "아이스크림": "ice_cream",
        "kitty": "cat",
        "냥이": "cat",
        "웃는얼굴": "smiley",
        "cats": "cat",
    }
    for text, word_id in cases.items():
        word = judge.resolve(text)
        assert word is not None and word.id == word_id, text
    assert judge.resolve("banana") is None
    assert judge.resolve("") is None


def test_judge_cli() -> None:
    code, text = judge_cli(BANK, "사과", "an apple")
    assert code == 0
    assert text.splitlines()[0] == "COUNTS (exact)"
    assert "accepted names: apple, 사과" in text

    code, text = judge_cli(BANK, "watermelon", "watermelno")
    assert code == 0 and "typing slip" in text

    code, text = judge_cli(BANK, "dog", "사과 한 개")
    assert code == 1
    assert "DOES NOT COUNT (none)" in text and "counter" in text
    assert "accepted names: dog, 개, puppy, 강아지" in text

    code, text = judge_cli(BANK, "banana", "바나나")
    assert code == 1
    assert "'banana' is not in the word bank" in text
    code, text = judge_cli(BANK, "banana", "bananas!")
    assert code == 0 and "ad-hoc" in text

    code, text = judge_cli(BANK, "  ", "anything")
    assert code == 1 and "empty" in text


def test_cross_check_reports_shared_names() -> None:
    assert cross_check(BANK) == []
    clashing = WordBank([*BANK, _w("eye", "eye", "눈"), _w("snow", "snow", "눈")])
    assert sorted(cross_check(clashing)) == [("눈", "eye", "snow"), ("눈", "snow", "eye")]
    both = Judge(clashing)
    for word_id in ("eye", "snow"):
        word = clashing.get(word_id)
        assert word is not None and both.judge(word, "눈이 와요").correct


def test_cross_check_finds_what_judging_every_pair_finds() -> None:
    # cross_check only judges candidate words; on a small bank, compare with all pairs.
    clashing = WordBank([*BANK, _w("eye", "eye", "눈"), _w("snow", "snow", "눈", ("snowy",))])
    both = Judge(clashing)
    every_pair = [
        (name, word.id, other.id)
        for word in clashing
        for name in both.names_of(word)
        for other in clashing
        if other.id != word.id and both.judge(other, name).correct
    ]
    assert sorted(cross_check(clashing)) == sorted(every_pair)


def test_every_name_counts_for_itself(judge: Judge) -> None:
    for word in BANK:
        for name in word.all_names:
            verdict = judge.judge(word, name)
            assert verdict.correct and verdict.kind == "exact", (word.id, name, verdict.reason)


def test_very_long_guess_is_fast_and_right(judge: Judge) -> None:
    apple, dog = BANK.get("apple"), BANK.get("dog")
    assert apple is not None and dog is not None
    filler = ("pineapple 파인애플 사과나무 한 개 cartoon 고양이가 " * 400)[:10_000]
    started = time.perf_counter()
    assert not judge.judge(apple, filler).correct
    assert not judge.judge(dog, filler).correct
    # It names pineapple, cat and the rest: a list, whatever comes at its end.
    assert judge.judge(apple, filler + " and finally an apple").kind == "list"
    assert judge.judge(apple, "x" * 10_000).kind == "none"
    assert judge.judge(apple, "사과" * 5_000).kind == "none"
    assert time.perf_counter() - started < 2.0


def test_judging_is_cheap(judge: Judge) -> None:
    guesses = [guess for _, guess, *_ in COUNTS + NOT_COUNTS]
    words = list(BANK)
    started = time.perf_counter()
    count = 0
    for word in words:
        for guess in guesses:
            judge.judge(word, guess)
            count += 1
    elapsed = time.perf_counter() - started
    assert count / elapsed > 1_000, f"{count / elapsed:.0f} judgments per second"


def test_default_bank_names_count_for_themselves() -> None:
    bank = default_bank()
    judge = Judge(bank)
    failures = []
    for word in bank:
        for name in word.all_names:
            verdict = judge.judge(word, name)
            if not (verdict.correct and verdict.kind == "exact"):
                failures.append((word.id, name, verdict.reason))
    assert failures == []


def test_default_bank_names_never_count_for_another_word() -> None:
    # A shared spelling would let one word win with the other's name: the bank must avoid it.
    assert cross_check(default_bank()) == []


def test_the_games_quick_verdict_agrees_with_the_explained_one(judge: Judge) -> None:
    rng = random.Random(5)
    words = list(BANK)
    guesses = [
        "an apple",
        "사과",
        "appel",
        "dog or cat",
        "pineapple",
        "빨간 사과 같아요",
        "nothing like it",
        "개 한 마리",
    ]
    for _ in range(300):
        word = rng.choice(words)
        guess = rng.choice([*guesses, word.en, word.ko, word.en[:-1] + "x"])
        full, quick = judge.judge(word, guess), judge.judge(word, guess, explain=False)
        assert (full.correct, full.kind) == (quick.correct, quick.kind), (word.id, guess)


@pytest.mark.parametrize(
    ("secret", "text"),
    [
        ("cat", "dog or cat. Not it!"),
        ("cat", "not a cat"),
        ("watermelon", "watermelons and apples"),
        ("watermelon", "not a watermellon"),  # one letter off
        ("cat", "고양이가 아니에요"),
        ("cat", "kitty?"),  # an alias
        ("apple", "pineapple"),  # inside a longer word: still the word on screen
        ("smiley", "웃는얼굴 아님"),
    ],
)
def test_mentions_finds_the_secret_however_it_is_framed(judge: Judge, secret: str, text: str) -> None:
    word = BANK.get(secret)
    assert word is not None
    assert not judge.judge(word, text).correct or text == "kitty?"
    assert judge.mentions(word, text)


@pytest.mark.parametrize(("secret", "text"), [("cat", "a dog on a house"), ("watermelon", "a ball"), ("cat", "")])
def test_mentions_is_quiet_about_other_words(judge: Judge, secret: str, text: str) -> None:
    word = BANK.get(secret)
    assert word is not None and not judge.mentions(word, text)


def test_a_typing_slip_next_to_another_word_is_a_list_too(judge: Judge) -> None:
    watermelon = BANK.get("watermelon")
    assert watermelon is not None
    assert judge.judge(watermelon, "watermellon").kind == "slip"
    assert judge.judge(watermelon, "watermellon and cat").kind == "list"
