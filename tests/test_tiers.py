"""The test tiers: `make test-unit` runs `-m "not integration"`, so a test that starts real
processes (mongod, a server, wrk, oha, docker, the CLI) must carry the `integration` marker.

Read from the test files' syntax, not run: every test in tests/integration/ is marked, and a test
elsewhere that names one of the ways the tests start processes is marked too. A test that starts
one only through suite code (e.g. a fake tool on PATH, which is the point of a unit test of a
timeout) is not caught, by design."""

import ast
from pathlib import Path

TESTS = Path(__file__).parent
STARTS_PROCESSES = {"subprocess", "Popen", "Child", "EmbeddedMongo", "start_variant", "battle",
                    "mongo_url", "docker_mongo", "misbehaving", "find_wrk", "find_oha"}


def _marks_integration(node: ast.expr) -> bool:
    return "pytest.mark.integration" in ast.unparse(node)


def _unmarked(path: Path) -> list[str]:
    """`file::test` of every test in `path` that should carry the marker and does not."""
    tree = ast.parse(path.read_text())
    if any(isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "pytestmark"
           and _marks_integration(node.value) for node in tree.body):
        return []
    found = []
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test")):
            continue
        if any(_marks_integration(decorator) for decorator in node.decorator_list):
            continue
        names = {arg.arg for arg in node.args.args}
        names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
        if path.parent.name == "integration" or names & STARTS_PROCESSES:
            found.append(f"{path.parent.name}/{path.name}::{node.name}")
    return found


def test_every_test_that_starts_processes_is_marked_integration():
    unmarked = [name for path in sorted(TESTS.rglob("test_*.py")) for name in _unmarked(path)]
    assert unmarked == [], "mark these @pytest.mark.integration (or move them): " \
                           + ", ".join(unmarked)


def test_the_check_sees_an_unmarked_process(tmp_path):
    test = tmp_path / "test_x.py"
    test.write_text("import subprocess\nimport pytest\n\n"
                    "def test_runs(mongo_url):\n    subprocess.run(['true'])\n\n"
                    "@pytest.mark.integration\ndef test_marked():\n    subprocess.run(['true'])\n\n"
                    "def test_pure():\n    assert 1\n")
    assert _unmarked(test) == [f"{tmp_path.name}/test_x.py::test_runs"]
    test.write_text("import pytest\npytestmark = pytest.mark.integration\n\n"
                    "def test_runs():\n    subprocess.run(['true'])\n")
    assert _unmarked(test) == []
