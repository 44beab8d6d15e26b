"""What fair dialect scoring costs (issue 14): the analyser's load time and the time to score one answer.

Goal: under 5 ms median per answer once the analyser is loaded. Answers are the calibration set's
paraphrases, half-translations and unrelated sentences (tests/data/dialect_calibration.json), each
scored once, as in a round: the dialect sentence and its references are analysed when the first
answer comes and cached for the rest. The surface-only chrF of the earlier scorer is timed beside it.

    python3 bench/bench_dialect_scoring.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.dialect import morphs  # noqa: E402
from bot.dialect.scoring import chrf, explain_answer  # noqa: E402

LOAD = (
    "import time; t = time.perf_counter(); from bot.dialect import morphs; morphs.load(); "
    "print(time.perf_counter() - t)"
)


def load_seconds(runs: int = 3) -> list[float]:
    """The analyser's load, each in a fresh process (the first dialect answer after start-up pays it)."""
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, capture_output=True, text=True, check=True)
        out.append(float(done.stdout.strip()))
    return out


def per_answer_ms() -> tuple[list[float], list[float], float]:
    cases = json.loads((ROOT / "tests/data/dialect_calibration.json").read_text(encoding="utf-8"))["cases"]
    morphs.load()
    fair, surface = [], []
    for case in cases:
        dialect, references = case["dialect"], [case["reference"]]
        explain_answer(case["reference"] + "?", dialect, references)  # the round's first answer warms its cache
        answers = [p["text"] for p in case["paraphrases"]] + [case["half"], case["unrelated"]]
        for answer in answers:
            start = time.perf_counter()
            explain_answer(answer, dialect, references)
            fair.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            chrf(answer, case["reference"]), chrf(dialect, case["reference"])
            surface.append((time.perf_counter() - start) * 1000)
    long_answer = "가나다라마바사아자차카타파하" * 143  # 2,002 characters, the worst a player can send (500 kept)
    start = time.perf_counter()
    explain_answer(long_answer[:500], cases[0]["dialect"], [cases[0]["reference"]])
    return fair, surface, (time.perf_counter() - start) * 1000


def main() -> None:
    loads = load_seconds()
    fair, surface, long_ms = per_answer_ms()
    q = statistics.quantiles(fair, n=20)
    print(f"analyser load (fresh process): median {statistics.median(loads):.2f} s over {len(loads)} runs")
    print(f"answers scored: {len(fair)}")
    print(f"fair score per answer: median {statistics.median(fair):.2f} ms, p95 {q[18]:.2f} ms, max {max(fair):.2f} ms")
    print(f"surface chrF alone: median {statistics.median(surface):.2f} ms")
    print(f"ratio fair / surface (median): {statistics.median(fair) / statistics.median(surface):.1f}x")
    print(f"500-character answer: {long_ms:.1f} ms")
    print(f"goal: median under 5 ms: {'met' if statistics.median(fair) < 5 else 'MISSED'}")


if __name__ == "__main__":
    main()
