"""`catchbot dataset check`: every problem kind with its line, token counts, epochs and cost."""

from __future__ import annotations

import base64
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from bot.finetune.check import KINDS, MAX_IMAGES_PER_EXAMPLE, check_file
from bot.finetune.tokens import count_text, default_epochs
from tests.test_finetune_support import (
    dialect_example,
    jpeg_bytes,
    make_settings,
    png_bytes,
    run_cli,
    write_jsonl,
)

GOOD = dialect_example("그러니께 그랬슈", "그러니까 그랬어요")
PNG_URL = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()


def image_example(*urls: str, role: str = "user") -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": "What's in this image?"}]
    parts += [{"type": "image_url", "image_url": {"url": u, "detail": "low"}} for u in urls]
    messages = [{"role": "system", "content": "You see drawings."}, {"role": "user", "content": parts}]
    if role == "assistant":
        messages.append({"role": "assistant", "content": parts})
    else:
        messages.append({"role": "assistant", "content": "apple"})
    return {"messages": messages}


def with_message(**message: Any) -> dict[str, Any]:
    example = json.loads(json.dumps(GOOD))
    example["messages"].insert(1, message)
    return example


# (bad line, kind) — each bad line is placed as line 3 of a file of 10 good examples plus it.
CASES: list[tuple[str, Any, str]] = [
    ("blank_line", "   ", "blank_line"),
    ("not_json", '{"messages": [', "not_json"),
    ("bom", "\ufeff" + json.dumps(GOOD), "not_json"),
    ("not_object", "[1, 2]", "not_object"),
    ("unknown_key", {**GOOD, "prompt": "x"}, "unknown_key"),
    ("no_messages", {"tools": []}, "no_messages"),
    ("messages_not_list", {"messages": "hello"}, "no_messages"),
    ("message_not_object", {"messages": ["hi", *GOOD["messages"]]}, "message_not_object"),
    ("missing_role", with_message(content="hello"), "missing_role"),
    ("missing_content", with_message(role="user"), "missing_content"),
    ("unknown_role", with_message(role="narrator", content="hello"), "unknown_role"),
    ("unknown_message_key", with_message(role="user", content="hello", mood="happy"), "unknown_message_key"),
    ("empty_content", with_message(role="user", content="  "), "empty_content"),
    ("empty_parts", with_message(role="user", content=[]), "empty_content"),
    ("bad_content", with_message(role="user", content=42), "bad_content"),
    ("bad_part", with_message(role="user", content=[{"type": "audio", "audio": "x"}]), "bad_content"),
    ("bad_weight", with_message(role="user", content="hello", weight=1), "bad_weight"),
    ("no_assistant", {"messages": GOOD["messages"][:2]}, "no_assistant"),
    ("assistant_image", image_example(PNG_URL, role="assistant"), "assistant_image"),
    ("ftp_url", image_example("ftp://example.com/a.png"), "bad_image_url"),
    (
        "image_url_not_object",
        with_message(role="user", content=[{"type": "image_url", "image_url": PNG_URL}]),
        "bad_content",
    ),
    ("gif", image_example("data:image/gif;base64,R0lGODlhAQABAAAAACw="), "bad_image_type"),
    (
        "mime_lies",
        image_example("data:image/png;base64," + base64.b64encode(jpeg_bytes()).decode()),
        "bad_image_type",
    ),
    (
        "bad_detail",
        with_message(role="user", content=[{"type": "image_url", "image_url": {"url": PNG_URL, "detail": "ultra"}}]),
        "bad_content",
    ),
    ("not_base64", image_example("data:image/png;base64,@@@@"), "bad_image_type"),
    (
        "not_an_image",
        image_example("data:image/png;base64," + base64.b64encode(b"hello").decode()),
        "bad_image_type",
    ),
    ("too_many_images", image_example(*[PNG_URL] * (MAX_IMAGES_PER_EXAMPLE + 1)), "too_many_images"),
]


