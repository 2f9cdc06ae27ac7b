import pytest

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
        argv = variant.argv(settings, python="/venv/bin/python", host="127.0.0.1", port=8001)
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
    with pytest.raises(CatalogError, match="lacks server"):
        load_catalog(bad)
    bad.write_text("not toml [")
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(bad)
    bad.write_text('[variant.x]\napp="a"\nserver="s"\nworker_model="m"\ndriver="d"\nwhy="w"\n'
                   'command="python -m x"\n')
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


def test_the_scenarios_target_names_catalog_variants_only():
    import re

    from suite import REPO_ROOT

    makefile = (REPO_ROOT / "Makefile").read_text()
    listed = re.search(r"BALANCED_VARIANTS := (.*?)\nbench-scenarios", makefile, re.S).group(1)
    names = listed.replace("\\", " ").split()
    catalog = load_catalog()
    assert names and set(names) <= set(catalog)
    # Every asyncio and every gunicorn variant, as the target promises.
    promised = {name for name, v in catalog.items()
                if "asyncio" in v.worker_model or "gunicorn" in v.server}
    assert set(names) == promised
