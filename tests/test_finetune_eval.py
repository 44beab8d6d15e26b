"""`catchbot eval dialect|drawing` against the stub: scores checked with independent computations."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import sacrebleu

from bot.ai.players import drawing_messages
from bot.dialect.scoring import score_answer
from bot.finetune.evaluate import lcs_length, rouge_l
from storage import Database
from tests.stubs.openai_server import OpenAIStub
from tests.test_finetune_support import (
    data_url,
    dialect_example,
    make_settings,
    png_bytes,
    run_cli,
    write_jsonl,
)

PAIRS = [
    ("그러니께 우리 집이 저기유", "그러니까 우리 집이 저기예요"),
    ("혼저 옵서예", "어서 오세요"),
    ("뭐라카노 니 어데 가노", "뭐라고 하니 너 어디 가니"),
    ("밥 먹었당께", "밥 먹었다니까"),
    ("거시기 혀봐", "그것 해 봐"),
    ("삼춘도 초신 멘드라 봐쑤꽈", "할아버지도 짚신 만들어 봤습니까"),
]
# The "fine-tuned" model gets most right; the base model half-translates.
GOOD_ANSWERS = {
    "그러니께 우리 집이 저기유": "그러니까 우리 집이 저기예요",
    "혼저 옵서예": "어서 오세요",
    "뭐라카노 니 어데 가노": "뭐라고 하니 너 어디 가니",
    "밥 먹었당께": "밥 먹었다니까",
    "거시기 혀봐": "그거 해 봐",
    "삼춘도 초신 멘드라 봐쑤꽈": "삼촌도 짚신 만들어 봤어요",
}
BASE_ANSWERS = {
    "그러니께 우리 집이 저기유": "그러니까 우리 집이 저기유",
    "혼저 옵서예": "빨리 오세요",
    "뭐라카노 니 어데 가노": "뭐라카노 너 어디 가노",
    "밥 먹었당께": "밥 먹었당께",
    "거시기 혀봐": "그것 해봐",
    "삼춘도 초신 멘드라 봐쑤꽈": "삼촌도 신발 만들어 봤어",
}
FT, BASE = "ft:gpt-4o-mini:org:dialect:abc123", "gpt-4o-mini"


def dialect_reply(body: dict[str, Any]) -> str:
    user = body["messages"][-1]["content"]
    return (GOOD_ANSWERS if body["model"] == FT else BASE_ANSWERS)[user]


def lcs_dp(a: list[str], b: list[str]) -> int:
    """Textbook dynamic programme, to check the bit-parallel LCS."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i][j] = table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def rouge_dp(hyp: list[str], ref: list[str]) -> float:
    lcs = lcs_dp(hyp, ref)
    if not lcs:
        return 0.0
    p, r = lcs / len(hyp), lcs / len(ref)
    return 2 * p * r / (p + r)


def expected_scores(hyps: list[str], refs: list[str], srcs: list[str]) -> dict[str, float]:
    chars = [[c for c in h if c != " "] for h in hyps], [[c for c in r if c != " "] for r in refs]
    return {
        "bleu": sacrebleu.BLEU().corpus_score(hyps, [refs]).score,
        "bleu_char": sacrebleu.BLEU(tokenize="char").corpus_score(hyps, [refs]).score,
        "chrf": sacrebleu.CHRF().corpus_score(hyps, [refs]).score,
        "rouge_l_eojeol": 100
        * sum(rouge_dp(h.split(), r.split()) for h, r in zip(hyps, refs, strict=True))
        / len(refs),
        "rouge_l_char": 100 * sum(rouge_dp(h, r) for h, r in zip(*chars, strict=True)) / len(refs),
        "game": sum(score_answer(h, s, [r]) for h, s, r in zip(hyps, srcs, refs, strict=True)) / len(refs),
    }


def test_bit_parallel_lcs_matches_the_textbook_one() -> None:
    import random

    rng = random.Random(3)
    for _ in range(300):
        a = [rng.choice("가나다라마") for _ in range(rng.randint(0, 90))]
        b = [rng.choice("가나다라마") for _ in range(rng.randint(0, 90))]
        assert lcs_length(a, b) == lcs_dp(a, b)
    assert rouge_l([], []) == 1.0 and rouge_l(["a"], []) == 0.0
    assert rouge_l("abcd", "abxd") == pytest.approx(0.75)


