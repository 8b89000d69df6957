"""A dependency-free progress bar for long stages (synthesis, evaluation, training)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """``Progress(total, label)``; call ``advance(ok=...)`` per item and ``close()`` at the end.

    On a terminal the bar redraws in place at most 10 times a second; elsewhere (CI logs, pipes) it prints a line
    at every 10% so logs stay short. ``enabled=False`` silences it.
    """

    def __init__(self, total: int, label: str, *, stream: TextIO | None = None, enabled: bool = True, unit: str = "samples"):
        self.total, self.label, self.unit = max(0, total), label, unit
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done = self.failed = 0
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._last_decile = -1
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def advance(self, n: int = 1, *, ok: bool = True) -> None:
        self.done += n
        if not ok:
            self.failed += n
        self._draw()

    def _line(self) -> str:
        elapsed = max(1e-9, time.monotonic() - self._start)
        rate = self.done / elapsed
        frac = self.done / self.total if self.total else 1.0
        width = 24
        filled = int(width * min(1.0, frac))
        bar = "=" * filled + (">" if filled < width else "") + " " * max(0, width - filled - 1)
        fail = f"  failed {self.failed}" if self.failed else ""
        return f"{self.label} [{bar}] {self.done}/{self.total} {rate:.1f} {self.unit}/s {elapsed:.0f}s{fail}"

    def _draw(self, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self._tty:
            if final or now - self._last_draw >= 0.1:
                self.stream.write("\r" + self._line())
                self.stream.flush()
                self._last_draw = now
            return
        decile = int(10 * self.done / self.total) if self.total else 10
        if decile > self._last_decile or (final and self.done and decile != self._last_decile):
            self._last_decile = decile
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        self._draw(final=True)
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()
