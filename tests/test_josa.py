"""Korean particles follow the word filled in before them, in every Korean message."""

from __future__ import annotations

import re
import string

import pytest

from bot import i18n
from bot.josa import attach

FALLBACKS = re.compile(r"은\(는\)|이\(가\)|을\(를\)|와\(과\)|\(으\)로|\(이\)")


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ('"영어"은(는)', '"영어"는'),
        ('"김치"을(를)', '"김치"를'),
        ('"밥"을(를)', '"밥"을'),
        ("custom_kimchi_stew(으)로", "custom_kimchi_stew로"),
        ('"물"(으)로', '"물"로'),  # ㄹ takes 로
        ('"떡볶이"(으)로', '"떡볶이"로'),
        ('"김밥"(으)로', '"김밥"으로'),
        ("떡볶이(이)라는", "떡볶이라는"),
        ("김밥(이)라는", "김밥이라는"),
        ('"사과"와(과) "배"', '"사과"와 "배"'),
        ('"밥"와(과) "국"', '"밥"과 "국"'),
        ('"apple"은(는)', '"apple"는'),
        ('"lemon"은(는)', '"lemon"은'),
        ("모델 gpt-4.1은(는)", "모델 gpt-4.1은"),  # 일
        ("2026-W52은(는)", "2026-W52는"),  # 이
        ("🤖은(는)", "🤖은(는)"),  # nothing to read: the fallback stays
    ],
)
def test_the_particle_follows_the_last_sound(written: str, shown: str) -> None:
    assert attach(written) == shown


def test_every_korean_message_chooses_its_particles() -> None:
    assert '"영어"는' in i18n.text("ko", "core.bad_timezone", value="영어")
    assert '"김밥"은' in i18n.text("ko", "core.bad_timezone", value="김밥")
    added = i18n.text("ko", "core.word_added", en="kimchi stew", ko="김치찌개", id="custom_kimchi_stew")
    assert "custom_kimchi_stew로" in added and "(으)" not in added
    missing = i18n.text("ko", "core.word_missing", id="떡볶이")
    assert "떡볶이라는" in missing
    for key, template in i18n.catalog("ko").items():
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        rendered = i18n.text("ko", key, **{name: "김밥" for name in fields})
        assert not FALLBACKS.search(rendered), f"ko {key}: {rendered}"
