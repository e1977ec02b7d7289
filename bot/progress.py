"""Progress of long CLI work: a bar with counts and ETA on a terminal (tqdm), a plain line every
so often when the output is a file or a pipe, and nothing at all when asked for quiet (`--json`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

LINE_EVERY_SECONDS = 10.0


class Progress(Protocol):
    def grow(self, n: int) -> None: ...  # n more to do than was known
    def update(self, n: int = 1) -> object: ...
    def note(self, text: str) -> None: ...
    def write(self, text: str) -> None: ...  # a line of the command's own output, kept clear of the bar
    def close(self) -> None: ...


def progress(what: str, *, total: int | None, unit: str, quiet: bool = False, stream: TextIO | None = None) -> Progress:
    """Progress of `total` (None: unknown) `unit`s of `what`, written to `stream` (default stderr)."""
    stream = stream or sys.stderr
    if quiet:
        return _Silent()
    if stream.isatty():
        return _Bar(what, total=total, unit=unit, stream=stream)
    return _Lines(what, total=total, unit=unit, stream=stream)


class _Silent:
    def grow(self, n: int) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def write(self, text: str) -> None:
        print(text, flush=True)

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class _Bar:
    def __init__(self, what: str, *, total: int | None, unit: str, stream: TextIO) -> None:
        from tqdm import tqdm

        self.bar: Any = tqdm(total=total, desc=what, unit=f" {unit}", file=stream, dynamic_ncols=True, leave=True)

    def grow(self, n: int) -> None:
        self.bar.total = (self.bar.total or 0) + n
        self.bar.refresh()

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def write(self, text: str) -> None:
        self.bar.write(text, file=sys.stdout)

    def note(self, text: str) -> None:
        self.bar.set_postfix_str(text, refresh=False)

    def close(self) -> None:
        self.bar.close()


class _Lines:
    """For logs: `what: 120/400 messages (30%), about 2 min left — #general` every few seconds."""

    def __init__(
        self, what: str, *, total: int | None, unit: str, stream: TextIO, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.what, self.total, self.unit, self.stream, self.clock = what, total, unit, stream, clock
        self.done, self.text = 0, ""
        self.started = self.last = clock()

    def grow(self, n: int) -> None:
        self.total = (self.total or 0) + n

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.clock() - self.last >= LINE_EVERY_SECONDS:
            self._write()

    def write(self, text: str) -> None:
        print(text, flush=True)

    def note(self, text: str) -> None:
        self.text = text

    def close(self) -> None:
        if self.done:
            self._write()

    def _write(self) -> None:
        self.last = now = self.clock()
        count = f"{self.done:,}/{self.total:,}" if self.total else f"{self.done:,}"
        parts = [f"{self.what}: {count} {self.unit}"]
        if self.total:
            parts.append(f"({100 * self.done // max(self.total, 1)}%)")
            rate = self.done / max(now - self.started, 1e-9)
            if 0 < self.done < self.total and rate > 0:
                parts.append(f"about {_duration((self.total - self.done) / rate)} left")
        line = " ".join(parts) + (f" — {self.text}" if self.text else "")
        print(line, file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
