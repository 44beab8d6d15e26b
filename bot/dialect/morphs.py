"""The content of a Korean sentence, as dialect scoring compares it: stems, nouns and tense, nothing else.

Surface chrF punishes a correct translation for wording that standard Korean leaves free: the speech
level (``먹었습니까`` / ``먹었어요`` / ``먹었어``), the honorific ``-시-``, particles, contractions and common
synonyms. Here a sentence goes through kiwipiepy's morphological analyser and keeps only what carries
its meaning:

* nouns, verb and adjective stems (as lemmas), adverbs, numbers: kept, each mapped to its synonym
  group's name from ``bot/data/dialect_synonyms.json``;
* past and future tense (``-었-``, ``-겠-``): kept, because they change the meaning;
* particles, punctuation, the copula, the honorific ``-시-`` and standard endings: dropped;
* an ending the standard language does not have (``-유``, ``-드래``, ``-수다``, ``-능교``): kept as
  ``~form``, so leaving a dialect ending in place still costs something.

The analyser's model is about 100 MB and takes a second to load, so it is loaded once, on first use,
by whichever thread scores first; callers run scoring in a thread (never on the event loop).
"""

from __future__ import annotations

import json
import re
import threading
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

__all__ = ["Analysis", "analyse", "content_form", "is_loaded", "load"]

# Endings of standard Korean, as kiwipiepy spells them (it folds 아/어 and writes ㄴ/ㄹ/ㅂ/ㅁ as final
# jamo). Anything the analyser calls an ending and is not listed here is treated as dialect.
_STANDARD_ENDINGS: Final = frozenset(
    """
    다 어 어요 아요 세요 으세요 습니다 ᆸ니다 습니까 ᆸ니까 니 냐 으냐 느냐 나 니까 으니까 니까요 야 이야 예요 에요
    이에요 지 지요 죠 자 자요 ᆸ시다 읍시다 어라 아라 거라 라 으라 네 네요 군 군요 구나 구먼 구려 는구나 는군요
    대 대요 ᆫ대 는대 래 래요 ᆫ다 는다 ᆫ다고 는다고 다고 라고 냐고 자고 으라고 다니까 라니까 으라니까 라니까요 잖아
    잖아요 ᆯ게 을게 ᆯ게요 을게요 ᆯ래 을래 ᆯ래요 을래요 ᆯ까 을까 ᆯ까요 을까요 는가 ᆫ가 은가 는데 은데 ᆫ데 는데요
    은데요 더라 더라고 더라고요 던데 던데요 거든 거든요 고요 게요 ᆸ시오 으십시오 십시오 소 오 어서 아서 고 게 면
    으면 니 으니 려고 으려고 러 으러 면서 으면서 며 으며 도록 다가 어야 아야 어도 아도 건 든지 든 거나 나 으나
    지만 는지 은지 ᆫ지 을지 ᆯ지 듯 듯이 자마자 ᆯ 을 ᆫ 은 는 던 ᆷ 음 기 다면 라면 ᆫ다면 는다면 기에 길래 느라
    느라고 ᆫ데도 는데도 어다 아다 다며 라며 냐며 단다 란다 서 까 데 써 세 으세 셔 으셔 답니다 ᆫ답니다 는답니다 랍니다
    답니까 래서 대서
    """.split()
)
# Pre-final endings: honorific -시- is dropped; tense is kept under one spelling.
_HONORIFIC: Final = frozenset({"시", "으시", "세", "셔"})
_TENSE: Final = {"었": "었", "았": "었", "였": "었", "ᆻ": "었", "었었": "었", "겠": "겠"}
# Tags whose morpheme never carries the sentence's content.
_DROP_TAGS: Final = frozenset({"SF", "SP", "SS", "SSO", "SSC", "SE", "SO", "SW", "SB", "VCP", "XSN"})


def _load_table() -> dict[str, Any]:
    raw = resources.files("bot.data").joinpath("dialect_synonyms.json").read_text(encoding="utf-8")
    return json.loads(raw)


