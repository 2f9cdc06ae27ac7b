"""Text on its way out: a tool's or a server's output cut down to the one line an error message
quotes, and the one printer of progress lines (stderr, flushed at once)."""

from __future__ import annotations

import sys


def to_stderr(message: str) -> None:
    """A progress line, on stderr, flushed (stdout stays for what a command outputs)."""
    print(message, file=sys.stderr, flush=True)


def last_line(text: str) -> str:
    """The last line that is not blank, stripped; "no output" when there is none."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def ended(status: str, log: str, lines: int = 6) -> str:
    """How a process ended and the last `lines` non-blank lines of its log, on one line:
    "exited with code 3; last log lines: a | b", or "...; empty log"."""
    tail = [line.strip() for line in log.splitlines() if line.strip()][-lines:]
    return f"{status}; last log lines: {' | '.join(tail)}" if tail else f"{status}; empty log"
