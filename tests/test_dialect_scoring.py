"""Dialect round scoring: chrF (character only) rescaled against copying the dialect sentence."""

from __future__ import annotations

import unicodedata

import pytest
import sacrebleu

from bot.dialect.scoring import chrf, explain_answer, normalise, points_for, score_answer

# Chungcheong: the dialect shares most characters with the standard form.
CC_DIALECT = "그러니께 우리 어머니가 옛날에 그 밭에서 콩을 심었는디 그게 참 잘 됐어유."
CC_STANDARD = "그러니까 우리 어머니가 옛날에 그 밭에서 콩을 심었는데 그게 참 잘 됐어요."

# Gyeongsang: short and far from the standard form.
GS_DIALECT = "밥 뭇나? 퍼뜩 온나."
GS_STANDARD = "밥 먹었니? 빨리 와라."


def test_normalise() -> None:
    assert normalise("  괜찮아요，\u3000정말로！  ３시…ㅋㅋ ") == "괜찮아요 정말로 3시 ㅋㅋ"
    assert normalise("그래...알았어") == "그래 알았어"
    # NFD input (as macOS produces) comes out composed.
    assert normalise(unicodedata.normalize("NFD", "한글")) == "한글"
    assert normalise("!!! ~ ?") == ""


def test_copy_scores_zero_even_when_raw_chrf_is_high() -> None:
    assert chrf(CC_DIALECT, CC_STANDARD) > 60  # the reason for rescaling
    assert score_answer(CC_DIALECT, CC_DIALECT, [CC_STANDARD]) == 0.0
    assert score_answer(GS_DIALECT, GS_DIALECT, [GS_STANDARD]) == 0.0


def test_reference_scores_hundred() -> None:
    assert score_answer(CC_STANDARD, CC_DIALECT, [CC_STANDARD]) == 100.0
    assert score_answer(GS_STANDARD, GS_DIALECT, [GS_STANDARD]) == 100.0


def test_reference_without_spaces_scores_hundred() -> None:
    assert score_answer(CC_STANDARD.replace(" ", ""), CC_DIALECT, [CC_STANDARD]) == 100.0
    assert score_answer("밥먹었니빨리와라", GS_DIALECT, [GS_STANDARD]) == 100.0


def test_reference_with_other_punctuation_and_width_scores_hundred() -> None:
    assert score_answer("밥 먹었니！！ 빨리 와라～", GS_DIALECT, [GS_STANDARD]) == 100.0
    assert score_answer("밥 먹었니\u3000빨리 와라", GS_DIALECT, [GS_STANDARD]) == 100.0
    assert score_answer("３시에 와요", "３시에 와유", ["3시에 와요."]) == 100.0


def test_partial_translation_between_and_above_unrelated() -> None:
    partial = score_answer("밥 먹었니 빨리 온나", GS_DIALECT, [GS_STANDARD])
    unrelated = score_answer("오늘 날씨가 참 좋네요", GS_DIALECT, [GS_STANDARD])
    assert 0.0 < partial < 100.0
    assert partial > unrelated
    cc_partial = score_answer(
        "그러니까 우리 어머니가 옛날에 그 밭에서 콩을 심었는디 그게 참 잘 됐어요", CC_DIALECT, [CC_STANDARD]
    )
    assert 0.0 < cc_partial < 100.0
    assert cc_partial > score_answer("고양이가 지붕 위에서 잔다", CC_DIALECT, [CC_STANDARD])


def test_score_matches_formula_and_rounds_to_one_decimal() -> None:
    # 뭇나 left in: the surface signal decides here, and it is copy-rescaled chrF.
    answer = "밥 뭇나 빨리 와라"
    raw = sacrebleu.sentence_chrf(normalise(answer), [normalise(GS_STANDARD)]).score
    base = sacrebleu.sentence_chrf(normalise(GS_DIALECT), [normalise(GS_STANDARD)]).score
    expected = (raw - base) / (100 - base) * 100
    explained = explain_answer(answer, GS_DIALECT, [GS_STANDARD])
    assert explained.decided == "surface"
    assert explained.surface == pytest.approx(expected)
    assert explained.meaning is not None and explained.meaning < explained.surface
    assert score_answer(answer, GS_DIALECT, [GS_STANDARD]) == round(expected, 1)


