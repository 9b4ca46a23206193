"""A progress bar on stderr: redrawn in place on a terminal, one line per phase otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 28


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None):
        self.total = max(1, total)
        self.done = 0
        self.stream = stream or sys.stderr
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._phase = ""

    def grow(self, steps: int) -> None:
        """Add steps discovered on the way (e.g. calibration finished)."""
        self.total += steps

    def advance(self, label: str, steps: int = 1) -> None:
        self.done = min(self.total, self.done + steps)
        self.show(label)

    def show(self, label: str) -> None:
        fraction = self.done / self.total
        elapsed = time.monotonic() - self.started
        if self.interactive:
            filled = int(WIDTH * fraction)
            bar = "#" * filled + "." * (WIDTH - filled)
            self.stream.write(f"\r[{bar}] {fraction:4.0%} {elapsed:5.0f}s  {label[:60]:<60}")
            self.stream.flush()
        else:
            phase = label.split(":")[0]
            if phase != self._phase:
                self._phase = phase
                print(f"[{fraction:4.0%} {elapsed:4.0f}s] {label}", file=self.stream, flush=True)

    def log(self, message: str) -> None:
        """A message that must not be overdrawn by the bar."""
        if self.interactive:
            self.stream.write("\r" + " " * (WIDTH + 80) + "\r")
        print(message, file=self.stream, flush=True)

    def finish(self) -> None:
        self.done = self.total
        if self.interactive:
            self.show("done")
            self.stream.write("\n")
            self.stream.flush()
