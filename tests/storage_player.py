"""A process that plays random rounds straight into a database until it is killed (the SIGKILL tests).

python -m tests.storage_player TARGET SEED : prints "ready" after its first commits, then goes on.
"""

from __future__ import annotations

import asyncio
import random
import sys

from storage import Award, open_database

GAMES = ("drawing", "dialect")
YEAR = 365 * 86400
T0 = 1_767_225_600.0  # 2026-01-01 UTC


async def play_round(db, rng: random.Random, n: int) -> None:  # type: ignore[no-untyped-def]
    space = rng.choice(("s1", "s2", "s3"))
    game = rng.choice(GAMES)
    at = T0 + rng.random() * YEAR
    round_id = await db.open_round(
        space=space,
        channel=f"c{n}",
        game=game,
        starter="alice",
        secret="apple",
        locale="en",
        payload={},
        started_at=at,
        ends_at=at + 60,
    )
    players = [f"p{int(rng.paretovariate(1.2)) % 40}" for _ in range(rng.randint(0, 3))]
    awards = [Award(p, rng.choice((1, 3, 5, 10, -2)), "guess") for p in players]
    await db.close_round(round_id, status="won", closed_at=at + 30, awards=awards, announcement={"round": n})


async def main(target: str, seed: int) -> None:
    rng = random.Random(seed)
    db = await open_database(target, default_zone="Asia/Seoul")
    n = 0
    while True:
        n += 1
        await play_round(db, rng, n)
        if n == 20:
            print("ready", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
