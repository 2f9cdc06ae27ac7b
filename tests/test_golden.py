"""Golden files: a stored results file renders to exactly the stored report and charts.

After an intended change to the rendering, regenerate with
    BATTLE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
and review the diff of tests/fixtures/golden/ like any other change.
"""

import os
import shutil

import pytest

from suite.read import report
from suite.record import results
from tests.conftest import FIXTURES

GOLDEN = FIXTURES / "golden"
RUN_ID = "20261122T163057Z-95fc"
DOCKER_RUN_ID = "20261122T175229Z-acde"   # results-v3-docker.json: the docker runtime's record
V4_RUN_ID = "20261123T065148Z-f92e"       # results-v4.json: measured latency, late and lost
V5_RUN_ID = "20261129T134021Z-f835"       # results-v5.json: database latency, the 2014 study
V6_RUN_ID = "20261129T143653Z-d84f"       # results-v6.json: writes, a sweep behind nginx
V7_RUN_ID = "20261130T215202Z-2b67"       # results-v7.json: two sittings, a baseline, spreads
FIXTURE_FILES = ("results-v2.json", "results-v3-docker.json", "results-v4.json",
                 "results-v5.json", "results-v6.json", "results-v7.json")
# v2 runs have neither measured latency nor failure classes, so no latency or errors chart.
CHECKED = [f"{RUN_ID}.md", f"{RUN_ID}/throughput-small.svg", f"{RUN_ID}/cost-large.svg",
           f"{DOCKER_RUN_ID}.md", f"{V4_RUN_ID}.md",
           f"{V4_RUN_ID}/errors-small.svg", f"{V4_RUN_ID}/latency-small.svg", f"{V5_RUN_ID}.md",
           f"{V5_RUN_ID}/throughput-small-db2ms.svg", f"{V5_RUN_ID}/cost-large.svg",
           f"{V6_RUN_ID}.md", f"{V6_RUN_ID}/sweep-flask-gunicorn-sync_1_nginx_round_robin.svg",
           f"{V7_RUN_ID}.md", f"{V7_RUN_ID}.html", f"{V7_RUN_ID}/throughput-large.svg",
           f"{V7_RUN_ID}/latency-large.svg"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    for name in FIXTURE_FILES:
        report.write(results.load(FIXTURES / name), out, latest=False)
    if os.environ.get("BATTLE_UPDATE_GOLDEN"):
        for name in CHECKED:
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / name, GOLDEN / name)
    return out


@pytest.mark.parametrize("name", CHECKED)
def test_rendering_matches_golden(rendered, name):
    assert (rendered / name).read_bytes() == (GOLDEN / name).read_bytes(), (
        f"{name} changed; if intended, regenerate the golden files (see this module's docstring)")


def test_every_chart_is_embedded_and_exists(rendered):
    import re

    for run_id in (RUN_ID, V5_RUN_ID, V7_RUN_ID):
        text = (rendered / f"{run_id}.md").read_text()
        linked = set(re.findall(rf"\]\(({run_id}/[^)]+\.svg)\)", text))
        drawn = {f"{run_id}/{p.name}" for p in (rendered / run_id).glob("*.svg")}
        assert linked == drawn and linked, run_id
        for path in drawn:
            assert (rendered / path).read_text().startswith("<?xml")
    # A run with latency and failure classes gets every kind of chart, per document.
    kinds = {p.name.split("-")[0] for p in (rendered / V5_RUN_ID).glob("*.svg")}
    assert {"throughput", "errors", "latency", "cost"} <= kinds


def test_regeneration_is_byte_for_byte(tmp_path, rendered):
    for name in FIXTURE_FILES:
        report.write(results.load(FIXTURES / name), tmp_path, latest=False)
    for path in rendered.rglob("*"):
        if path.is_file():
            assert (tmp_path / path.relative_to(rendered)).read_bytes() == path.read_bytes()


@pytest.mark.integration   # runs the CLI in a Python subprocess
def test_reports_need_no_server_package(tmp_path):
    # A machine that has none of the servers: their imports fail, the report still renders.
    import subprocess
    import sys

    blocked = ["flask", "fastapi", "starlette", "gunicorn", "uvicorn", "granian", "tornado",
               "motor", "aiohttp", "gevent", "orjson", "uwsgi"]
    code = ("import sys\n"
            f"for name in {blocked!r}: sys.modules[name] = None\n"
            "from suite.cli import main\n"
            f"raise SystemExit(main(['report', {str(FIXTURES / 'results-v2.json')!r}, "
            f"'--reports', {str(tmp_path)!r}]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / f"{RUN_ID}.md").read_bytes() == (GOLDEN / f"{RUN_ID}.md").read_bytes()
