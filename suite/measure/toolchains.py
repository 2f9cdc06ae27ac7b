"""The reference rows' toolchains: what runs a server written in another language, and what
versions it runs.

A catalog row whose `interpreter` is "node", "jvm" or "native" is not Python: the study's
Node.js row, a JVM row standing in for Play!, and a compiled ceiling (servers/node, servers/jvm,
servers/rust). `make setup` installs their packages with apt and builds the JVM classes and the
Rust binary once into the cache (scripts/ensure-references), each in a directory named after a
hash of its sources, so an edited source is rebuilt and never mistaken for the old build. Where a
toolchain is missing its rows are unavailable, with one line saying how to get them (as a
free-threaded row without its interpreter).

`toolchain(variant)` says how to start a row (the program and the placeholders of its catalog
command), which versions the results depend on (node, the drivers, netty, the crates) and how
its program was built, recorded as a Python row's interpreter build is."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from suite import REPO_ROOT
from suite.record.catalog import Variant

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "python-server-battle"
NODE_MODULES = Path("/usr/share/nodejs")   # Debian's node packages (node-mongodb)
RUST_SOURCES = REPO_ROOT / "servers" / "rust"
JVM_SOURCES = REPO_ROOT / "servers" / "jvm"
RUST_BINARY = "battle-rust-server"
SETUP = "run `make setup` (scripts/ensure-references installs and builds the reference rows)"
# What each toolchain's server says it is on /health ("implementation").
IMPLEMENTATIONS = {"node": "Node.js", "jvm": "Java", "native": "Rust"}


class ToolchainMissing(Exception):
    """A reference row's toolchain or build is not on this machine."""


@dataclass(frozen=True)
class Toolchain:
    kind: str                                   # node | jvm | native
    program: str                                # the catalog command's "{program}"
    placeholders: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    build: dict = field(default_factory=dict)   # recorded as VariantResult.interpreter_build


def source_hash(root: Path, files: list[str] | None = None) -> str:
    """The first 12 hex digits of SHA-256 over the bytes of every file under `root` (or the
    named ones), in sorted order of their paths relative to `root`: each path, a NUL, the
    bytes, a NUL. The build scripts compute the same (scripts/ensure-references)."""
    digest = hashlib.sha256()
    paths = sorted(files if files is not None else
                   (str(p.relative_to(root)) for p in root.rglob("*")
                    if p.is_file() and "target" not in p.relative_to(root).parts))
    for relative in paths:
        digest.update(relative.encode() + b"\0" + (root / relative).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def rust_build_dir() -> Path:
    return CACHE / f"rust-server-{source_hash(RUST_SOURCES)}"


def jvm_build_dir() -> Path:
    return CACHE / f"jvm-server-{source_hash(JVM_SOURCES)}"


def toolchain(variant: Variant) -> Toolchain:
    """How `variant` (a reference row) runs here. Raises ToolchainMissing, one line."""
    try:
        return _TOOLCHAINS[variant.interpreter]()
    except KeyError:
        raise ToolchainMissing(f"{variant.name}: no toolchain {variant.interpreter!r}") from None


def _run(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout + done.stderr


@cache
def debian_version(package: str) -> str | None:
    """The installed version of a Debian package, as dpkg says it."""
    out = _run(["dpkg-query", "-W", "-f", "${Version}", package]).strip()
    return out if out and "no packages found" not in out else None


@cache
def _node() -> Toolchain:
    node = shutil.which("node")
    driver = NODE_MODULES / "mongodb" / "package.json"
    if node is None or not driver.exists():
        raise ToolchainMissing("no Node.js with Debian's node-mongodb: " + SETUP)
    version = _run([node, "--version"]).strip().lstrip("v") or "?"
    driver_version = json.loads(driver.read_text()).get("version", "?")
    versions = {"node": version, "mongodb (node)": driver_version}
    if (package := debian_version("node-mongodb")):
        versions["node-mongodb (Debian)"] = package
    return Toolchain("node", node, {"node_modules": str(NODE_MODULES)}, versions,
                     {"implementation": "Node.js", "version": version, "path": node,
                      "toolchain": "node", "production": True,
                      "describe": f"Node.js {version} (`{node}`), driver mongodb "
                                  f"{driver_version} from Debian's node-mongodb"})


@cache
def _jvm() -> Toolchain:
    java = shutil.which("java")
    built = jvm_build_dir()
    classpath_file = built / "classpath.txt"
    if java is None or not (built / "classes").is_dir() or not classpath_file.exists():
        raise ToolchainMissing("no JVM server built (javac, Debian's libnetty-java and "
                               "libmongodb-java): " + SETUP)
    jars = classpath_file.read_text().strip()
    settings = _run([java, "-XshowSettings:properties", "-version"])
    prop = {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^\s+(java\.version|java\.vm\.name|java\.vm\.version) = (.*)$",
                                 settings, re.M)}
    version = prop.get("java.version", "?")
    versions = {"java": version}
    for package in ("libnetty-java", "libmongodb-java"):
        if (found := debian_version(package)):
            versions[package] = found
    return Toolchain("jvm", java, {"classpath": f"{built / 'classes'}:{jars}"}, versions,
                     {"implementation": "Java", "version": version, "path": java,
                      "vm": prop.get("java.vm.name"), "toolchain": "jvm", "production": True,
                      "describe": f"Java {version} ({prop.get('java.vm.name', 'JVM')}, "
                                  f"`{java}`), Netty and the MongoDB driver from Debian"})


def _cargo_lock_versions(names: tuple[str, ...]) -> dict[str, str]:
    lock = RUST_SOURCES / "Cargo.lock"
    found: dict[str, str] = {}
    if lock.exists():
        for match in re.finditer(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"',
                                 lock.read_text()):
            if match.group(1) in names:
                found[match.group(1)] = match.group(2)
    return found


@cache
def _native() -> Toolchain:
    built = rust_build_dir()
    binary = built / "release" / RUST_BINARY
    if not os.access(binary, os.X_OK):
        raise ToolchainMissing("no compiled ceiling built (cargo, crates.io): " + SETUP)
    cargo_home = Path(os.environ.get("CARGO_HOME") or Path.home() / ".cargo")
    rustc = _run([shutil.which("rustc") or str(cargo_home / "bin" / "rustc"),
                  "--version"]).split()
    versions = {"rustc": rustc[1] if len(rustc) > 1 else "?",
                **_cargo_lock_versions(("hyper", "tokio", "mongodb"))}
    return Toolchain("native", str(binary), {}, versions,
                     {"implementation": "Rust", "version": versions["rustc"],
                      "path": str(binary), "toolchain": "native", "production": True,
                      "describe": f"Rust {versions['rustc']} release build (LTO) of "
                                  "servers/rust: " + ", ".join(
                                      f"{k} {v}" for k, v in versions.items() if k != "rustc")})


_TOOLCHAINS = {"node": _node, "jvm": _jvm, "native": _native}
