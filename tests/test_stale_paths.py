"""Every module path the repository names exists: in the docstrings and comments of suite/,
scripts/, servers/ and tests/, in the strings of suite/, scripts/ and servers/ (text the code
prints or writes: an error message, nginx's config), in README.md, docs/*.md, the Makefile,
the shell scripts and compose/, and in the text a report's code prints (the fixtures' reports,
README blocks and index, rendered here). The tests' own strings are left out: some name missing
paths on purpose.

A path is a dotted name from `suite.` (`suite.read.report.index`, a module or package, or a
module and a name it defines: `suite.record.stats.median`) or a path from one of the top-level
folders (`suite/measure/runner.py`, `servers/catalog.toml`, `tests/fixtures/results-v*.json`, a
glob matching something). Dotted names are resolved statically, from the file tree and each
module's syntax tree, so no module with heavy dependencies is imported. A path .gitignore names
(compose/.env) is one the suite writes: it need not exist.

Paths recorded inside a results file are history (the run's own record, e.g. the Lua script an
old run's wrk loaded): results/*.json is not read, and a rendered report's path that its results
file holds verbatim is the record printed as recorded, not the code's.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import re
import tokenize
from functools import cache
from pathlib import Path

import pytest

from suite.read.report import render
from suite.read.report.index import render_index
from suite.read.report.readme import readme_block
from suite.record import results
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("suite", "servers", "scripts", "compose", "docs", "tests")
DOTTED = re.compile(r"(?<![\w./-])suite(?:\.[A-Za-z_]\w*)+")
SLASHED = re.compile(r"(?<![\w./-])(?:" + "|".join(FOLDERS) + r")/[\w./*-]*[\w*]")
IGNORED = [line.strip().rstrip("/") for line in (ROOT / ".gitignore").read_text().splitlines()
           if line.strip() and not line.startswith(("#", "!"))]


# -- resolving a name --------------------------------------------------------------------------

def _module_file(parts: tuple[str, ...]) -> Path | None:
    base = ROOT.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _bound(body: list[ast.stmt]) -> dict[str, ast.AST]:
    """The names a module's or a class's body binds, each to the statement binding it (under
    `if`/`try` too; imports count: a re-export is a name of the module)."""
    found: dict[str, ast.AST] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found[name.id] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                found[(alias.asname or alias.name).split(".")[0]] = node
        elif isinstance(node, (ast.If, ast.Try)):
            for block in (node.body, node.orelse, getattr(node, "finalbody", []),
                          *[h.body for h in getattr(node, "handlers", [])]):
                found.update(_bound(block))
    return found


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


@cache
def resolves(name: str) -> bool:
    """A dotted name is a module or package, or a module followed by a name it binds (and,
    for a class, names its body binds: `suite.record.results.RunResult.variant`)."""
    parts = tuple(name.split("."))
    for cut in range(len(parts), 0, -1):
        module = _module_file(parts[:cut])
        if module is None:
            continue
        rest = parts[cut:]
        if not rest:
            return True
        scope: ast.AST | None = _tree(module)
        for attr in rest:
            if not isinstance(scope, (ast.Module, ast.ClassDef)):
                # An attribute of a function or a value (an enum's member, a namedtuple's
                # field): the module must at least say the word.
                return re.search(rf"\b{re.escape(attr)}\b", module.read_text()) is not None
            scope = _bound(scope.body).get(attr)
            if scope is None:
                return False
        return True
    return False


def ignored(path: str) -> bool:
    """.gitignore names it: a file the suite writes (compose/.env), there or not."""
    return any(fnmatch.fnmatch(path, pattern) for pattern in IGNORED)


def exists(path: str) -> bool:
    """The file or folder is there, a glob matches something, or the suite writes it."""
    if "*" in path:
        return next(ROOT.glob(path), None) is not None
    return (ROOT / path).exists() or ignored(path)


def stale(text: str, first_line: int = 1, history: str = "") -> list[tuple[int, str]]:
    """Each module path in `text` that does not exist, with its line (`first_line` is the line
    `text` starts on); a path `history` holds verbatim is left alone (a results file's own
    record, printed as recorded)."""
    found = []
    for pattern, ok in ((DOTTED, resolves), (SLASHED, exists)):
        for match in pattern.finditer(text):
            path = match.group(0)
            if not ok(path) and not (history and path in history):
                found.append((first_line + text.count("\n", 0, match.start()), path))
    return sorted(found)


def messages(where: str, found: list[tuple[int, str]]) -> list[str]:
    """ "README.md:12 names <path>, which does not exist", one per stale path."""
    return [f"{where}:{line} names {path}, which does not exist" for line, path in found]


# -- where paths are named ---------------------------------------------------------------------

def python_files() -> list[Path]:
    files = [*(ROOT / "suite").rglob("*.py"), *(ROOT / "servers").rglob("*.py"),
             *(ROOT / "tests").rglob("*.py"),
             *(p for p in (ROOT / "scripts").iterdir() if p.suffix == ".py")]
    return sorted(files)


def prose_of_python(path: Path) -> list[tuple[int, str]]:
    """The docstrings (every string standing as a statement) and comments of a Python file,
    each with the line it starts on, as written in the source; outside tests/, every string."""
    source = path.read_text()
    lines = [line.encode() for line in source.splitlines(keepends=True)]

    def segment(node: ast.expr) -> str:
        """The node's text as written (a string keeps its lines; offsets count UTF-8 bytes)."""
        first, last = node.lineno - 1, node.end_lineno - 1
        if first == last:
            return lines[first][node.col_offset:node.end_col_offset].decode()
        return b"".join([lines[first][node.col_offset:], *lines[first + 1:last],
                         lines[last][:node.end_col_offset]]).decode()

    every = "tests" not in path.relative_to(ROOT).parts[:1]
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if every and (isinstance(node, ast.JoinedStr) or isinstance(node, ast.Constant)
                      and isinstance(node.value, str)):
            found.append((node.lineno, segment(node)))
        elif (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            found.append((node.lineno, segment(node.value)))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found.append((token.start[0], token.string))
    return found


def text_files() -> list[Path]:
    """Files read whole: the README, the docs, the Makefile, the scripts that are not Python
    (shell: their paths are the ones they run) and compose/ (its compose file is generated)."""
    return sorted([ROOT / "README.md", ROOT / "Makefile", *(ROOT / "docs").glob("*.md"),
                   *(p for p in (ROOT / "scripts").iterdir()
                     if p.is_file() and p.suffix != ".py"),
                   *(p for p in (ROOT / "compose").iterdir() if p.is_file()
                     and not ignored(_name(p)))])


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


# -- the tests ---------------------------------------------------------------------------------

def test_the_finder_tells_a_stale_path_from_a_real_one():
    text = ("suite.read.report.index picks it; suite.record.stats.median; see\n"
            "suite/measure/runner.py, servers/catalog.toml and suite.record.results.RunResult.\n"
            "Old: suite.report, suite.record.stats.no_such_name, suite/wrk/report.lua.")
    assert messages("docs/x.md", stale(text, 11)) == [
        "docs/x.md:13 names suite.record.stats.no_such_name, which does not exist",
        "docs/x.md:13 names suite.report, which does not exist",
        "docs/x.md:13 names suite/wrk/report.lua, which does not exist"]
    # Not a path of this repository: a URL's tail, a placeholder, the word alone.
    assert stale("https://example.org/suite/x.py, servers/<name>/, the suite.") == []
    # A glob is a path when it matches something; what the suite writes need not exist yet.
    assert stale("servers/*.py, compose/.env") == []
    assert stale("servers/nothing*.py") == [(1, "servers/nothing*.py")]
    # What a results file records is printed as recorded.
    assert stale("ran suite/wrk/report.lua", history='"suite/wrk/report.lua"') == []


def test_code_names_only_paths_that_exist():
    found = [message for path in python_files()
             for message in messages(_name(path), sorted({
                 hit for line, text in prose_of_python(path) for hit in stale(text, line)}))]
    assert not found, "\n".join(found)


def test_readme_docs_makefile_and_scripts_name_only_paths_that_exist():
    found = [message for path in text_files()
             for message in messages(_name(path), stale(path.read_text()))]
    assert not found, "\n".join(found)


FIXTURE_FILES = sorted(FIXTURES.glob("results-*.json"))


@pytest.mark.parametrize("fixture", [p.name for p in FIXTURE_FILES])
def test_a_reports_generated_text_names_only_paths_that_exist(fixture):
    path = FIXTURES / fixture
    run, recorded = results.load(path), path.read_text()
    found = [*messages(f"the report of {_name(path)} (rendered)",
                       stale(render(run), history=recorded)),
             *messages(f"the README block of {_name(path)} (rendered)",
                       stale(readme_block(run), history=recorded))]
    assert not found, "\n".join(found)


def test_the_index_of_runs_names_only_paths_that_exist():
    recorded = "".join(p.read_text() for p in FIXTURE_FILES)
    text = render_index([results.load(p) for p in FIXTURE_FILES])
    found = messages("the index of the fixtures' runs (rendered)", stale(text, history=recorded))
    assert not found, "\n".join(found)