def test_best_reference_counts() -> None:
    refs = ["밥 먹었어? 얼른 와.", GS_STANDARD]
    assert score_answer(GS_STANDARD, GS_DIALECT, refs) == 100.0
    assert score_answer("밥 먹었어 얼른 와", GS_DIALECT, refs) == 100.0
    answer = "밥 뭇나 빨리 와라"
    each = [score_answer(answer, GS_DIALECT, [r]) for r in refs]
    assert each[0] != each[1]
    assert score_answer(answer, GS_DIALECT, refs) == max(each)
    # A reference string passed bare is one reference, not a sequence of characters.
    assert score_answer(GS_STANDARD, GS_DIALECT, GS_STANDARD) == 100.0


def test_empty_answer_scores_zero() -> None:
    assert score_answer("", GS_DIALECT, [GS_STANDARD]) == 0.0
    assert score_answer("   ?! ", GS_DIALECT, [GS_STANDARD]) == 0.0
    with pytest.raises(ValueError):
        score_answer("밥", GS_DIALECT, [])


def test_answer_worse_than_copy_clamps_to_zero() -> None:
    assert score_answer("그러니께 우리 어머니가", CC_DIALECT, [CC_STANDARD]) == 0.0


def test_spacing_only_difference_is_not_punished_so_chrf_plus_plus_is_not_used() -> None:
    reference = "그러니까 우리 어머니가 옛날에 그 밭에서 콩을 심었는데 그게 참 잘 됐어요"
    spaced = "그러니까 우리어머니가 옛날에 그밭에서 콩을 심었는 데 그게 참 잘됐어요"
    # The example discriminates: chrF++ (word n-grams) would take real points off for the spacing.
    assert sacrebleu.sentence_chrf(spaced, [reference], word_order=2).score < 90
    assert chrf(spaced, reference) >= 95
    # Through score_answer, with a real one-syllable mistake so the exact-match shortcut does not apply:
    # the spacing changes cost nothing and the score is the character-only computation.
    slip = spaced.replace("콩을", "팥을")
    well_spaced_slip = reference.replace("콩을", "팥을")
    assert 0 < score_answer(slip, CC_DIALECT, [reference]) < 100
    assert score_answer(slip, CC_DIALECT, [reference]) == score_answer(well_spaced_slip, CC_DIALECT, [reference])
    raw = sacrebleu.sentence_chrf(slip, [reference], word_order=0).score
    base = sacrebleu.sentence_chrf(normalise(CC_DIALECT), [reference], word_order=0).score
    assert score_answer(slip, CC_DIALECT, [reference]) == round((raw - base) / (100 - base) * 100, 1)


@pytest.mark.parametrize(
    ("hyp", "ref"),
    [
        ("밥 먹었니 빨리 온나", GS_STANDARD),
        (CC_DIALECT, CC_STANDARD),
        ("혼저 옵서예", "어서 오세요"),
        ("전혀 다른 문장", "어서 오세요"),
        ("그렇게 하면 안 되나", "그렇게 하면 안 되나"),
    ],
)
def test_chrf_matches_sacrebleu(hyp: str, ref: str) -> None:
    h, r = normalise(hyp), normalise(ref)
    assert chrf(hyp, ref) == pytest.approx(sacrebleu.sentence_chrf(h, [r]).score)
    assert chrf(hyp, ref) == pytest.approx(sacrebleu.corpus_chrf([h], [[r]]).score)
    assert 0.0 <= chrf(hyp, ref) <= 100.0


def test_chrf_edge_cases() -> None:
    assert chrf("", "") == 100.0
    assert chrf("", "어서 오세요") == 0.0
    assert chrf("어서 오세요", "...") == 0.0


@pytest.mark.parametrize(
    ("score", "points"),
    [(0.0, 0), (4.9, 0), (5.0, 1), (44.9, 4), (45.0, 5), (55.0, 6), (94.9, 9), (95.0, 10), (100.0, 10)],
)
def test_points_for_rounds_half_up(score: float, points: int) -> None:
    assert points_for(score) == points
    assert isinstance(points_for(score), int)
