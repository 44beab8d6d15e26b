"""Evaluate models on a held-out chat JSONL file, the way the game would call them.

Each example's messages up to its last assistant turn go to every model through
:class:`bot.ai.players.ModelGateway` (same retries, same prompt handling, same
cost accounting as in play; each call is recorded with purpose ``eval``); the
assistant turn is the reference.

Dialect scores (all 0-100, corpus level unless said otherwise):

* BLEU — sacrebleu corpus BLEU with its default ``13a`` tokeniser, which splits
  Korean on spaces, i.e. it counts eojeol (space-separated word) n-grams;
* BLEU-char — the same with sacrebleu's ``char`` tokeniser (character n-grams);
* chrF — sacrebleu CHRF (character 6-grams, β=2, no word n-grams);
* ROUGE-L — LCS-based F1 (β=1), the mean over sentences, over eojeols and over
  characters with spaces removed (so spacing does not count);
* game — the mean of the score players get (:func:`bot.dialect.scoring.score_answer`:
  the better of chrF on the text and chrF on its content morphemes, each rescaled so that
  copying the dialect sentence scores 0), so a model is judged by the players' rule.

The copy baseline answers each example with its user message unchanged: a
fine-tune that does not beat it has learnt nothing.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.config import Game, Settings
from bot.finetune.errors import FinetuneError
from bot.finetune.progress import ProgressBar

COPY_BASELINE = "copy (baseline)"
TOP_WRONG = 5
EVAL_SPACE = "cli"


@dataclass(frozen=True, slots=True)
class EvalExample:
    line: int
    prompt: list[dict[str, Any]]
    reference: str
    source: str  # the last user message's text: what the copy baseline answers


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
        ).strip()
    return ""


def read_examples(path: Path, limit: int | None = None) -> tuple[list[EvalExample], int]:
    """Examples with a reference answer, and the number of lines that were not usable."""
    examples: list[EvalExample] = []
    unusable = 0
    try:
        fh = path.open(encoding="utf-8-sig")
    except OSError as exc:
        raise FinetuneError(f"Could not read {path}: {exc.strerror or exc}.") from None
    with fh:
        for number, line in enumerate(fh, start=1):
            if limit is not None and len(examples) >= limit:
                break
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                unusable += 1
                continue
            messages = obj.get("messages") if isinstance(obj, dict) else None
            if not isinstance(messages, list):
                unusable += 1
                continue
            last = max(
                (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant"),
                default=None,
            )
            reference = _text_of(messages[last].get("content")).strip() if last is not None else ""
            prompt = [m for m in messages[:last] if isinstance(m, dict)] if last is not None else []
            if not reference or not any(m.get("role") == "user" for m in prompt):
                unusable += 1
                continue
            source = next(_text_of(m.get("content")) for m in reversed(prompt) if m.get("role") == "user")
            examples.append(EvalExample(number, prompt, reference, source))
    return examples, unusable


# --- metrics ------------------------------------------------------------------------


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence, bit-parallel (Hyyrö 2004): O(len(b)·len(a)/64)."""
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, item in enumerate(a):
        masks[item] = masks.get(item, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for item in b:
        u = v & masks.get(item, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l(hypothesis: Sequence[str], reference: Sequence[str]) -> float:
    """ROUGE-L F1 (β=1) of two token sequences, 0..1."""
    if not hypothesis or not reference:
        return 1.0 if not hypothesis and not reference else 0.0
    lcs = lcs_length(reference, hypothesis)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(hypothesis), lcs / len(reference)
    return 2 * precision * recall / (precision + recall)


def _chars(text: str) -> list[str]:
    return [c for c in text if not c.isspace()]


def dialect_scores(hypotheses: list[str], references: list[str], sources: list[str]) -> dict[str, float]:
    import sacrebleu

    from bot.dialect.scoring import score_answer

    if not references:
        return dict.fromkeys(METRIC_NOTES, 0.0)
    pairs = list(zip(hypotheses, references, strict=True))
    return {
        "bleu": sacrebleu.corpus_bleu(hypotheses, [references]).score,
        "bleu_char": sacrebleu.corpus_bleu(hypotheses, [references], tokenize="char").score,
        "chrf": sacrebleu.corpus_chrf(hypotheses, [references]).score,
        "rouge_l_eojeol": 100 * statistics.fmean(rouge_l(h.split(), r.split()) for h, r in pairs),
        "rouge_l_char": 100 * statistics.fmean(rouge_l(_chars(h), _chars(r)) for h, r in pairs),
        "game": statistics.fmean(score_answer(h, s, [r]) for (h, r), s in zip(pairs, sources, strict=True)),
    }


METRIC_NOTES = {
    "bleu": "sacrebleu corpus BLEU, tokenize=13a (splits on spaces: eojeol level)",
    "bleu_char": "sacrebleu corpus BLEU, tokenize=char (character level)",
    "chrf": "sacrebleu corpus chrF (character 6-grams, beta 2, no word n-grams)",
    "rouge_l_eojeol": "ROUGE-L F1 (LCS, beta 1) over eojeols, mean over sentences",
    "rouge_l_char": "ROUGE-L F1 (LCS, beta 1) over characters without spaces, mean over sentences",
    "game": "the players' score: best of text and content-morpheme chrF, copy-rescaled (copy = 0), mean",
}


# --- running the models ---------------------------------------------------------------


@dataclass(slots=True)
class ModelRun:
    model: str
    answers: list[str | None]  # None where the call failed
    failures: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_estimated: bool = False

    @property
    def answered(self) -> int:
        return sum(a is not None for a in self.answers)

    @property
    def failed(self) -> int:
        return len(self.answers) - self.answered


async def run_models(
    settings: Settings,
    game: Game,
    examples: list[EvalExample],
    models: list[str],
    *,
    concurrency: int,
    progress: TextIO | None = None,
) -> list[ModelRun]:
    """Every example to every model, at most ``concurrency`` calls in flight; usage is recorded."""
    import storage
    from bot.ai.players import AIUnavailable, ModelGateway
    from bot.finetune.jobs import client_for

    gateway = ModelGateway(settings, client_for(settings))
    runs = [ModelRun(m, [None] * len(examples)) for m in models]
    semaphore = asyncio.Semaphore(max(1, concurrency))
    bar = ProgressBar(len(examples) * len(models), f"eval {game}", stream=progress)
    db = await storage.open_database(settings)

    async def one(run: ModelRun, index: int) -> None:
        try:
            async with semaphore:
                answer = await gateway.complete(game, examples[index].prompt, model=run.model)
        except AIUnavailable as exc:
            run.failures[exc.detail or exc.reason] += 1
            bar.advance(1)
            return
        await db.record_usage(EVAL_SPACE, game, answer, purpose="eval")
        run.prompt_tokens += answer.prompt_tokens
        run.completion_tokens += answer.completion_tokens
        run.cost_usd += answer.cost_usd
        run.cost_estimated |= answer.cost_estimated
        if answer.retired_model is not None:
            # The gateway fell back to the game's other model: that is not this model's answer.
            run.failures[f"model missing, fallback {answer.model} answered"] += 1
        else:
            run.answers[index] = answer.text
        bar.advance(1)

    try:
        await asyncio.gather(*(one(run, i) for run in runs for i in range(len(examples))))
    finally:
        bar.close()
        await db.close()
        await gateway.aclose()
    return runs


# --- reports -------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: frozenset[int] = frozenset({0})) -> str:
    """An aligned text table; columns not in ``left`` are right-aligned (numbers)."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def fmt(row: Sequence[str]) -> str:
        cells = [
            str(c).ljust(w) if i in left else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(headers), rule, *(fmt(r) for r in rows)])


def _cost(run: ModelRun) -> str:
    return f"{'~' if run.cost_estimated else ''}${run.cost_usd:.4f}"


def _failures_note(runs: list[ModelRun]) -> list[str]:
    lines = []
    for run in runs:
        for reason, n in run.failures.most_common(3):
            lines.append(f"  {run.model}: {n} failed: {reason}")
    return lines


def _totals(runs: list[ModelRun]) -> str:
    calls = sum(len(r.answers) for r in runs)
    estimated = any(r.cost_estimated for r in runs)
    return (
        f"Totals: {calls:,} calls, {sum(r.prompt_tokens for r in runs):,} prompt + "
        f"{sum(r.completion_tokens for r in runs):,} completion tokens, "
        f"{'~' if estimated else ''}${sum(r.cost_usd for r in runs):.4f}"
        + (" (estimated: some models are not in the price table)" if estimated else "")
    )


def dialect_report(path: Path, examples: list[EvalExample], runs: list[ModelRun]) -> tuple[str, dict[str, Any]]:
    refs = [e.reference for e in examples]
    sources = [e.source for e in examples]
    results: list[dict[str, Any]] = []
    for run in runs:
        hyps = [a if a is not None else "" for a in run.answers]  # a failed call scores as no answer
        results.append(
            {
                "model": run.model,
                **dialect_scores(hyps, refs, sources),
                "answered": run.answered,
                "failed": run.failed,
                "cost_usd": round(run.cost_usd, 6),
                "cost_estimated": run.cost_estimated,
            }
        )
    results.append(
        {
            "model": COPY_BASELINE,
            **dialect_scores(sources, refs, sources),
            "answered": len(examples),
            "failed": 0,
            "cost_usd": 0.0,
            "cost_estimated": False,
        }
    )
    headers = ["model", "BLEU", "BLEU-char", "chrF", "ROUGE-L eojeol", "ROUGE-L char", "game", "answered"]
    headers.append("cost")
    rows = []
    for res, run in zip(results, [*runs, None], strict=True):
        scores = [f"{res[k]:.1f}" for k in METRIC_NOTES]
        cost = _cost(run) if run is not None else "-"
        rows.append([res["model"], *scores, f"{res['answered']}/{len(examples)}", cost])
    lines = [f"Dialect evaluation of {path}: {len(examples):,} examples", "", table(headers, rows), ""]
    labels = zip(METRIC_NOTES, headers[1:], strict=False)
    lines += [f"  {label}: {METRIC_NOTES[key]}" for key, label in labels]
    failures = _failures_note(runs)
    if failures:
        lines += ["Failed calls (scored as empty answers):", *failures]
    lines.append(_totals(runs))
    payload = {
        "file": str(path),
        "game": "dialect",
        "examples": len(examples),
        "metrics": METRIC_NOTES,
        "results": results,
    }
    return "\n".join(lines), payload


def drawing_report(path: Path, examples: list[EvalExample], runs: list[ModelRun]) -> tuple[str, dict[str, Any]]:
    from bot.judge import Judge
    from bot.words import Word, default_bank

    judge = Judge(default_bank())
    words = []
    for example in examples:
        word = judge.resolve(example.reference)
        if word is None:  # a label outside the bank: judge against the label itself
            text = example.reference
            word = Word(id=f"adhoc:{text}", category="objects", difficulty=2, en=text, ko=text)
        words.append(word)
    results: list[dict[str, Any]] = []
    rows = []
    for run in runs:
        correct = 0
        wrong: Counter[str] = Counter()
        for word, answer in zip(words, run.answers, strict=True):
            if answer is None:
                continue
            if judge.judge(word, answer).correct:
                correct += 1
            else:
                wrong[" ".join(answer.casefold().split()) or "(empty)"] += 1
        accuracy = 100 * correct / len(examples) if examples else 0.0
        top = wrong.most_common(TOP_WRONG)
        results.append(
            {
                "model": run.model,
                "accuracy": accuracy,
                "correct": correct,
                "answered": run.answered,
                "failed": run.failed,
                "top_wrong": [[a, n] for a, n in top],
                "cost_usd": round(run.cost_usd, 6),
                "cost_estimated": run.cost_estimated,
            }
        )
        rows.append(
            [
                run.model,
                f"{accuracy:.1f}%",
                f"{correct}/{len(examples)}",
                str(run.failed),
                _cost(run),
                ", ".join(f"{a} ×{n}" for a, n in top) or "-",
            ]
        )
    headers = ["model", "accuracy", "correct", "failed", "cost", "most frequent wrong answers"]
    lines = [
        f"Drawing evaluation of {path}: {len(examples):,} examples (judged like in-game guesses)",
        "",
        table(headers, rows, left=frozenset({0, 5})),
    ]
    failures = _failures_note(runs)
    if failures:
        lines += ["Failed calls (counted as wrong):", *failures]
    lines.append(_totals(runs))
    payload = {"file": str(path), "game": "drawing", "examples": len(examples), "results": results}
    return "\n".join(lines), payload