@pytest.mark.parametrize(("name", "bad", "kind"), CASES, ids=[c[0] for c in CASES])
async def test_each_problem_kind_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, bad: Any, kind: str
) -> None:
    path = write_jsonl(tmp_path / f"{name}.jsonl", [GOOD, GOOD, bad, *[GOOD] * 8])
    report = check_file(path)
    assert [(p.line, p.kind) for p in report.problems] == [(3, kind)]
    assert report.counts == {kind: 1}
    assert not report.usable
    assert report.examples == 10  # the bad line does not count as a training example

    code = await run_cli(["dataset", "check", str(path)], make_settings(tmp_path))
    out = capsys.readouterr().out
    assert code == 1
    assert f"  line 3: {KINDS[kind][0]}" in out
    assert "Result: NOT usable, 1 problem(s) to fix first." in out


async def test_oversized_image_and_too_few_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huge = "data:image/png;base64," + "A" * (14 * 1024 * 1024)  # ~10.5 MB once decoded
    path = write_jsonl(tmp_path / "few.jsonl", [GOOD] * 8 + [image_example(huge)])
    report = check_file(path)
    assert [(p.line, p.kind) for p in report.problems] == [(9, "image_too_large"), (0, "too_few_examples")]
    code = await run_cli(["dataset", "check", str(path)], make_settings(tmp_path))
    out = capsys.readouterr().out
    assert code == 1
    assert "line 9: image over 10 MB" in out
    assert "file: fewer than 10 examples (8 usable example(s), at least 10 needed)" in out
    # The count per kind.
    kinds = [line.split() for line in out.split("Problems by kind:\n")[1].splitlines()[:2]]
    assert kinds == [["image", "over", "10", "MB", "1"], ["fewer", "than", "10", "examples", "1"]]


async def test_clean_file_exits_0_and_many_problems_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path)
    good = write_jsonl(tmp_path / "good.jsonl", [GOOD] * 10 + [image_example(PNG_URL)])
    assert await run_cli(["dataset", "check", str(good)], settings) == 0
    assert "No problems found." in capsys.readouterr().out

    bad = write_jsonl(tmp_path / "bad.jsonl", [GOOD] * 10 + ["nope"] * 3 + ["[]"])
    assert await run_cli(["dataset", "check", str(bad)], settings) == 1
    kinds = capsys.readouterr().out.split("Problems by kind:\n")[1].splitlines()
    assert [line.split() for line in kinds[:2]] == [["not", "JSON", "3"], ["not", "a", "JSON", "object", "1"]]


async def test_long_example_is_a_warning_and_billing_is_capped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_text = "방언 " * 20_000  # well over gpt-3.5-turbo's 16,385-token training context
    path = write_jsonl(tmp_path / "long.jsonl", [GOOD] * 10 + [dialect_example(long_text, "표준어")])
    report = check_file(path, base_model="gpt-3.5-turbo-0125", prices={"*": 1.0}, epochs=1)
    assert report.usable  # providers truncate long examples: wasteful, not fatal
    assert [(p.line, p.kind) for p in report.problems] == [(11, "too_long")]
    assert report.example_tokens[-1] > 16_385
    assert report.cost is not None
    assert report.cost.tokens_per_epoch == sum(report.example_tokens[:10]) + 16_385
    code = await run_cli(["dataset", "check", str(path), "--model", "gpt-3.5-turbo"], make_settings(tmp_path))
    out = capsys.readouterr().out
    assert code == 0
    assert "line 11: over the context limit (truncated)" in out and "(warning)" in out
    assert "Over the 16,385-token training context: 1 example(s)" in out


def rust_o200k() -> Any:
    """o200k_base from bpe-openai's own Rust tokenizer: an implementation independent of tiktoken."""
    with warnings.catch_warnings():
        # bpe-openai reads its data through a deprecated importlib API.
        warnings.simplefilter("ignore", DeprecationWarning)
        import bpe_openai

        return bpe_openai.get_encoding("o200k_base")


