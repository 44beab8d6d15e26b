"""The judge: does a guess (a player's chat line or the AI's answer) name the secret word?

Matching is on whole words, never on substrings: ``pineapple`` is not ``apple`` and ``달걀``
is not ``달``. A guess is normalised (width, case, punctuation, English articles), split into
words (eojeol for Korean), and each word is read in a few forms: as typed, with an English
plural undone, and with a Korean ending or particle stripped. The most literal form that names
any bank word wins, so a name that happens to end like a particle (``고양이``) is never cut.

Everything that depends only on the bank is computed once in :class:`Judge`; judging a guess is
a handful of dict look-ups per word of the guess, so long AI answers stay cheap.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bot.words import Word, WordBank

Kind = Literal["exact", "phrase", "slip", "list", "none"]


@dataclass(frozen=True, slots=True)
class Verdict:
    correct: bool
    kind: Kind
    matched: str | None  # the name of the secret word that was recognised, as the bank spells it
    reason: str  # one English sentence, for the CLI and logs


# --------------------------------------------------------------------------- normalisation

_ARTICLES = frozenset({"a", "an", "the"})
_APOSTROPHES = frozenset("'’‘`´ʼ")
# Marks that end a clause: a number before a comma is not a quantity for the word after it.
_CLAUSE_MARKS = frozenset(".,!?;:…。、·\n")


_LEADS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_TAILS = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")
_CONJOINING_TO_COMPAT = {
    **{chr(0x1100 + i): c for i, c in enumerate(_LEADS)},
    **{chr(0x1161 + i): c for i, c in enumerate(_VOWELS)},
    **{chr(0x11A7 + i): c for i, c in enumerate(_TAILS) if c},
}


class _CharMap(dict[int, str]):
    """str.translate table filled lazily: one decision per distinct character, made in C after."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        if 0x1100 <= code < 0x1200:
            # NFKC turns a lone typed jamo (ㅇ) into a conjoining one; turn it back so that
            # half-typed syllables compare with names and print normally.
            out = _CONJOINING_TO_COMPAT.get(ch, ch)
        elif ch.isalnum():
            out = ch
            if 0x80 <= code < 0x3000:  # Latin and friends: drop accents so café == cafe
                base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
                out = base or ch
        elif ch in _APOSTROPHES or unicodedata.combining(ch):
            out = ""  # cat's -> cats, don't -> dont
        elif ch in _CLAUSE_MARKS:
            out = "\n"
        else:
            out = " "
        self[code] = out
        return out


_CHARMAP = _CharMap()


def _clauses(text: str) -> list[list[str]]:
    mapped = unicodedata.normalize("NFKC", text).casefold().translate(_CHARMAP)
    return [[t for t in clause.split() if t not in _ARTICLES] for clause in mapped.split("\n")]


def _tokenise(text: str) -> tuple[list[str], list[int]]:
    """Words of the text and, per word, the number of its clause."""
    tokens: list[str] = []
    clause_of: list[int] = []
    for number, clause in enumerate(_clauses(text)):
        tokens.extend(clause)
        clause_of.extend([number] * len(clause))
    return tokens, clause_of


def normalise(text: str) -> str:
    """NFKC + casefold, punctuation removed, English articles dropped, single spaces."""
    return " ".join(_tokenise(text)[0])


# --------------------------------------------------------------------------- Hangul helpers


def _is_syllable(ch: str) -> bool:
    return "가" <= ch <= "힣"


def _hangul_count(text: str) -> int:
    return sum(1 for ch in text if _is_syllable(ch))


# Words longer than this cannot be a name plus an ending; they are not cached either, so a
# stream of huge guesses cannot fill the caches.
_LONGEST_WORD = 48


def _jamo(text: str) -> str:
    """Syllables split into compatibility jamo (the keys a Korean typist presses).

    Compatibility jamo rather than NFD's conjoining ones, so that a half-typed ``고양ㅇ`` lines
    up with ``고양이``; everything that is not a syllable is kept as it is.
    """
    return _jamo_cached(text) if len(text) <= _LONGEST_WORD else _jamo_uncached(text)


