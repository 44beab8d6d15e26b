"""Korean particles that follow the word before them: 은/는, 이/가, 을/를, 와/과, (으)로, (이)라.

Messages are written with the fallback forms (``{name}은(는)``); once the word is filled in,
:func:`attach` picks the form the word's last sound asks for, looking past closing quotes.
A Hangul syllable says whether it ends in a consonant (and whether that is ㄹ); a digit is
read as its Sino-Korean name (일, 이, 삼, …); a Latin letter counts as ending in a consonant
for ``l``, ``m``, ``n`` (and ``l`` as ㄹ), the usual reading of English words.
"""

from __future__ import annotations

import re

_FIRST, _LAST = 0xAC00, 0xD7A3
_RIEUL = 8  # index of ㄹ among the final consonants
# (final consonant?, is it ㄹ?) for 0-9 read as 영 일 이 삼 사 오 육 칠 팔 구.
_DIGITS = {
    "0": (True, False), "1": (True, True), "2": (False, False), "3": (True, False), "4": (False, False),
    "5": (False, False), "6": (True, False), "7": (True, True), "8": (True, True), "9": (False, False),
}  # fmt: skip
_CLOSERS = "\"'”’»」』)]>*_`"
_FALLBACK = re.compile(r"(?P<before>[^\s" + re.escape(_CLOSERS) + r"])(?P<close>[" + re.escape(_CLOSERS) + r"]*)"
                       r"(?P<josa>은\(는\)|이\(가\)|을\(를\)|와\(과\)|\(으\)로|\(이\))")  # fmt: skip


def final_sound(char: str) -> tuple[bool, bool] | None:
    """(ends in a consonant, that consonant is ㄹ) for a character, or None when it cannot tell."""
    code = ord(char)
    if _FIRST <= code <= _LAST:
        final = (code - _FIRST) % 28
        return final != 0, final == _RIEUL
    if char in _DIGITS:
        return _DIGITS[char]
    if char.isascii() and char.isalpha():
        lower = char.lower()
        return lower in "lmn", lower == "l"
    return None


def _pick(josa: str, sound: tuple[bool, bool]) -> str:
    consonant, rieul = sound
    if josa == "(으)로":
        return "으로" if consonant and not rieul else "로"
    if josa == "(이)":
        return "이" if consonant else ""
    with_consonant, without = josa[0], josa[2]  # 은(는) → 은 / 는
    if josa == "와(과)":
        with_consonant, without = "과", "와"
    return with_consonant if consonant else without


def attach(text: str) -> str:
    """``text`` with every fallback particle replaced by the form its word takes."""

    def fix(match: re.Match[str]) -> str:
        sound = final_sound(match["before"])
        if sound is None:
            return match[0]
        return match["before"] + match["close"] + _pick(match["josa"], sound)

    return _FALLBACK.sub(fix, text)