class _Tables:
    def __init__(self, table: dict[str, Any]) -> None:
        self.synonyms: dict[str, str] = {}
        for group in table["groups"]:
            for word in group:
                self.synonyms[word] = group[0]
        self.phrases: list[tuple[tuple[str, ...], str]] = sorted(
            ((tuple(words.split()), one) for words, one in table["phrases"]), key=lambda p: -len(p[0])
        )
        self.surface = [(re.compile(pattern), repl) for pattern, repl in table["surface"]]


_lock = threading.Lock()
_kiwi: Kiwi | None = None
_tables: _Tables | None = None


def load() -> None:
    """Load the analyser and the synonym table (once; safe from any thread). Takes about a second."""
    global _kiwi, _tables
    with _lock:
        if _kiwi is None:
            from kiwipiepy import Kiwi

            _tables = _Tables(_load_table())
            # The typo and multi-word dictionaries double the load time and change nothing that scoring
            # compares (the calibration tests hold without them).
            kiwi = Kiwi(load_typo_dict=False, load_multi_dict=False)
            # Spacing must not decide the score: let a morpheme span up to two misplaced spaces, so
            # "심었는 데" reads as "심었는데" and "우리어머니가" as "우리 어머니가". (Removing every space
            # instead makes the analyser swallow an unknown dialect sentence as one long noun.)
            kiwi.global_config.space_tolerance = 2
            # The first analysis builds internal tables (about a second): pay it here, not on an answer.
            kiwi.tokenize("가")
            _kiwi = kiwi


def is_loaded() -> bool:
    return _kiwi is not None


class Analysis(tuple[str, ...]):
    """A sentence's content morphemes, in order (a tuple, so it can be cached and compared)."""

    @property
    def text(self) -> str:
        return " ".join(self)


def _morphemes(text: str) -> list[tuple[str, str, str]]:
    load()
    assert _kiwi is not None and _tables is not None
    for pattern, repl in _tables.surface:
        text = pattern.sub(repl, text)
    # kiwipiepy's tokenize is not documented as thread-safe; analysing one sentence takes well under
    # a millisecond, so the lock costs nothing worth measuring.
    with _lock:
        tokens = _kiwi.tokenize(text)
    return [(t.form, t.tag.split("-")[0], getattr(t, "lemma", "") or t.form) for t in tokens]


@lru_cache(maxsize=4096)
def analyse(text: str) -> Analysis:
    """The content morphemes of ``text`` (see the module docstring for what is kept)."""
    morphemes = _morphemes(text)
    tables = _tables
    assert tables is not None
    lemmas: list[str] = []
    for form, tag, lemma in morphemes:
        if tag in _DROP_TAGS or tag.startswith("J"):
            continue
        if tag == "EP":
            if form not in _HONORIFIC:
                lemmas.append(_TENSE.get(form, "~" + form))
        elif tag.startswith("E"):
            if form not in _STANDARD_ENDINGS:
                lemmas.append("~" + form)
        elif tag in ("XSV", "XSA") and lemmas and not lemmas[-1].startswith("~"):
            # 말씀 + 하 is one verb, 말씀하다, as 말하다 is: join them so synonyms can meet.
            lemmas[-1] += form + "다"
        else:
            lemmas.append(lemma)
    return Analysis(_join_phrases([tables.synonyms.get(lemma, lemma) for lemma in lemmas], tables))


def _join_phrases(words: list[str], tables: _Tables) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        for phrase, one in tables.phrases:
            if tuple(words[i : i + len(phrase)]) == phrase:
                out.append(tables.synonyms.get(one, one))
                i += len(phrase)
                break
        else:
            out.append(words[i])
            i += 1
    return out


def content_form(text: str) -> str:
    """``analyse(text)`` as one string, the form scoring compares (and ``--explain`` prints)."""
    return analyse(text).text