async def test_eval_dialect_scores_table_json_and_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_jsonl(tmp_path / "valid.jsonl", [dialect_example(d, s) for d, s in PAIRS])
    out_json = tmp_path / "scores.json"
    async with OpenAIStub() as stub:
        stub.chat_reply = dialect_reply
        settings = make_settings(tmp_path, stub.base_url)
        argv = ["eval", "dialect", str(path), "--model", FT, "--model", BASE, "--json", str(out_json)]
        assert await run_cli(argv, settings) == 0
        # Each example went out as its own system + user messages, without the answer.
        sent = stub.chat_requests()
        assert len(sent) == 12
        assert {(b["model"], b["messages"][1]["content"]) for b in sent} == {
            (m, d) for m in (FT, BASE) for d, _ in PAIRS
        }
        assert all(b["messages"][0]["role"] == "system" and len(b["messages"]) == 2 for b in sent)

    refs = [s for _, s in PAIRS]
    srcs = [d for d, _ in PAIRS]
    expected = {
        FT: expected_scores([GOOD_ANSWERS[d] for d in srcs], refs, srcs),
        BASE: expected_scores([BASE_ANSWERS[d] for d in srcs], refs, srcs),
        "copy (baseline)": expected_scores(srcs, refs, srcs),
    }
    payload = json.loads(out_json.read_text(encoding="utf-8"))
    assert payload["examples"] == 6
    assert [r["model"] for r in payload["results"]] == [FT, BASE, "copy (baseline)"]
    for result in payload["results"]:
        for metric, value in expected[result["model"]].items():
            assert result[metric] == pytest.approx(value), (result["model"], metric)
    assert expected["copy (baseline)"]["game"] == 0.0  # copying earns nothing in the game
    assert expected[FT]["bleu"] > expected[BASE]["bleu"] > 0

    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("model"))
    assert lines[header].split() == [
        "model",
        "BLEU",
        "BLEU-char",
        "chrF",
        "ROUGE-L",
        "eojeol",
        "ROUGE-L",
        "char",
        "game",
        "answered",
        "cost",
    ]
    rows = {line.split()[0]: line.split() for line in lines[header + 2 : header + 5]}
    for model, row in ((FT, rows[FT]), (BASE, rows[BASE]), ("copy (baseline)", rows["copy"])):
        values = row[1:7] if model != "copy (baseline)" else row[2:8]
        assert values == [f"{expected[model][k]:.1f}" for k in expected[model]]
    assert rows[FT][7] == "6/6"
    assert "tokenize=13a (splits on spaces: eojeol level)" in out
    assert "Totals: 12 calls," in out

    db = await Database.open(settings.db_path)
    try:
        usage = await db.usage_summary("cli", 0, time.time() + 60)
    finally:
        await db.close()
    # Recorded like in-game calls, under the "cli" space with purpose "eval".
    assert usage.calls == 12
    assert usage.prompt_tokens > 0
    assert f"${usage.cost_usd:.4f}" in out.split("Totals:")[1]


async def test_eval_bounded_concurrency_limit_and_missing_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = [dialect_example(f"그랬슈 {i}", f"그랬어요 {i}") for i in range(10)]
    path = write_jsonl(tmp_path / "valid.jsonl", examples)
    in_flight = 0
    peak = 0

    async def slow_reply(body: dict[str, Any]) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.03)
        in_flight -= 1
        return body["messages"][-1]["content"].replace("슈", "어요")

    async with OpenAIStub() as stub:
        stub.chat_reply = slow_reply
        settings = make_settings(tmp_path, stub.base_url)
        argv = ["eval", "dialect", str(path), "--model", "a", "--model", "b", "--concurrency", "3"]
        assert await run_cli(argv, settings) == 0
        assert peak == 3  # concurrent, and never more than asked
        assert len(stub.chat_requests()) == 20

        peak = 0
        argv = ["eval", "dialect", str(path), "--model", "a", "--limit", "4", "--concurrency", "10"]
        assert await run_cli(argv, settings) == 0
        assert len(stub.chat_requests()) == 24 and peak == 4
        out = capsys.readouterr().out
        assert "4 examples" in out and "100.0" in out  # every answer is exactly the reference

        # A missing model is not silently replaced by the game's fallback model.
        stub.missing_models.add("ft:gone")
        argv = ["eval", "dialect", str(path), "--model", "ft:gone", "--model", "a", "--limit", "2"]
        assert await run_cli(argv, settings) == 0
        out = capsys.readouterr().out
        assert "ft:gone: 2 failed: model missing, fallback gpt-6.1-terra answered" in out
        row = next(line for line in out.splitlines() if line.startswith("ft:gone"))
        assert row.split()[7] == "0/2"

        # Nothing answers at all: one sentence, exit 2.
        stub.fail("/v1/chat/completions", 500, times=None)
        argv = ["eval", "dialect", str(path), "--model", "a", "--limit", "2"]
        assert await run_cli(argv, settings) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 2 and err[-1].startswith("catchbot: No model answered: HTTP 500:")
        assert "Traceback" not in "".join(err)


