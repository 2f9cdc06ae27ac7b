"""The catalog: variants as data (servers/catalog.toml), and their settings resolved for a run."""

from __future__ import annotations

import ast
import operator
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from suite import REPO_ROOT

DEFAULT_CATALOG = REPO_ROOT / "servers" / "catalog.toml"
# The largest connection level of a run unless it says otherwise (suite.record.profiles), which
# settings such as worker_connections are resolved for outside a run (list, serve, launch).
DEFAULT_MAX_CONNECTIONS = 5000

Setting = int | float | str | bool


class CatalogError(Exception):
    """The catalog file is malformed or names something that does not exist."""


class UnknownVariant(CatalogError):
    def __init__(self, name: str, known: list[str]):
        super().__init__(f"unknown variant {name!r} (known: {', '.join(known)})")


@dataclass(frozen=True)
class Variant:
    name: str
    app: str
    server: str
    worker_model: str
    driver: str
    why: str
    command: tuple[str, ...]
    settings: dict[str, Setting]
    packages: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    # "framework": a stack one deploys (the default); the rest are shown apart and never
    # recommended (the question is which Python server): "baseline" (Python without a
    # framework), "reference" (another language's stack: Node.js, the JVM) and "ceiling" (a
    # compiled server: what this machine serves for the endpoint).
    classification: str = "framework"
    # A variant of a sweep (suite.measure.sweep): the catalog row it comes from, the settings it
    # overrides (the rest as the catalog has them), and the catalog's own values of those.
    base: str | None = None
    overrides: dict[str, Setting] = field(default_factory=dict)
    originals: dict[str, Setting] = field(default_factory=dict)
    # A deployment (suite.measure.balancer): this many instances behind nginx with this strategy.
    instances: int = 1
    balancer: str | None = None
    # What runs the server: "default" (the servers' CPython, .venv-srv), "free-threaded"
    # (CPython built with --disable-gil, .venv-ft; suite.measure.interpreters), or a toolchain
    # of another language (suite.measure.toolchains): "node", "jvm" or "native" (a compiled
    # binary built into the cache).
    interpreter: str = "default"
    # Whether the server is meant to run with the GIL: False for a free-threaded row, True for
    # everything else, its GIL twin included (verification checks what the server reports).
    gil: bool = True
    # A GIL twin (generated): the free-threaded row it repeats with PYTHON_GIL=1.
    twin_of: str | None = None
    # Why the variant is kept although its driver or server is at end of life; None: alive.
    deprecated: str | None = None
    # A free-threaded row without a GIL twin: why (its server refuses the GIL).
    no_gil_twin: str | None = None
    # How the app's handlers are written: "sync" (plain `def` views) or "async" (`async def`).
    code: str = "sync"

    @property
    def free_threaded(self) -> bool:
        return self.interpreter == FREE_THREADED

    @property
    def python(self) -> bool:
        """Whether a CPython runs the server (every row but another language's)."""
        return self.interpreter in PYTHON_INTERPRETERS

    @property
    def host_only(self) -> bool:
        """Whether the server runs in the local runtime only: its interpreter or program is
        built or installed on the host, not in an image."""
        return self.interpreter != "default"

    @property
    def host_only_why(self) -> str:
        """Why a host-only row runs in the local runtime only."""
        if self.free_threaded:
            return ("its free-threaded interpreter is built on the host "
                    "(scripts/ensure-interpreters), not in an image")
        return (f"its {self.interpreter} toolchain is installed and built on the host "
                "(scripts/ensure-references), not in an image")

    @property
    def apart(self) -> bool:
        """Shown apart and never recommended: every classification but "framework"."""
        return self.classification != "framework"

    @property
    def service(self) -> str:
        """The catalog row that runs it: its image and compose service in the docker runtime."""
        return self.base or self.name

    @property
    def slug(self) -> str:
        return slug(self.name)

    def resolve(self, cpus: int, max_connections: int) -> dict[str, Setting]:
        """Settings with every expression evaluated for this machine and run."""
        names = {"cpus": cpus, "max_connections": max_connections}
        return {key: evaluate(value, names) for key, value in self.settings.items()}

    def argv(self, settings: dict[str, Setting], *, python: str, host: str, port: int,
             extra: dict[str, str] | None = None) -> list[str]:
        """The command line: "{name}" filled from settings and the interpreter's location
        (`extra`: a toolchain's own placeholders, suite.measure.toolchains)."""
        values = self._placeholders(settings, python=python, host=host, port=port, extra=extra)
        return [self._fill(part, values) for part in self.command]

    def environment(self, settings: dict[str, Setting], *, python: str, host: str,
                    port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The variant's own environment variables ("{name}" filled like the command)."""
        values = self._placeholders(settings, python=python, host=host, port=port, extra=extra)
        return {key: self._fill(value, values) for key, value in self.env.items()}

    @staticmethod
    def _placeholders(settings: dict[str, Setting], *, python: str, host: str,
                      port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
        interpreter = PurePosixPath(python)
        return {**{k: _text(v) for k, v in settings.items()}, "python": python,
                "bin": str(interpreter.parent), "prefix": str(interpreter.parent.parent),
                "host": host, "port": str(port), "program": python, **(extra or {})}

    def _fill(self, template: str, values: dict[str, str]) -> str:
        try:
            return template.format_map(values)
        except KeyError as missing:
            raise CatalogError(f"variant {self.name!r}: command uses undefined {missing}") from None


def slug(name: str) -> str:
    """A variant's name as a file name: "flask-gunicorn-sync workers=4" ->
    "flask-gunicorn-sync_workers=4"."""
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", name)


def setting_order(value: Setting) -> tuple:
    """How values of one setting sort: numbers ascending, then text."""
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def _text(value: Setting) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.FloorDiv: operator.floordiv}
_CALLS = {"max": max, "min": min}


def evaluate(value: Setting, names: dict[str, int]) -> Setting:
    """Evaluate a setting: plain values pass through, arithmetic strings are computed.

    Only + - * //, max(), min(), integers and the given names are allowed: the catalog is data,
    not code. Any other string (e.g. "uvloop") is returned unchanged.
    """
    if not isinstance(value, str):
        return value
    try:
        body = ast.parse(value, mode="eval").body
    except SyntaxError:
        return value
    word = isinstance(body, ast.Name) and body.id not in names          # e.g. "uvloop"
    literal = isinstance(body, ast.Constant) and not isinstance(body.value, int)  # e.g. "1.5"
    if word or literal or not isinstance(body, (ast.Constant, ast.Name, ast.BinOp, ast.Call)):
        return value

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _CALLS and node.args and not node.keywords):
            return _CALLS[node.func.id](walk(arg) for arg in node.args)
        raise CatalogError(f"setting {value!r}: only integers, {sorted(names)}, + - * //, "
                           "max() and min() are allowed")

    return walk(body)


