"""Start-up time of the command line (issue 11): quick commands must not pay for libraries they do not use.

Targets: ``catchbot judge apple apple`` and ``catchbot dialect-score …`` under 0.15 s,
``catchbot --help`` under 0.2 s, measured as wall time of a fresh process, beside
``python -c pass`` (the floor: the interpreter itself).

    python3 bench/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS: list[tuple[str, list[str], float | None]] = [
    ("python -c pass", ["-c", "pass"], None),
    ("catchbot --help", ["-m", "bot", "--help"], 0.20),
    ("catchbot judge apple apple", ["-m", "bot", "judge", "apple", "apple"], 0.15),
    (
        "catchbot dialect-score …",
        ["-m", "bot", "dialect-score", "--dialect", "혼저 옵서예", "--reference", "어서 오세요", "어서 오세요"],
        0.15,
    ),
    ("catchbot guess --help", ["-m", "bot", "guess", "--help"], None),
]


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATCHBOT_")}
    for _label, args, _target in COMMANDS:  # warm the file cache and the .pyc files once
        timed(args, env)
    floor = None
    print(f"{'command':32} {'median':>8} {'p90':>8} {'min':>8} {'vs pass':>8}  target")
    for label, args, target in COMMANDS:
        samples = sorted(timed(args, env) for _ in range(runs))
        median = statistics.median(samples)
        p90 = samples[min(len(samples) - 1, round(0.9 * (len(samples) - 1)))]
        floor = median if floor is None else floor
        verdict = "" if target is None else f"< {target:.2f} s {'ok' if median < target else 'MISSED'}"
        print(
            f"{label:32} {median * 1000:6.0f}ms {p90 * 1000:6.0f}ms {samples[0] * 1000:6.0f}ms "
            f"{median / floor:7.1f}x  {verdict}"
        )


if __name__ == "__main__":
    main()
