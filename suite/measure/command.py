"""Short-lived external commands the suite waits for: the docker CLI and Compose, the tools that
build the offline images (debootstrap, tar), a load generator asked for its version.

One way to run them: an argument list (never a shell string), stdin closed, output captured as
text, and a time limit. One error for every way a command gives no usable answer: it is not
installed, it gave no answer within its limit (a hung Docker daemon), or, when asked, it failed.
Callers give it their own meaning (the docker runtime: RuntimeUnavailable or ServerFailed; the
images: ImageError; the load generators: LoadGenError), a one-line message the CLI prints.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from suite.measure.text import last_line


class CommandError(Exception):
    """A command is not installed (`missing`), gave no answer in time, or (check) failed."""

    def __init__(self, message: str, *, missing: bool = False):
        super().__init__(message)
        self.missing = missing


def run(argv: Sequence[str], *, timeout: float, what: str | None = None,
        env: dict[str, str] | None = None, log: Path | None = None,
        check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `argv` to its end and return what it printed and its exit status.

    `what` names the command in messages (default: the program and its first argument, e.g.
    "docker inspect"); `log` receives its stdout and stderr whatever the outcome; `check` turns
    a non-zero exit into a CommandError quoting the last line it printed."""
    what = what or " ".join([Path(argv[0]).name, *argv[1:2]])
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              env=env, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise CommandError(f"{argv[0]} not found", missing=True) from None
    except subprocess.TimeoutExpired:
        raise CommandError(f"{what} did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise CommandError(f"cannot run {argv[0]}: {exc.strerror}") from None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(done.stdout + done.stderr)
    if check and done.returncode != 0:
        raise CommandError(f"{what} failed (exit {done.returncode}): "
                           f"{last_line(done.stderr or done.stdout)}")
    return done
