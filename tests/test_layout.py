"""The layout's rules (docs/architecture.md), read from the code: which room may import which,
no import cycle (imports inside functions included), no module of suite/ too long."""

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
SUITE = ROOT / "suite"
MAX_LINES = 600
SCHEMA_MAX_LINES = 750   # suite/record/results.py


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_of(p): p for p in SUITE.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The suite module an imported name is (a module, or a name inside one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> set[str]:
    """Every suite module `module` imports, wherever in the file the import is."""
    found = set()
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target and target != module and name.startswith("suite"):
                found.add(target)
    return found


GRAPH = {module: imports(module) for module in MODULES}


def room(module: str) -> str:
    """measure, read or record; else the module itself (suite, suite.cli, suite.policy ...)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ("measure", "read", "record") else module


def test_each_room_imports_only_the_rooms_below_it():
    allowed = {"record": {"record", "suite"}, "read": {"read", "record", "suite"},
               "measure": {"measure", "record", "read", "suite"}}
    for module, targets in GRAPH.items():
        where = room(module)
        for target in targets:
            if where in allowed:
                assert room(target) in allowed[where], f"{module} imports {target}"
            if where == "measure" and room(target) == "read":
                # The one arrow from measure to read: the words of the method a run records.
                assert (module, target) == ("suite.measure.runner",
                                            "suite.read.report.method"), (module, target)
            assert target not in ("suite.cli", "suite.policy") or module == "suite.cli" \
                or module == "suite.__main__", f"{module} imports {target}"


def node(module: str) -> str:
    """A package inside a room (measure/runtime/, read/report/) counts as one: a module that
    imports it while one of its modules imports that module is a cycle."""
    return ".".join(module.split(".")[:3])


NODES: dict[str, set[str]] = {}
for _module, _targets in GRAPH.items():
    NODES.setdefault(node(_module), set()).update(
        node(t) for t in _targets if node(t) != node(_module))


def test_no_import_cycle_deferred_imports_included():
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for target in sorted(NODES[module]):
            if target.startswith(module + "."):
                continue      # a package importing its own modules is not a cycle
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(NODES):
        if module not in state:
            visit(module)


def test_no_module_is_too_long():
    for module, path in MODULES.items():
        lines = len(path.read_text().splitlines())
        limit = SCHEMA_MAX_LINES if module == "suite.record.results" else MAX_LINES
        assert lines <= limit, f"{path.relative_to(ROOT)}: {lines} lines (at most {limit})"


def test_the_rules_see_the_imports():
    # The rules above could pass on an empty graph: they read what they must.
    assert "suite.read.report.method" in GRAPH["suite.measure.runner"]
    assert "suite.measure.scenarios" in GRAPH["suite.measure.execution"]
    assert "suite.record.results" in GRAPH["suite.read.analysis"]
