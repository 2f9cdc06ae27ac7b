"""Which interpreter runs a variant's server: the suite's own (the default), or the free-threaded
CPython that scripts/ensure-free-threaded builds into the cache with its virtualenv .venv-ft
(`make setup`). A free-threaded row whose interpreter is missing is unavailable, with one line
saying how to get it; everything else runs as before."""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path

from suite import REPO_ROOT
from suite.record.catalog import Variant

FREE_THREADED_VENV = REPO_ROOT / ".venv-ft"
# Set to another free-threaded interpreter (a virtualenv's python with the servers' packages).
FREE_THREADED_ENV = "BATTLE_FT_PYTHON"
MISSING = ("no free-threaded CPython: run `make setup` (scripts/ensure-free-threaded builds it "
           f"once from Debian's source) or set {FREE_THREADED_ENV}")


class InterpreterMissing(Exception):
    """A variant's interpreter is not installed."""


def free_threaded_python() -> str | None:
    """The free-threaded interpreter's path, or None when there is none."""
    path = Path(os.environ.get(FREE_THREADED_ENV) or FREE_THREADED_VENV / "bin" / "python")
    return str(path) if os.access(path, os.X_OK) else None


def python_for(variant: Variant, default: str) -> str:
    """The interpreter that runs `variant` (`default`: the runtime's own). Raises
    InterpreterMissing for a free-threaded row without its interpreter."""
    if not variant.free_threaded:
        return default
    python = free_threaded_python()
    if python is None:
        raise InterpreterMissing(f"{variant.name}: {MISSING}")
    return python


_REPORT = """
import importlib.metadata as m, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(found))
"""


@cache
def package_versions(python: str, packages: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of `packages` in another interpreter's environment (asked of it)."""
    try:
        done = subprocess.run([python, "-I", "-c", _REPORT, *packages], capture_output=True,
                              text=True, timeout=60, check=True)
        return json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}


@cache
def describe(python: str) -> str:
    """The interpreter's own one-line version ("Python 3.13.15 experimental free-threading
    build (main, ...) [GCC 12.2.0]")."""
    try:
        return subprocess.run([python, "-VV"], capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