_REQUIRED = ("app", "code", "server", "worker_model", "driver", "why", "command")
CODE_STYLES = ("sync", "async")
CLASSIFICATIONS = ("framework", "baseline", "reference", "ceiling")
FREE_THREADED = "free-threaded"
PYTHON_INTERPRETERS = ("default", FREE_THREADED)
# Other languages' toolchains (suite.measure.toolchains): their rows are never "framework".
TOOLCHAINS = ("node", "jvm", "native")
INTERPRETERS = (*PYTHON_INTERPRETERS, *TOOLCHAINS)
# A free-threaded row's GIL twin is named after it with this suffix.
GIL_TWIN_SUFFIX = "+gil"


def load_catalog(path: Path = DEFAULT_CATALOG) -> dict[str, Variant]:
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc}") from None
    rows = data.get("variant")
    if not isinstance(rows, dict) or not rows:
        raise CatalogError(f"catalog {path} declares no [variant.NAME] tables")
    variants = {}
    for name, row in rows.items():
        missing = [key for key in _REQUIRED if key not in row]
        if missing:
            raise CatalogError(f"variant {name!r} in {path} lacks {', '.join(missing)}")
        command = row["command"]
        if not (isinstance(command, list) and command and all(isinstance(p, str) for p in command)):
            raise CatalogError(f"variant {name!r}: command must be a non-empty list of strings")
        classification = row.get("classification", "framework")
        if classification not in CLASSIFICATIONS:
            raise CatalogError(f"variant {name!r}: classification is one of "
                               f"{', '.join(CLASSIFICATIONS)}, not {classification!r}")
        if row["code"] not in CODE_STYLES:
            raise CatalogError(f"variant {name!r}: code is one of {', '.join(CODE_STYLES)}, "
                               f"not {row['code']!r}")
        interpreter = row.get("interpreter", "default")
        if interpreter not in INTERPRETERS:
            raise CatalogError(f"variant {name!r}: interpreter is one of "
                               f"{', '.join(INTERPRETERS)}, not {interpreter!r}")
        if interpreter in TOOLCHAINS and classification == "framework":
            raise CatalogError(f"variant {name!r}: a {interpreter} row is not a Python stack "
                               "one deploys: its classification is reference or ceiling")
        env = {str(k): str(v) for k, v in row.get("env", {}).items()}
        if "PYTHON_GIL" in env:
            raise CatalogError(f"variant {name!r}: PYTHON_GIL is the suite's to set (a "
                               "free-threaded row gets a GIL twin)")
        variants[name] = Variant(
            name=name, app=row["app"], server=row["server"], worker_model=row["worker_model"],
            driver=row["driver"], why=row["why"], command=tuple(command),
            settings=dict(row.get("settings", {})), packages=tuple(row.get("packages", ())),
            env=env, classification=classification, interpreter=interpreter,
            gil=interpreter != FREE_THREADED, deprecated=row.get("deprecated"),
            no_gil_twin=row.get("no_gil_twin"), code=row["code"],
        )
        # A row whose server cannot run with the GIL on says why (`no_gil_twin`) and has none.
        if interpreter == FREE_THREADED and not row.get("no_gil_twin"):
            twin = gil_twin(variants[name])
            variants[twin.name] = twin
    return variants


