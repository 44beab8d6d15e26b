"""A tiny carriage-return progress bar for stderr (no tqdm: it is not a dependency).

On a terminal it redraws one line in place; elsewhere (pipes, CI logs, tests) it
writes nothing while running and one final line, so logs do not fill with frames.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(
        self,
        total: int | None,
        label: str = "",
        *,
        stream: TextIO | None = None,
        width: int = 28,
        min_interval: float = 0.1,
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.min_interval = min_interval
        self.done = 0
        self.note = ""
        self._live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_draw = 0.0
        self._closed = False

    def advance(self, n: int = 1, note: str | None = None) -> None:
        self.done += n
        if note is not None:
            self.note = note
        now = time.monotonic()
        if self._live and (now - self._last_draw >= self.min_interval or self.done == self.total):
            self._last_draw = now
            self._draw()

    def line(self) -> str:
        if self.total:
            frac = min(1.0, self.done / self.total)
            filled = int(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            head = f"{self.label} [{bar}] {self.done}/{self.total} {frac * 100:3.0f}%"
        else:
            head = f"{self.label} {self.done}"
        note = self.note if len(self.note) <= 40 else "…" + self.note[-39:]
        return f"{head} {note}".rstrip()

    def _draw(self) -> None:
        self.stream.write("\r\x1b[2K" + self.line())
        self.stream.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.note = ""
        if self._live:
            self._draw()
            self.stream.write("\n")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