def _jamo_uncached(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if _is_syllable(ch):
            s = ord(ch) - 0xAC00
            out.append(_LEADS[s // 588])
            out.append(_VOWELS[(s % 588) // 28])
            out.append(_TAILS[s % 28])
        else:
            out.append(ch)
    return "".join(out)


_jamo_cached = lru_cache(maxsize=16384)(_jamo_uncached)


def _within_one(a: str, b: str) -> bool:
    """Optimal-string-alignment distance <= 1: one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    shorter = min(la, lb)
    while i < shorter and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    if la > lb:
        return a[i + 1 :] == b[i:]
    return b[i + 1 :] == a[i:]


def _deletes(text: str) -> set[str]:
    return {text[:i] + text[i + 1 :] for i in range(len(text))}


# --------------------------------------------------------------------------- Korean endings

# Copulas, sentence endings and particles that may follow a noun inside one eojeol. Stripped
# from the end (longest first, up to two layers: 사과였나요 is rare, 사과도요 is not).
_ENDINGS = (
    # guesses phrased as "I think it is X"
    "인것같아요",
    "인것같아",
    "인것같은데",
    "인것같네요",
    "인거같아요",
    "인거같아",
    "인거같은데",
    "것같아요",
    "거같아요",
    "것같아",
    "거같아",
    "같은데요",
    "같은데",
    "같아요",
    "같아",
    "같네요",
    "같네",
    "같습니다",
    "같음",
    "같다",
    "인듯해요",
    "인듯해",
    "인듯요",
    "인듯",
    "일듯",
    "아닐까요",
    "아닐까",
    "아닌가요",
    "아닌가",
    # copula + sentence endings
    "이었어요",
    "였어요",
    "이었어",
    "였어",
    "이었다",
    "였다",
    "이에요",
    "이예요",
    "예요",
    "에요",
    "입니다",
    "입니까",
    "이다",
    "다",
    "이야",
    "야",
    "이요",
    "요",
    "인가요",
    "인가",
    "인지요",
    "인지",
    "인가봐요",
    "인가봐",
    "인가보다",
    "일까요",
    "일까",
    "일걸요",
    "일걸",
    "일지도",
    "일거야",
    "일거예요",
    "이네요",
    "네요",
    "이네",
    "네",
    "이지요",
    "지요",
    "이지",
    "지",
    "이죠",
    "죠",
    "이잖아요",
    "잖아요",
    "이잖아",
    "잖아",
    "이구나",
    "구나",
    "이군요",
    "군요",
    "이라고",
    "라고",
    "이래요",
    "래요",
    "이지롱",
    "지롱",
    "이당",
    "당",
    "임",
    "이임",
    "이냐",
    "냐",
    "인데요",
    "인데",
    "이고",
    "고",
    # particles
    "이랑",
    "랑",
    "이",
    "가",
    "은",
    "는",
    "을",
    "를",
    "도",
    "와",
    "과",
    "하고",
    "에",
    "의",
    "으로",
    "로",
    "만",
    "처럼",
    "이나",
    "나",
    "한테",
    "에게",
    # 사과인 것 같아요 / 사과일 수도: "인"/"일" only when a 것/거/듯/수/지 word follows (개인 ≠ 개)
    "인",
    "일",
)
_NEEDS_NOUN_AFTER = frozenset({"인", "일"})
_NOUN_AFTER_STARTS = ("것", "거", "듯", "수", "지", "줄")
# When stripping would leave a single syllable, only these endings are trusted: 차고 (garage),
# 새로 (newly), 달다 (sweet) must not become 차 / 새 / 달.
_MONO_ENDINGS = frozenset(
    {
        "이",
        "가",
        "은",
        "는",
        "을",
        "를",
        "도",
        "랑",
        "이랑",
        "와",
        "과",
        "하고",
        "에게",
        "한테",
        "처럼",
        "요",
        "야",
        "이야",
        "임",
        "예요",
        "이에요",
        "에요",
        "이예요",
        "입니다",
        "이다",
        "인가요",
        "인가",
        "일까",
        "일까요",
        "이네",
        "네요",
        "이네요",
        "이지",
        "죠",
        "이죠",
        "인듯",
        "인듯요",
        "같아요",
        "같아",
        "같은데",
        "인것같아요",
        "인거같아요",
        "것같아요",
        "거같아요",
        "아닐까",
        "아닐까요",
    }
)
_ENDINGS_BY_LAST: dict[str, tuple[str, ...]] = {}
for _e in sorted(set(_ENDINGS), key=len, reverse=True):
    _ENDINGS_BY_LAST[_e[-1]] = (*_ENDINGS_BY_LAST.get(_e[-1], ()), _e)

# Whole words that only soften a guess ("사과 같아요", "apple maybe"); ignored at the end when
# deciding whether the guess is exactly a name.
_FILLERS = frozenset(
    {
        "것",
        "거",
        "거예요",
        "거에요",
        "거야",
        "거다",
        "것이다",
        "것입니다",
        "수도",
        "같아요",
        "같아",
        "같은데",
        "같은데요",
        "같네",
        "같네요",
        "같습니다",
        "같음",
        "같다",
        "같기도",
        "인듯",
        "듯",
        "듯요",
        "듯해",
        "듯해요",
        "인가",
        "인가요",
        "아닐까",
        "아닐까요",
        "아닌가",
        "아닌가요",
        "입니다",
        "이에요",
        "예요",
        "에요",
        "이야",
        "야",
        "요",
        "임",
        "일까",
        "일까요",
        "일지도",
        "몰라",
        "몰라요",
        "모르겠다",
        "모르겠어요",
        "맞죠",
        "맞지",
        "맞나",
        "맞나요",
        "맞아",
        "인것같아요",
        "것같아요",
        "거같아요",
        "것같아",
        "거같아",
        "보여요",
        "보이네요",
        "보임",
        "보인다",
        "보여",
        "느낌",
        "정답",
        "ㅋㅋ",
        "ㅎㅎ",
        "ㅋㅋㅋ",
        "ㅎㅎㅎ",
        "maybe",
        "probably",
        "perhaps",
        "i",
        "think",
        "guess",
        "right",
        "lol",
        "im",
        "sure",
    }
)
# Words that deny the name next to them: "not an apple", "사과가 아니에요", "사과 말고".
_NEGATIONS_BEFORE = frozenset(
    {"not", "no", "isnt", "arent", "wasnt", "nor", "without", "never", "non", "neither", "dont", "doesnt"}
)
_NEGATIONS_AFTER = frozenset(
    {
        "아니야",
        "아니다",
        "아님",
        "아니에요",
        "아니예요",
        "아닙니다",
        "아니고",
        "아니라",
        "아니지만",
        "아니네",
        "아니네요",
        "아니요",
        "아닌",
        "아닌데",
        "아닌데요",
        "말고",
        "빼고",
        "아니었어",
    }
)
# Numbers and quantity words: "한 개", "두 달", "몇 개" make the next single syllable a counter.
# 이/오/일/사/구 are left out: as words they are far more often "this", "oh", "work", ...
_NUMBER_WORDS = frozenset(
    {
        "한",
        "두",
        "세",
        "네",
        "석",
        "넉",
        "서",
        "너",
        "다섯",
        "여섯",
        "일곱",
        "여덟",
        "아홉",
        "열",
        "스무",
        "스물",
        "서른",
        "마흔",
        "쉰",
        "예순",
        "일흔",
        "여든",
        "아흔",
        "몇",
        "여러",
        "한두",
        "두세",
        "서너",
        "두어",
        "너덧",
        "댓",
        "삼",
        "육",
        "칠",
        "팔",
        "십",
        "백",
        "천",
        "만",
        "수십",
        "수백",
        "수천",
        "반",
        "몇몇",
        "첫",
    }
)
# Single syllables that are also bound nouns or positions ("...인 게 분명해", "책상 위에",
# "사과, 배 등", "자 이제"): as a name they count only when they are the whole guess ...
_BOUND_SYLLABLES = frozenset(
    "게 거 해 수 때 데 줄 뿐 듯 것 척 적 체 채 뻔 번 쯤 등 분 명 대 중".split()
    + "안 밖 위 앞 옆 밑 속 겸 김 참 자".split()
)
# ... unless a case particle marks them as a noun: "해가 지는 바다" is the sun.
_CASE_PARTICLES = frozenset({"이", "가", "은", "는", "을", "를", "도", "와", "과", "랑", "이랑"})
# Single syllables that, bare and followed by another word, modify that word: 새 차 (a new car),
# 못 맞추겠다 (can't guess). Followed by a number (새 한 마리) or at the end, they are nouns.
_MODIFIERS = frozenset({"새", "못", "헌", "온", "뭔", "웬"})
_NUMBER_NOUNS = frozenset({"하나", "둘", "셋", "넷", "마리"})
# Inside a longer answer, short names have too many everyday neighbours (with / witch): a slip
# there must be on a longer name.
_PHRASE_SLIP_LETTERS = 7
_PHRASE_SLIP_SYLLABLES = 4

_IRREGULAR_PLURALS = {
    "mice": "mouse",
    "geese": "goose",
    "teeth": "tooth",
    "feet": "foot",
    "children": "child",
    "men": "man",
    "women": "woman",
    "oxen": "ox",
    "people": "person",
}


def _singulars(token: str) -> list[str]:
    if len(token) < 3 or not (token.isascii() and token.isalpha()):
        return []
    out: list[str] = []
    if token in _IRREGULAR_PLURALS:
        out.append(_IRREGULAR_PLURALS[token])
    if len(token) > 4 and token.endswith("ies"):
        out.append(token[:-3] + "y")
    if len(token) > 4 and token.endswith("ves"):
        out.extend((token[:-3] + "f", token[:-3] + "fe"))
    if len(token) > 3 and token.endswith("es"):
        out.append(token[:-2])
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        out.append(token[:-1])
    return out


def _strip_endings(token: str, noun_after: bool) -> list[str]:
    found: list[str] = []
    frontier = [token]
    for _layer in range(2):
        nxt: list[str] = []
        for word in frontier:
            for ending in _ENDINGS_BY_LAST.get(word[-1], ()):
                if len(ending) >= len(word) or not word.endswith(ending):
                    continue
                if ending in _NEEDS_NOUN_AFTER and not (noun_after and word is token):
                    continue
                rest = word[: -len(ending)]
                if len(rest) == 1 and _is_syllable(rest) and ending not in _MONO_ENDINGS:
                    continue
                nxt.append(rest)
        found.extend(nxt)
        frontier = nxt
    return found


def _forms(token: str, noun_after: bool) -> tuple[str, ...]:
    """Readings of one word: as typed first, then shorter ones (plural undone, ending stripped)."""
    if len(token) > _LONGEST_WORD:
        return (token,)
    return _forms_cached(token, noun_after)


@lru_cache(maxsize=65536)
def _forms_cached(token: str, noun_after: bool) -> tuple[str, ...]:
    others: list[str] = []
    if _is_syllable(token[-1]):
        others.extend(_strip_endings(token, noun_after))
    for form in (token, *others):
        others.extend(_singulars(form))
    seen = {token}
    ordered = [token]
    for form in sorted(others, key=len, reverse=True):
        if form and form not in seen:
            seen.add(form)
            ordered.append(form)
    return tuple(ordered)


def _numberish(token: str) -> bool:
    return token in _NUMBER_WORDS or any(ch.isdigit() for ch in token)


# --------------------------------------------------------------------------- names


@dataclass(frozen=True, slots=True)
class _Name:
    text: str  # as the bank writes it
    key: str  # normalised, spaces removed
    tokens: int
    jamo: str
    slip_ok: bool  # long enough for a one-off typing slip to be unambiguous
    phrase_slip_ok: bool  # long enough for a slip inside a longer answer
    unit: str  # "letter" or "jamo", for reasons
    mono: bool  # a single Hangul syllable (개, 달): extra care with counters and bound nouns


def _prepare(word: Word) -> tuple[_Name, ...]:
    names: dict[str, _Name] = {}
    for text in word.all_names:
        tokens = normalise(text).split()
        key = "".join(tokens)
        if not key or key in names:
            continue
        syllables = _hangul_count(key)
        letters = sum(1 for ch in key if ch.isalpha()) - syllables
        if syllables:
            slip_ok = syllables >= 3 or len(key) >= 4
            phrase_slip_ok = syllables >= _PHRASE_SLIP_SYLLABLES or len(key) >= 6
        else:
            slip_ok = letters >= 5
            phrase_slip_ok = letters >= _PHRASE_SLIP_LETTERS
        names[key] = _Name(
            text=text,
            key=key,
            tokens=len(tokens),
            jamo=_jamo(key),
            slip_ok=slip_ok,
            phrase_slip_ok=phrase_slip_ok,
            unit="jamo" if syllables else "letter",
            mono=len(key) == 1 and syllables == 1,
        )
    return tuple(names.values())


def _describe(word: Word) -> str:
    if word.id in (word.en, word.ko) and word.en == word.ko:
        return f"'{word.id}'"
    return f"{word.id} ({word.en} / {word.ko})"


@dataclass(slots=True)
class _Match:
    start: int
    end: int
    key: str
    is_secret: bool
    others: tuple[str, ...]  # ids of other bank words this span names


@dataclass(slots=True)
class _Guess:
    tokens: list[str]
    clause_of: list[int]
    forms: list[tuple[str, ...]]
    core: int  # words before the trailing fillers

    def text(self, start: int, end: int) -> str:
        return " ".join(self.tokens[start:end])


def _read_guess(text: str) -> _Guess:
    tokens, clause_of = _tokenise(text)
    forms: list[tuple[str, ...]] = []
    for i, token in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) and clause_of[i + 1] == clause_of[i] else ""
        forms.append(_forms(token, nxt.startswith(_NOUN_AFTER_STARTS)))
    core = len(tokens)
    while core > 1 and tokens[core - 1] in _FILLERS:
        core -= 1
    return _Guess(tokens, clause_of, forms, core)


# Words that offer a choice between two names ("cat or dog?", "고양이 아니면 개"): a hedge, not a guess.
_ALTERNATIVES = frozenset({"or", "/", "vs", "versus", "아니면", "또는", "혹은", "아님"})
# Words that only join names; a guess of two names and nothing else is a list of two.
_JOINERS = frozenset({"and", "&", "+", "그리고", "하고", "랑", "및"})
_OR_PARTICLES = ("이나", "나")  # 고양이나 개: "a cat or a dog"


# --------------------------------------------------------------------------- the judge


class Judge:
    def __init__(self, bank: WordBank) -> None:
        self._bank = bank
        self._names: dict[str, tuple[_Name, ...]] = {}
        self._lookup: dict[str, tuple[str, ...]] = {}  # normalised spelling -> word ids
        self._near: dict[str, list[tuple[str, str]]] = {}  # jamo key and its deletions -> (key, id)
        self._maxspan = 1
        for word in bank:
            names = _prepare(word)
            self._names[word.id] = names
            for name in names:
                ids = self._lookup.get(name.key, ())
                if word.id not in ids:
                    self._lookup[name.key] = (*ids, word.id)
                self._maxspan = max(self._maxspan, name.tokens)
                for variant in {name.jamo, *_deletes(name.jamo)}:
                    self._near.setdefault(variant, []).append((name.jamo, word.id))
        # One more word than the longest name, so "웃는 얼굴" still finds a name written "웃는얼굴".
        self._maxspan += 1

    # ------------------------------------------------------------------ public

    def names_of(self, word: Word) -> tuple[str, ...]:
        """The distinct spellings that count for a word, in bank order."""
        return tuple(name.text for name in self._secret_names(word))

    def resolve(self, text: str) -> Word | None:
        """A bank word by id, or by any of its names or aliases (normalised)."""
        raw = text.strip()
        for candidate in (raw, raw.casefold(), raw.casefold().replace(" ", "_")):
            word = self._bank.get(candidate)
            if word is not None:
                return word
        tokens = normalise(raw).split()
        if not tokens:
            return None
        key = "".join(tokens)
        ids = self._lookup.get(key)
        if ids is None:
            for form in _forms(key, False)[1:]:
                ids = self._lookup.get(form)
                if ids:
                    break
        return self._bank.get(ids[0]) if ids else None

    def judge(self, word: Word, guess: str, *, explain: bool = True) -> Verdict:
        """Does ``guess`` count for ``word``? ``explain=False`` (the game's hot path) skips working out
        why a miss missed: the verdict is the same, its reason empty."""
        names = self._secret_names(word)
        by_key = {name.key: name for name in names}
        read = _read_guess(guess)
        if not read.tokens:
            return Verdict(False, "none", None, "does not count: the guess is empty")
        maxspan = max(self._maxspan, max((n.tokens for n in names), default=1) + 1)
        matches = self._scan(read, word.id, by_key, maxspan)
        others = self._other_words(read, matches)
        if len(others) >= 2:
            # Three or more different words named (or two besides a miss): a list of guesses, not a guess.
            shown = ", ".join(read.text(m.start, m.end) for m in others[:4])
            return Verdict(False, "list", None, f"does not count: a list of different words is not a guess ({shown})")

        rejected: list[str] = []
        best: _Match | None = None
        for match in matches:
            if not match.is_secret:
                continue
            why_not = self._why_not(read, match, by_key[match.key], matches, word)
            if why_not:
                rejected.append(why_not)
                continue
            if best is None or (self._is_exact(read, match) and not self._is_exact(read, best)):
                best = match
        if best is not None and (hedged := self._offered_beside(read, best, others)):
            return hedged
        if best is not None:
            name = by_key[best.key]
            said = read.text(best.start, best.end)
            if self._is_exact(read, best):
                if said.replace(" ", "") == name.key:
                    reason = f"counts: '{said}' is a name of {_describe(word)}"
                else:
                    reason = f"counts: '{said}' reads as '{name.text}', a name of {_describe(word)}"
                return Verdict(True, "exact", name.text, reason)
            reason = f"counts: the answer contains '{name.text}', a name of {_describe(word)}"
            return Verdict(True, "phrase", name.text, reason)

        slip = self._slip(read, word, names, matches, rejected)
        if slip is not None:
            verdict, span = slip
            # "sandalss and cats" is as much a list of two as "sandals and cats".
            return self._offered_beside(read, span, others) or verdict
        if not explain:
            return Verdict(False, "none", None, "")
        return Verdict(False, "none", None, self._explain_miss(read, word, names, matches, rejected))

    def mentions(self, word: Word, text: str) -> bool:
        """Does ``text`` name the secret anywhere, however it is framed?

        Stricter than :meth:`judge`: a name that is denied, offered as one of two, listed, hidden
        inside a longer word or one typing slip away still gives the word away to anyone who reads
        it, so a public message that mentions it must not show it while the round runs.
        """
        names = self._secret_names(word)
        read = _read_guess(text)
        if not read.tokens:
            return False
        compact = "".join(read.tokens)
        if any(name.key in compact for name in names):
            return True
        by_key = {name.key: name for name in names}
        maxspan = max(self._maxspan, max((n.tokens for n in names), default=1) + 1)
        if any(match.is_secret for match in self._scan(read, word.id, by_key, maxspan)):
            return True
        eligible = [name for name in names if name.slip_ok]
        span = max((name.tokens for name in eligible), default=0) + 1
        for start in range(len(read.tokens)):
            prefix = ""
            for end in range(start, min(len(read.tokens), start + span)):
                for form in read.forms[end]:
                    typed = _jamo(prefix + form)
                    if any(abs(len(typed) - len(n.jamo)) <= 1 and _within_one(typed, n.jamo) for n in eligible):
                        return True
                prefix += read.tokens[end]
        return False

    def candidates(self, guess: str) -> list[str]:
        """Ids of every bank word this guess could count for (a superset; judge each to be sure)."""
        read = _read_guess(guess)
        ids: dict[str, None] = {}
        for match in self._scan(read, "", {}, self._maxspan):
            ids.update(dict.fromkeys(match.others))
        n = len(read.tokens)
        for start in range(n):
            prefix = ""
            for end in range(start, min(n, start + self._maxspan)):
                for form in read.forms[end]:
                    if len(prefix) + len(form) > _LONGEST_WORD:
                        continue
                    cj = _jamo(prefix + form)
                    for variant in (cj, *_deletes(cj)):
                        for key_jamo, word_id in self._near.get(variant, ()):
                            if _within_one(cj, key_jamo):
                                ids[word_id] = None
                prefix += read.tokens[end]
        return list(ids)

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _other_words(read: _Guess, matches: list[_Match]) -> list[_Match]:
        """The spans naming words other than the secret, one per word, longest reading first.

        A span inside a longer one is part of that one (pine apple → pineapple), a span that also
        spells the secret (a shared name) is the secret's, and a lone Hangul syllable used as grammar
        (새 차, 두 개, 할 수) names nothing.
        """
        taken: set[int] = set()
        seen: set[str] = set()
        found: list[_Match] = []
        for match in sorted(matches, key=lambda m: (m.start - m.end, m.start)):
            cells = set(range(match.start, match.end))
            if cells & taken:
                continue
            taken |= cells
            if match.is_secret or not match.others or seen.intersection(match.others):
                continue
            if len(match.key) == 1 and _is_syllable(match.key) and Judge._grammatical(read, match):
                continue
            seen.update(match.others)
            found.append(match)
        return sorted(found, key=lambda m: m.start)

    @staticmethod
    def _grammatical(read: _Guess, match: _Match) -> bool:
        """A one-syllable word read as grammar, not a name: a counter after a number, a modifier, a bound noun."""
        start, clause = match.start, read.clause_of[match.start]
        prev, nxt = start - 1, match.end
        if prev >= 0 and read.clause_of[prev] == clause and _numberish(read.tokens[prev]):
            return True
        if match.key in _MODIFIERS and nxt < len(read.tokens) and read.clause_of[nxt] == clause:
            return True
        return match.key in _BOUND_SYLLABLES and not (start == 0 and match.end >= read.core)

    @classmethod
    def _offered_beside(cls, read: _Guess, secret: _Match, others: list[_Match]) -> Verdict | None:
        """The "list" verdict when the secret's span is offered as one of two with another word's."""
        if not others or not cls._hedges(read, secret, others[0]):
            return None
        between = read.text(min(secret.start, others[0].start), max(secret.end, others[0].end))
        return Verdict(False, "list", None, f"does not count: '{between}' offers two different words")

    @staticmethod
    def _hedges(read: _Guess, secret: _Match, other: _Match) -> bool:
        """Two names offered as alternatives ("cat or dog", "고양이나 개", "cat, dog"): not a guess."""
        first, second = sorted((secret, other), key=lambda m: m.start)
        between = read.tokens[first.end : second.start]
        if any(t in _ALTERNATIVES for t in between):
            return True
        last = read.tokens[first.end - 1]
        if last.endswith(_OR_PARTICLES) and not first.key.endswith("나") and second.start == first.end:
            return True
        named = set(range(first.start, first.end)) | set(range(second.start, second.end))
        rest = [
            t
            for i, t in enumerate(read.tokens[: read.core])
            if i not in named and t not in _JOINERS and t not in _ALTERNATIVES and t not in _FILLERS
        ]
        return not rest  # nothing but the two names: a list of two

    def _secret_names(self, word: Word) -> tuple[_Name, ...]:
        known = self._bank.get(word.id)
        if known == word:
            return self._names[word.id]
        return _prepare(word)  # an ad-hoc or edited word: small, computed on the spot

    def _scan(self, read: _Guess, secret_id: str, by_key: dict[str, _Name], maxspan: int) -> list[_Match]:
        """Every span of the guess that names a word; per span the most literal reading wins."""
        found: list[_Match] = []
        tokens, forms, n = read.tokens, read.forms, len(read.tokens)
        lookup = self._lookup
        for start in range(n):
            prefix = ""
            for end in range(start, min(n, start + maxspan)):
                for form in forms[end]:
                    key = prefix + form if prefix else form
                    is_secret = key in by_key
                    others = tuple(i for i in lookup.get(key, ()) if i != secret_id)
                    if is_secret or others:
                        found.append(_Match(start, end + 1, key, is_secret, others))
                        break
                prefix += tokens[end]
        return found

    @staticmethod
    def _is_exact(read: _Guess, match: _Match) -> bool:
        return match.start == 0 and match.end >= read.core

    def _negated(self, read: _Guess, start: int, end: int) -> str | None:
        clause = read.clause_of[start]
        for back in (1, 2):
            i = start - back
            if i >= 0 and read.clause_of[i] == clause and read.tokens[i] in _NEGATIONS_BEFORE:
                return read.text(i, end)
        i = end
        if i < len(read.tokens) and read.clause_of[i] == clause:
            if any(form in _NEGATIONS_AFTER for form in read.forms[i]):
                return read.text(start, i + 1)
        return None

    def _why_not(self, read: _Guess, match: _Match, name: _Name, matches: list[_Match], word: Word) -> str | None:
        """Why a span that spells a name of the secret still does not count (None: it counts)."""
        said = read.text(match.start, match.end)
        for other in matches:
            if (
                other.others
                and other.start <= match.start
                and other.end >= match.end
                and other.end - other.start > match.end - match.start
            ):
                bigger = read.text(other.start, other.end)
                return f"does not count: '{bigger}' is a different word than '{name.text}'"
        negation = self._negated(read, match.start, match.end)
        if negation:
            return f"does not count: '{name.text}' is denied here ('{negation}')"
        if name.mono:
            prev = match.start - 1
            if prev >= 0 and read.clause_of[prev] == read.clause_of[match.start] and _numberish(read.tokens[prev]):
                return (
                    f"does not count: '{read.text(prev, match.end)}' reads as a counter after a number, "
                    f"not as '{name.text}' ({word.en})"
                )
            whole = match.start == 0 and match.end >= read.core
            token = read.tokens[match.start]
            ending = token[len(name.key) :] if token.startswith(name.key) else ""
            if name.key in _BOUND_SYLLABLES and not whole and ending not in _CASE_PARTICLES:
                return (
                    f"does not count: '{said}' inside a sentence is read as a grammatical word; "
                    f"'{name.text}' counts only as the whole guess or with a particle"
                )
            nxt = match.end
            if (
                name.key in _MODIFIERS
                and token == name.key
                and nxt < len(read.tokens)
                and read.clause_of[nxt] == read.clause_of[match.start]
                and not _numberish(read.tokens[nxt])
                and read.tokens[nxt] not in _NUMBER_NOUNS
                and read.tokens[nxt] not in _FILLERS
            ):
                return (
                    f"does not count: in '{read.text(match.start, nxt + 1)}', '{name.text}' modifies the "
                    f"next word instead of naming {word.en}"
                )
        return None

    def _slip(
        self,
        read: _Guess,
        word: Word,
        names: tuple[_Name, ...],
        matches: list[_Match],
        rejected: list[str],
    ) -> tuple[Verdict, _Match] | None:
        """A typing slip of a name, with the span it was read in."""
        eligible = [name for name in names if name.slip_ok]
        if not eligible:
            return None
        lo = min(len(name.key) for name in eligible) - 2
        hi = max(len(name.key) for name in eligible) + 2
        span = max(name.tokens for name in eligible) + 1
        secret_jamo = {name.jamo for name in names}
        other_ends: dict[int, list[int]] = {}  # start of a span naming another word -> its ends
        for m in matches:
            if m.others:
                other_ends.setdefault(m.start, []).append(m.end)
        reach = max((m.end - m.start for m in matches), default=0)
        tokens, forms, n = read.tokens, read.forms, len(read.tokens)
        for start in range(n):
            prefix = ""
            for end in range(start, min(n, start + span)):
                if len(prefix) > hi:
                    break
                if any(
                    end < b_end
                    for b_start in range(max(0, start - reach), start + 1)
                    for b_end in other_ends.get(b_start, ())
                ):
                    # Inside a span that names another word (pine apple -> pineapple).
                    prefix += tokens[end]
                    continue
                candidates = [prefix + form for form in forms[end] if lo <= len(prefix) + len(form) <= hi]
                prefix += tokens[end]
                # A span that exactly names another bank word is that word, never a slip (mouse, horse).
                if not candidates or any(i != word.id for c in candidates for i in self._lookup.get(c, ())):
                    continue
                for candidate in candidates:
                    cj = _jamo(candidate)
                    if cj in secret_jamo:
                        continue  # the name itself: already judged (and refused) as a match
                    whole = start == 0 and end + 1 >= read.core
                    for name in eligible:
                        if abs(len(cj) - len(name.jamo)) > 1 or not _within_one(cj, name.jamo):
                            continue
                        if not (whole or name.phrase_slip_ok):
                            continue
                        said = read.text(start, end + 1)
                        rival = self._rival(cj, word.id, secret_jamo)
                        if rival is not None:
                            rejected.append(
                                f"does not count: '{said}' is as close to '{rival[0]}' ({rival[1]}) "
                                f"as to '{name.text}', so it is not a clear typing slip"
                            )
                            continue
                        negation = self._negated(read, start, end + 1)
                        if negation:
                            rejected.append(f"does not count: '{name.text}' is denied here ('{negation}')")
                            continue
                        verdict = Verdict(
                            True,
                            "slip",
                            name.text,
                            f"counts as a typing slip of '{name.text}' ('{said}' is one {name.unit} off)",
                        )
                        return verdict, _Match(start, end + 1, name.key, True, ())
        return None

    def _rival(self, jamo: str, secret_id: str, secret_jamo: set[str]) -> tuple[str, str] | None:
        """Another bank word with a name at most one edit from the guess (a shared name is no rival)."""
        for variant in (jamo, *_deletes(jamo)):
            for key_jamo, word_id in self._near.get(variant, ()):
                if word_id != secret_id and key_jamo not in secret_jamo and _within_one(jamo, key_jamo):
                    for name in self._names[word_id]:
                        if name.jamo == key_jamo:
                            return name.text, word_id
        return None

    def _explain_miss(
        self,
        read: _Guess,
        word: Word,
        names: tuple[_Name, ...],
        matches: list[_Match],
        rejected: list[str],
    ) -> str:
        if rejected:
            return rejected[0]
        said = read.text(0, read.core)
        for match in matches:
            if match.start == 0 and match.end >= read.core and match.others:
                other = self._bank.get(match.others[0])
                label = _describe(other) if other else match.others[0]
                return f"does not count: '{said}' names a different word, {label}"
        mono = [name for name in names if name.mono]
        for token in read.tokens:  # 1개, 3달: a counter glued to a number
            for name in mono:
                if token[-1] == name.key and token[:-1].isdigit():
                    return f"does not count: '{token}' reads as a counter after a number, not as '{name.text}'"
        near = self._near_miss(read, names)
        hidden = self._hidden(read, names)
        # A one-word guess is most likely a typo; in a sentence, a longer word is the likelier story.
        for why in (near, hidden) if read.core == 1 else (hidden, near):
            if why:
                return why
        shown = said if len(said) <= 60 else said[:57] + "..."
        return f"does not count: '{shown}' does not name {_describe(word)}"

    @staticmethod
    def _near_miss(read: _Guess, names: tuple[_Name, ...]) -> str | None:
        """One edit away from a name too short for slips (수벅 / 수박, catt / cat)."""
        short = [name for name in names if not name.slip_ok]
        for form_list in read.forms:
            for form in form_list:
                if not any(abs(len(form) - len(name.key)) <= 2 for name in short):
                    continue
                fj = _jamo(form)
                for name in short:
                    if abs(len(fj) - len(name.jamo)) <= 1 and _within_one(fj, name.jamo):
                        need = "3 syllables" if name.unit == "jamo" else "5 letters"
                        return (
                            f"does not count: '{form}' is close to '{name.text}', but typing slips are only "
                            f"accepted for names of at least {need}"
                        )
        return None

    @staticmethod
    def _hidden(read: _Guess, names: tuple[_Name, ...]) -> str | None:
        """A name hidden inside a longer word: pineapple / apple, 달걀 / 달."""
        single = [name for name in names if name.tokens == 1]
        for token in read.tokens:
            for name in single:
                if name.key in token and name.key not in _forms(token, True):
                    return f"does not count: '{token}' is a different word than '{name.text}'"
        return None


def judge_cli(bank: WordBank, secret: str, guess: str) -> tuple[int, str]:
    """`catchbot judge SECRET GUESS`: exit code (0 counts, 1 does not) and the text to print."""
    judge = Judge(bank)
    lines: list[str] = []
    word = judge.resolve(secret)
    if word is None:
        adhoc = secret.strip()
        if not normalise(adhoc):
            return 1, "does not count: the secret word is empty"
        word = Word(id=adhoc, category="custom", difficulty=2, en=adhoc, ko=adhoc)
        lines.append(f"note: '{adhoc}' is not in the word bank, so it is judged as an ad-hoc word")
    verdict = judge.judge(word, guess)
    lines.append(f"{'COUNTS' if verdict.correct else 'DOES NOT COUNT'} ({verdict.kind})")
    lines.append(verdict.reason)
    names = judge._secret_names(word)
    lines.append("accepted names: " + ", ".join(name.text for name in names))
    slips = [name.text for name in names if name.slip_ok]
    lines.append("typing slips (one letter/jamo off) accepted for: " + (", ".join(slips) if slips else "none"))
    return (0 if verdict.correct else 1), "\n".join(lines)


def cross_check(bank: WordBank) -> list[tuple[str, str, str]]:
    """Names of one bank word that also count for another: (name, word id, other word id).

    For the bank's author: a shared spelling (눈 = eye and snow) makes either word win with it.
    """
    judge = Judge(bank)
    clashes: list[tuple[str, str, str]] = []
    for word in bank:
        for name in judge.names_of(word):
            # Only words the name could possibly count for: those some span of it spells, or
            # lies one edit from. Judging against all of them keeps this O(n), not O(n^2).
            for other_id in judge.candidates(name):
                other = bank.get(other_id)
                if other is not None and other_id != word.id and judge.judge(other, name).correct:
                    clashes.append((name, word.id, other_id))
    return clashes