def gil_twin(variant: Variant) -> Variant:
    """The control of a free-threaded row: the same build, command and settings with the GIL
    forced back on (PYTHON_GIL=1), so that only the lock differs."""
    return replace(variant, name=variant.name + GIL_TWIN_SUFFIX, gil=True, twin_of=variant.name,
                   worker_model=f"{variant.worker_model}, GIL on",
                   why=f"The GIL twin of {variant.name}: the same free-threaded build, command "
                       "and settings with PYTHON_GIL=1, so only the lock differs.",
                   env={**variant.env, "PYTHON_GIL": "1"})


def select(catalog: dict[str, Variant], names: list[str]) -> list[Variant]:
    """The named variants in the order given, or every variant (catalog order) when none is."""
    if not names:
        return list(catalog.values())
    for name in names:
        if name not in catalog:
            raise UnknownVariant(name, list(catalog))
    return [catalog[name] for name in dict.fromkeys(names)]


def row_argument(arg: str) -> tuple[str, int | None]:
    """A VARIANT argument as (catalog row, instances): NAME@N is that row as N instances
    behind the balancer, any other argument a row's name (None)."""
    name, at, count = arg.rpartition("@")
    return (name, int(count)) if at and name and count.isdigit() else (arg, None)


def setting_env(settings: dict[str, Any]) -> dict[str, str]:
    """Settings as the BATTLE_<NAME> environment variables servers read."""
    return {f"BATTLE_{key.upper()}": _text(value) for key, value in settings.items()}
