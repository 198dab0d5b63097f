"""A progress line for operators' long commands: how much is done, how fast, and how long is left.

On a terminal the line is redrawn in place; into a file or a pipe (a job's log) a line is written at every tenth
of the way instead, so the log shows progress without a line per step.
"""

import time

from django.core.management.base import OutputWrapper


class Progress:
    """On a management command's ``stderr`` (or ``stdout``): ``advance`` as work gets done, ``finish`` at the end."""

    def __init__(self, stream: OutputWrapper, total: int, unit: str) -> None:
        self.stream, self.total, self.unit = stream, total, unit
        self.done = 0
        self.started = time.monotonic()
        self._tty = stream.isatty()
        self._next_tenth = 1

    def advance(self, count: int) -> None:
        self.done += count
        if self._tty:
            self.stream.write(f"\r{self.line()}", ending="")
            self.stream.flush()
            return
        while self.total and self.done * 10 >= self._next_tenth * self.total and self._next_tenth <= 10:
            self._next_tenth += 1
            self.stream.write(self.line())
            self.stream.flush()

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        left = f", {(self.total - self.done) / rate:.0f} s left" if rate and self.done < self.total else ""
        return f"{self.done:,} of {self.total:,} {self.unit}{share}, {rate:,.0f}/s{left}"

    def finish(self) -> None:
        if self._tty:
            self.stream.write("")  # the line's end
            self.stream.flush()
