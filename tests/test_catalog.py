import pytest

import re
from pathlib import Path

from suite.measure import balancer
from suite.record.catalog import CatalogError, UnknownVariant, evaluate, load_catalog, select, setting_env
from tests.conftest import FIXTURES

NAMES = {"cpus": 2, "max_connections": 5000}


@pytest.mark.parametrize("raw, value", [
    (4096, 4096), ("uvloop", "uvloop"), ("cpus", 2), ("2*cpus+1", 5), ("cpus//2", 1),
    ("max(1000, max_connections)", 5000), ("min(cpus, 1)", 1), (True, True), ("1.5", "1.5"),
])
def test_evaluate(raw, value):
    assert evaluate(raw, NAMES) == value


@pytest.mark.parametrize("raw", ["__import__('os')", "cpus ** 2", "open('x')", "cpus.bit_length()"])
def test_evaluate_refuses_code(raw):
    with pytest.raises(CatalogError):
        evaluate(raw, NAMES)


def test_repository_catalog_loads_and_resolves():
    catalog = load_catalog()
    assert {"flask-gunicorn-sync", "flask-gunicorn-gevent", "fastapi-uvicorn"} <= set(catalog)
    for variant in catalog.values():
        settings = variant.resolve(cpus=2, max_connections=5000)
        extra = {"node_modules": "/n", "classpath": "/c"} if not variant.python else None
        argv = variant.argv(settings, python="/venv/bin/python", host="127.0.0.1", port=8001,
                            extra=extra)
        assert argv[0].startswith("/venv/bin/")
        assert all("{" not in part for part in argv), argv
        if any("{backlog}" in part for part in variant.command):  # the server takes one
            assert settings["backlog"] >= 4096, variant.name
    gevent = catalog["flask-gunicorn-gevent"].resolve(cpus=2, max_connections=5000)
    assert gevent["worker_connections"] >= 5000
    assert catalog["flask-gunicorn-sync"].resolve(cpus=2, max_connections=5000)["workers"] == 5


def test_select_keeps_order_and_rejects_unknown():
    catalog = load_catalog()
    assert [v.name for v in select(catalog, ["fastapi-uvicorn", "flask-gunicorn-sync"])] == [
        "fastapi-uvicorn", "flask-gunicorn-sync"]
    assert len(select(catalog, [])) == len(catalog)
    with pytest.raises(UnknownVariant, match="unknown variant 'nope' \\(known: "):
        select(catalog, ["nope"])


