"""Which interpreter runs a variant's server, and what build it is.

Servers never run on the suite's own interpreter when a production one exists:
scripts/ensure-interpreters (`make setup`) builds CPython from Debian's source with PGO + LTO
into the cache, with the servers' packages in .venv-srv (every default row), and the same source
and flags plus --disable-gil in .venv-ft (the free-threaded rows and their GIL twins). Where
.venv-srv could not be made, the default rows fall back to the suite's own interpreter, and
every run records that build (`build_of`): the report says on its first screen when a server
ran on an unoptimized one. A free-threaded row whose interpreter is missing is unavailable, with
one line saying how to get it."""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path

from suite import REPO_ROOT
from suite.record.catalog import Variant

FREE_THREADED_VENV = REPO_ROOT / ".venv-ft"
SERVER_VENV = REPO_ROOT / ".venv-srv"
# Set to another free-threaded interpreter (a virtualenv's python with the servers' packages).
FREE_THREADED_ENV = "BATTLE_FT_PYTHON"
# Set to another interpreter for the default rows (a virtualenv's python with the servers'
# packages); "suite": the suite's own interpreter, whatever its build.
SERVER_ENV = "BATTLE_SERVER_PYTHON"
MISSING = ("no free-threaded CPython: run `make setup` (scripts/ensure-interpreters builds it "
           f"once from Debian's source) or set {FREE_THREADED_ENV}")


class InterpreterMissing(Exception):
    """A variant's interpreter is not installed."""


def free_threaded_python() -> str | None:
    """The free-threaded interpreter's path, or None when there is none."""
    path = Path(os.environ.get(FREE_THREADED_ENV) or FREE_THREADED_VENV / "bin" / "python")
    return str(path) if os.access(path, os.X_OK) else None


def server_python(suite_python: str) -> str:
    """The interpreter of the default rows: $BATTLE_SERVER_PYTHON, else .venv-srv's (the
    production build), else `suite_python` (the suite's own, recorded as what it is)."""
    chosen = os.environ.get(SERVER_ENV)
    if chosen == "suite":
        return suite_python
    path = Path(chosen or SERVER_VENV / "bin" / "python")
    return str(path) if os.access(path, os.X_OK) else suite_python


def python_for(variant: Variant, default: str) -> str:
    """The interpreter that runs `variant` (`default`: the default rows' interpreter, from
    server_python). Raises InterpreterMissing for a free-threaded row without its
    interpreter."""
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



# Run by the interpreter itself, with the repository on its path: suite.launch is standard
# library only (images run it too, in --versions mode).
_BUILD = ("import json, sys; sys.path.insert(0, sys.argv[1]); from suite.launch import build; "
          "print(json.dumps(build()))")


@cache
def build_of(python: str) -> dict | None:
    """How `python` was built, as it says itself (suite.launch.build: path, version, pgo, lto,
    shared_libpython, gil_disabled, config_args, build_info, production). None: it could not
    be asked."""
    try:
        done = subprocess.run([python, "-I", "-c", _BUILD, str(REPO_ROOT)], capture_output=True,
                              text=True, timeout=60, check=True)
        return json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
