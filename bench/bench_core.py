"""The judge alone: verdicts per second over random bank words and guesses.

Run: python3 bench/bench_core.py
Guesses through the engine are in bench_hot_path.py, leaderboards in bench_boards.py.
Prints figures only; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import random
import time

from bot.judge import Judge
from bot.words import default_bank


def bench_judge(rounds: int = 20_000) -> None:
    bank = default_bank()
    judge = Judge(bank)
    words = list(bank)
    rng = random.Random(1)
    guesses = [rng.choice(words).en for _ in range(rounds)]
    secrets = [rng.choice(words) for _ in range(rounds)]
    began = time.perf_counter()
    for secret, guess in zip(secrets, guesses, strict=True):
        judge.judge(secret, guess)
    elapsed = time.perf_counter() - began
    print(f"judge: {rounds / elapsed:,.0f} verdicts/s ({elapsed * 1e6 / rounds:.1f} µs each)")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    bench_judge()


if __name__ == "__main__":
    main()
