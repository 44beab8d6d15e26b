"""Run ``python -m bot`` as a user would type it: a fresh process, a clean environment, a chosen language."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 30.0


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.strip().splitlines()


def clean_env(lang: str = "en_US.UTF-8", **extra: str) -> dict[str, str]:
    """The environment without our settings or the developer's language, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CATCHBOT_", "OPENAI_", "AZURE_", "DISCORD_", "SLACK_", "LC_", "LANG"))
    }
    env.update({"LANG": lang, "PYTHONUNBUFFERED": "1", "LOGNAME": "tess", "USER": "tess", **extra})
    return env


async def catchbot(*args: str, stdin: str = "", cwd: Path, lang: str = "en_US.UTF-8", **extra: str) -> Run:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(lang, **extra),
        cwd=str(cwd),
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), TIMEOUT)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


async def console(
    script: str, *, cwd: Path, lang: str = "en_US.UTF-8", args: tuple[str, ...] = (), **extra: str
) -> Run:
    """A piped console session on ``cwd/game.db`` (unless ``args`` name another database)."""
    extra.setdefault("CATCHBOT_DB_PATH", str(cwd / "game.db"))
    return await catchbot("console", *args, stdin=script, cwd=cwd, lang=lang, **extra)
