"""The entrypoint of every server image: `python -m suite.launch VARIANT` inside the container.

The suite passes the settings it resolved and records (BATTLE_SETTINGS, JSON); started by hand,
the launcher resolves them from the catalog as the suite would (CPUs = the container's cpuset;
max_connections from BATTLE_MAX_CONNECTIONS). It fills the variant's command, prints it and execs
it, so the server is the process the container's init supervises. The suite also passes the
command it expects (BATTLE_EXPECT_ARGV, JSON): a difference means the image and the host disagree
(a stale image, another catalog) and the container exits with status 2 instead of measuring the
wrong thing. Only the standard library, the package's own __init__ (LOOPBACK) and
suite.record.catalog are used: the image holds nothing else of the suite
(compose/server.Dockerfile).

`python -m suite.launch --versions PACKAGE...` instead prints, as one JSON line, what the suite
records about an image: its Python version and build (`build()`), each named distribution's
version (null when not installed) and the open-files limit a server gets there ([soft, hard],
soft raised as above).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import resource
import sys
import sysconfig

from suite import LOOPBACK
from suite.record.catalog import (DEFAULT_MAX_CONNECTIONS, CatalogError, UnknownVariant,
                                  load_catalog, select, setting_env)

USAGE = "usage: python -m suite.launch VARIANT | --versions PACKAGE..."


def resolve(name: str, environ: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    # servers/catalog.toml: the run's catalog is mounted over it
    variant = select(load_catalog(), [name])[0]
    if environ.get("BATTLE_SETTINGS"):
        settings = json.loads(environ["BATTLE_SETTINGS"])
    else:
        settings = variant.resolve(
            cpus=len(os.sched_getaffinity(0)),
            max_connections=int(environ.get("BATTLE_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS)))
    port = int(environ.get("BATTLE_PORT", "8080"))
    # Host networking: the load generator reaches the server on loopback, or, in a placed run
    # (--hosts), at the server host's address, which the suite passes as BATTLE_HOST.
    host = environ.get("BATTLE_HOST") or LOOPBACK
    argv = variant.argv(settings, python=sys.executable, host=host, port=port)
    env = {**environ, **setting_env(settings),
           **variant.environment(settings, python=sys.executable, host=host, port=port)}
    return argv, env


def raise_nofile_limit() -> tuple[int, int]:
    """As the local runtime does for its children: the soft open-files limit up to the hard one
    (some engines give containers a soft limit of 1024, too few for 5000 connections)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def build() -> dict:
    """How this interpreter was built: CONFIG_ARGS from its own sysconfig (how it was
    configured) and its compiler flags (-fprofile-use with PGO, -flto with LTO); whether
    libpython is a shared library, from what this process has mapped (Debian's sysconfig
    describes its shared build, while its /usr/bin/python3.X has libpython linked in); the
    cache's build-info.txt beside a build of scripts/ensure-interpreters. Debian's own
    interpreters keep no trace of PGO/LTO in sysconfig (its packaging builds them with both on
    amd64): `flags_from` says where pgo/lto come from. `production`: PGO and LTO both, as
    distributions and the official images ship CPython."""
    var = sysconfig.get_config_var
    args = var("CONFIG_ARGS") or ""
    flags = " ".join(str(var(k) or "") for k in ("PY_CFLAGS", "PY_CFLAGS_NODIST",
                                                  "PY_LDFLAGS_NODIST", "LDFLAGS_NODIST"))
    path = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    pgo = "--enable-optimizations" in args or "-fprofile-use" in flags
    lto = "--with-lto" in args or "-flto" in flags
    flags_from = "sysconfig"
    if not (pgo or lto) and path.startswith("/usr/bin/python3") \
            and os.path.exists("/usr/share/doc/python%d.%d" % sys.version_info[:2]):
        pgo = lto = True
        flags_from = "Debian's packaging (PGO + LTO on amd64; not in its sysconfig)"
    try:
        with open("/proc/self/maps") as maps:
            shared = "libpython" in maps.read()
    except OSError:
        shared = bool(var("Py_ENABLE_SHARED"))
    info = os.path.join(sys.base_prefix, "build-info.txt")
    build_info = None
    if os.path.exists(info):
        with open(info) as handle:
            build_info = handle.read()
    return {"path": path, "implementation": platform.python_implementation(),
            "version": platform.python_version(), "pgo": pgo, "lto": lto,
            "flags_from": flags_from, "shared_libpython": shared,
            "gil_disabled": bool(var("Py_GIL_DISABLED")), "config_args": args,
            "build_info": build_info, "production": pgo and lto}


def versions(packages: list[str]) -> dict:
    found: dict[str, str | None] = {}
    for name in packages:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return {"python": platform.python_version(), "packages": found,
            "nofile": list(raise_nofile_limit()), "build": build()}


def main(args: list[str]) -> int:
    if args[:1] == ["--versions"]:
        print(json.dumps(versions(args[1:])))
        return 0
    if len(args) != 1 or args[0].startswith("-"):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        argv, env = resolve(args[0], dict(os.environ))
    except UnknownVariant as exc:
        print(f"battle-launch: {exc}", file=sys.stderr)
        return 2
    except (CatalogError, KeyError, ValueError) as exc:
        print(f"battle-launch: cannot resolve variant {args[0]!r}: {exc}", file=sys.stderr)
        return 2
    expected = os.environ.get("BATTLE_EXPECT_ARGV")
    if expected and json.loads(expected) != argv:
        print(f"battle-launch: the image resolves {argv}, the suite expected {expected}: "
              "rebuild the image (battle images) or check the catalog", file=sys.stderr)
        return 2
    raise_nofile_limit()
    print("battle-launch: " + json.dumps(argv), flush=True)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        print(f"battle-launch: cannot run {argv[0]}: {exc.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