async def test_eval_drawing_accuracy_and_frequent_wrong_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path)
    labels = ["apple", "cat", "house", "사과", "zeppelin", "car"]
    urls = [data_url(png_bytes(64, 64, (40 * i, 200 - 30 * i, 90))) for i in range(len(labels))]
    examples = [
        {"messages": [*drawing_messages(settings, url), {"role": "assistant", "content": label}]}
        for url, label in zip(urls, labels, strict=True)
    ]
    path = write_jsonl(tmp_path / "drawings.valid.jsonl", examples)
    # Model "seed" calls almost everything a cat (what the seed article saw); "overfit" says house.
    seed_answers = ["An apple.", "cat", "cat", "cat", "a zeppelin", "cat"]
    by_url = dict(zip(urls, seed_answers, strict=True))

    def reply(body: dict[str, Any]) -> str:
        if body["model"] == "overfit":
            return "house"
        return by_url[body["messages"][1]["content"][1]["image_url"]["url"]]

    out_json = tmp_path / "d.json"
    async with OpenAIStub() as stub:
        stub.chat_reply = reply
        settings = make_settings(tmp_path, stub.base_url)
        argv = [
            "eval",
            "drawing",
            str(path),
            "--model",
            "seed",
            "--model",
            "overfit",
            "--json",
            str(out_json),
        ]
        assert await run_cli(argv, settings) == 0
        sent = {b["messages"][1]["content"][1]["image_url"]["url"]: b["messages"] for b in stub.chat_requests()}
        assert all(sent[url] == e["messages"][:2] for url, e in zip(urls, examples, strict=True))

    # By hand: seed gets apple, cat, zeppelin (ad-hoc word) right = 3/6, and 사과 (apple) wrong;
    # overfit gets only house right = 1/6.
    results = {r["model"]: r for r in json.loads(out_json.read_text(encoding="utf-8"))["results"]}
    assert results["seed"]["correct"] == 3 and results["seed"]["accuracy"] == pytest.approx(50.0)
    assert results["seed"]["top_wrong"] == [["cat", 3]]
    assert results["overfit"]["correct"] == 1 and results["overfit"]["accuracy"] == pytest.approx(100 / 6)
    assert results["overfit"]["top_wrong"] == [["house", 5]]
    out = capsys.readouterr().out
    seed_row = next(line for line in out.splitlines() if line.startswith("seed "))
    assert seed_row.split()[:3] == ["seed", "50.0%", "3/6"] and seed_row.endswith("cat ×3")
    overfit_row = next(line for line in out.splitlines() if line.startswith("overfit "))
    assert overfit_row.split()[:3] == ["overfit", "16.7%", "1/6"] and overfit_row.endswith("house ×5")


async def test_eval_file_problems_are_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path)
    empty = write_jsonl(tmp_path / "e.jsonl", ["not json", {"messages": [{"role": "user", "content": "x"}]}])
    assert await run_cli(["eval", "dialect", str(empty), "--model", "m"], settings) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"catchbot: {empty} has no example with a user message and an assistant answer."
    good = write_jsonl(tmp_path / "g.jsonl", [dialect_example("a", "b")])
    assert await run_cli(["eval", "dialect", str(good), "--model", "m"], settings) == 2
    assert capsys.readouterr().err.strip().startswith("catchbot: No model provider is configured")