def independent_count(example: dict[str, Any]) -> int:
    """The cookbook's formula, with the bpe-openai Rust tokenizer instead of ours."""
    enc = rust_o200k()
    total = 3
    for message in example["messages"]:
        total += 3 + len(enc.encode(message["role"]))
        content = message["content"]
        if isinstance(content, str):
            total += len(enc.encode(content))
        else:
            total += sum(len(enc.encode(p["text"])) for p in content if p["type"] == "text")
    return total


def test_token_counts_match_an_independent_tokenizer(tmp_path: Path) -> None:
    examples = [
        dialect_example("삼춘도 초신 멘드라 봐쑤꽈", "할아버지도 짚신 만들어 봤습니까"),
        dialect_example("hello world", "Hello, world!", system="You are terse."),
        dialect_example("뭐라카노? 니 어데 가노!", "뭐라고 하니? 너 어디 가니!"),
    ]
    path = write_jsonl(tmp_path / "t.jsonl", examples * 4)
    report = check_file(path)
    assert report.example_tokens == [independent_count(e) for e in examples] * 4
    # Fixed points of o200k_base that anyone can check.
    assert count_text("hello world") == 2
    assert count_text("") == 0
    # Assistant tokens alone: 3 + role + content.
    enc = rust_o200k()
    assert report.assistant_tokens[0] == len(enc.encode("할아버지도 짚신 만들어 봤습니까"))


def test_image_tokens_use_the_base_models_formula(tmp_path: Path) -> None:
    text_only = image_example()
    low = image_example(PNG_URL)  # 64x64, detail low
    big = png_bytes(1024, 1024)
    high = image_example("data:image/png;base64," + base64.b64encode(big).decode())
    high["messages"][1]["content"][1]["image_url"]["detail"] = "high"
    path = write_jsonl(tmp_path / "img.jsonl", [text_only, low, high] + [GOOD] * 8)
    report = check_file(path, base_model="gpt-4o-2024-08-06")
    base = report.example_tokens[0]
    # OpenAI's published figures for gpt-4o: low detail 85; 1024x1024 high detail 85 + 4 * 170 = 765.
    assert report.example_tokens[1] - base == 85
    assert report.example_tokens[2] - base == 765
    assert report.images == 2 and report.image_tokens_exact
    # An unknown base model falls back to an estimate, and says so.
    assert not check_file(path, base_model="my-own-model").image_tokens_exact


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [(1, 25), (3, 25), (10, 10), (33, 3), (34, 3), (1000, 3), (8333, 3), (8334, 2), (12_500, 2), (30_000, 1)],
)
def test_default_epochs_rule(examples: int, epochs: int) -> None:
    assert default_epochs(examples) == epochs


async def test_cost_estimate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path)
    path = write_jsonl(tmp_path / "c.jsonl", [GOOD] * 12)
    per_example = independent_count(GOOD)
    epochs = 100 // 12  # 8: fewer than 100 example passes at 3 epochs
    report = check_file(path, base_model="gpt-4o-mini-2024-07-18", prices=settings.training_prices)
    assert report.cost is not None
    assert report.cost.epochs == epochs and report.cost.epochs_are_default
    assert report.cost.billed_tokens == per_example * 12 * epochs
    assert report.cost.price_row == "gpt-4o-mini"
    assert report.cost.usd == pytest.approx(per_example * 12 * epochs / 1e6 * 3.00)

    code = await run_cli(["dataset", "check", str(path), "--model", "gpt-4o-mini", "--epochs", "2"], settings)
    out = capsys.readouterr().out
    assert code == 0
    billed = per_example * 12 * 2
    assert f"Billed training tokens: {billed:,} ({per_example * 12:,} per epoch × 2)" in out
    assert f"Estimated training cost: ${billed / 1e6 * 3.0:,.2f} at $3.00 per 1M tokens (gpt-4o-mini)" in out

    # A model the price table does not know: the "*" row, marked as an estimate.
    assert await run_cli(["dataset", "check", str(path), "--model", "gpt-6-luna"], settings) == 0
    out = capsys.readouterr().out
    assert "at $25.00 per 1M tokens (model not in the price table, '*' row: estimate)" in out
    assert f"Epochs: {epochs} (provider default for 12 examples)" in out