def test_malformed_catalogs(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[variant.x]\napp = "a"\n')
    with pytest.raises(CatalogError, match="lacks code, server"):
        load_catalog(bad)
    bad.write_text("not toml [")
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(bad)
    bad.write_text('[variant.x]\napp="a"\ncode="sync"\nserver="s"\nworker_model="m"\ndriver="d"\n'
                   'why="w"\ncommand="python -m x"\n')
    with pytest.raises(CatalogError, match="list of strings"):
        load_catalog(bad)


def test_undefined_placeholder_is_a_catalog_error():
    variant = load_catalog(FIXTURES / "catalog-failures.toml")["dies-mid-run"]
    with pytest.raises(CatalogError, match="undefined 'limit'"):
        variant.argv({}, python="py", host="h", port=1)


def test_interpreter_placeholders_and_env():
    catalog = load_catalog()
    uwsgi = catalog["flask-uwsgi-gevent"]
    argv = uwsgi.argv(uwsgi.resolve(cpus=2, max_connections=5000), python="/venv/bin/python",
                      host="127.0.0.1", port=1)
    assert argv[0] == "/venv/bin/uwsgi" and argv[argv.index("--virtualenv") + 1] == "/venv"
    motor = catalog["tornado-motor"]
    assert motor.environment(motor.resolve(cpus=2, max_connections=5000), python="/p",
                             host="h", port=1) == {"MOTOR_MAX_WORKERS": "10"}


def test_setting_env():
    assert setting_env({"pool_size": 100, "flag": True}) == {
        "BATTLE_POOL_SIZE": "100", "BATTLE_FLAG": "true"}


ROOT = Path(__file__).parents[1]


def test_every_free_threaded_row_has_a_gil_twin_that_differs_only_in_the_lock():
    catalog = load_catalog()
    rows = [v for v in catalog.values() if v.free_threaded and v.twin_of is None]
    assert {"flask-gunicorn-gthread-ft", "flask-granian-ft", "starlette-uvicorn-ft"} <= {
        v.name for v in rows}
    for row in rows:
        assert row.gil is False and "PYTHON_GIL" not in row.env
        if row.no_gil_twin:
            assert row.name + "+gil" not in catalog
            continue
        twin = catalog[row.name + "+gil"]
        assert twin.twin_of == row.name and twin.gil is True and twin.free_threaded
        assert twin.env == {**row.env, "PYTHON_GIL": "1"}
        assert (twin.command, twin.settings, twin.app) == (row.command, row.settings, row.app)
    assert all(v.gil for v in catalog.values() if not v.free_threaded)


def test_the_catalog_refuses_an_unknown_interpreter_and_a_hand_set_gil(tmp_path):
    row = ('[variant.x]\napp="a"\ncode="sync"\nserver="s"\nworker_model="m"\ndriver="d"\nwhy="w"\n'
           'command=["p"]\n')
    bad = tmp_path / "bad.toml"
    bad.write_text(row + 'interpreter = "pypy"\n')
    with pytest.raises(CatalogError, match="interpreter is one of default, free-threaded, node"):
        load_catalog(bad)
    bad.write_text(row + 'env = { PYTHON_GIL = "0" }\n')
    with pytest.raises(CatalogError, match="PYTHON_GIL is the suite's to set"):
        load_catalog(bad)
    bad.write_text(row.replace('code="sync"', 'code="blocking"'))
    with pytest.raises(CatalogError, match="code is one of sync, async"):
        load_catalog(bad)
    bad.write_text(row + 'interpreter = "node"\n')
    with pytest.raises(CatalogError, match="a node row is not a Python stack one deploys"):
        load_catalog(bad)
    bad.write_text(row + 'interpreter = "native"\nclassification = "ceiling"\n')
    assert load_catalog(bad)["x"].apart and not load_catalog(bad)["x"].python


def test_the_rows_beyond_python_are_apart_and_run_their_toolchains_program():
    """Node.js, the JVM row and the compiled ceiling: never a framework, local only, started
    by "{program}" (the toolchain's, not an interpreter's) with their own placeholders."""
    catalog = load_catalog()
    beyond = {v.name: v for v in catalog.values() if not v.python}
    assert beyond.keys() == {"node-cluster", "jvm-netty", "rust-hyper"}
    assert beyond["rust-hyper"].classification == "ceiling"
    assert {beyond[n].classification for n in ("node-cluster", "jvm-netty")} == {"reference"}
    for v in beyond.values():
        assert v.command[0] == "{program}" and v.host_only and v.apart
    node = beyond["node-cluster"]
    settings = node.resolve(cpus=2, max_connections=5000)
    assert settings["workers"] == 2
    argv = node.argv(settings, python="/usr/bin/node", host="127.0.0.1", port=8001,
                     extra={"program": "/usr/bin/node", "node_modules": "/usr/share/nodejs"})
    assert argv == ["/usr/bin/node", "servers/node/server.js", "--host", "127.0.0.1",
                    "--port", "8001"]
    assert node.environment(settings, python="/usr/bin/node", host="h", port=1,
                            extra={"node_modules": "/usr/share/nodejs"}) == \
        {"NODE_PATH": "/usr/share/nodejs"}


def test_every_row_says_how_its_code_is_written():
    catalog = load_catalog()
    assert {v.code for v in catalog.values()} == {"sync", "async"}
    assert catalog["flask-gunicorn-gevent"].code == "sync"        # gevent-patched def views
    assert catalog["fastapi-uvicorn-sync"].code == "sync"         # def endpoints, thread pool
    assert catalog["starlette-uvicorn"].code == "async"


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_every_catalog_package_is_pinned_for_its_interpreter():
    """A package a row names (and whose version its results record) has an exact version in the
    constraints of the interpreter that runs it: constraints.txt or constraints-ft.txt."""
    default, free = _pins(ROOT / "constraints.txt"), _pins(ROOT / "constraints-ft.txt")
    for variant in load_catalog().values():
        pins = free if variant.free_threaded else default
        unpinned = [p for p in variant.packages if re.sub(r"[-_.]+", "-", p).lower() not in pins]
        assert not unpinned, (f"{variant.name}: {unpinned} not pinned in "
                              f"{'constraints-ft.txt' if variant.free_threaded else 'constraints.txt'}"
                              " (install, then pin the version pip chose)")


def test_adding_a_variant_needs_no_edit_outside_its_app_and_catalog_row():
    """The Makefile names no variant (its lists come from `battle list --names`), the compose
    file is generated (tests/test_docker_units.py keeps it equal), and the README's variant
    count is the catalog's."""
    catalog = load_catalog()
    makefile = (ROOT / "Makefile").read_text()
    for line in makefile.splitlines():   # a sweep names its one variant; no line lists several
        if line.startswith("#"):
            continue
        named = [name for name in catalog
                 if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w+-])", line)]
        assert len(named) <= 1, f"the Makefile lists {named}: derive the list from the catalog"
    readme = (ROOT / "README.md").read_text()
    rows = [v for v in catalog.values() if v.twin_of is None]
    counted = re.search(r"The catalog has (\d+) variants", readme)
    assert counted and int(counted.group(1)) == len(catalog), (
        f"README says {counted and counted.group(0)!r}; the catalog has {len(catalog)} variants "
        f"({len(rows)} rows and {len(catalog) - len(rows)} GIL twins): update the README")
    for variant in catalog.values():
        assert f"`{variant.name}`" in readme, f"README's variant table lacks `{variant.name}`"


def test_the_balanced_variants_are_the_event_loops_and_gunicorns_of_the_default_build():
    """What `make bench-scenarios` promises (the Makefile asks `battle list --balanced`)."""
    catalog = load_catalog()
    names = [v.name for v in catalog.values() if balancer.balanced(v)]
    assert set(names) == {name for name, v in catalog.items() if not v.free_threaded and (
        "asyncio" in v.worker_model or "gunicorn" in v.server)}
    assert "flask-gunicorn-sync" in names and "starlette-uvicorn" in names
    assert not any(n.endswith("-ft") or n.endswith("+gil") for n in names)
    assert "flask-uwsgi-threads" not in names and "flask-dev" not in names
