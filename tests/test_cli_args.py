import os

import pytest

from suite.policy import UsageError, parse_cpu_roles
from suite.measure.runtime.capabilities import DOCKER, LOCAL


def test_cpu_roles():
    cpus = sorted(os.sched_getaffinity(0))
    first, last = cpus[0], cpus[-1]
    assert parse_cpu_roles([f"loadgen={first} server={last}", f"db={first}-{last}"]) == {
        "loadgen": [first], "server": [last], "db": list(range(first, last + 1))}


@pytest.mark.parametrize("spec, message", [
    ("gpu=0", "ROLE one of loadgen, server, db"),
    ("server", "ROLE one of"),
    ("server=a", "CPUs are like"),
    ("server=4096", "may use CPUs"),
])
def test_bad_cpu_roles(spec, message):
    with pytest.raises(UsageError, match=message):
        parse_cpu_roles([spec])


def test_memory_limits():
    from suite.policy import parse_memory

    assert parse_memory(["server=4g db=512M"]) == {"server": "4g", "db": "512m"}
    for bad in ("server=0g", "server=512", "loadgen=1g", "db"):
        with pytest.raises(UsageError, match="--memory"):
            parse_memory([bad])


def test_database_latencies_are_whole_milliseconds():
    from suite.record.profiles import parse_db_latencies

    assert parse_db_latencies("0,1ms,5ms") == (0, 1, 5)
    assert parse_db_latencies("2ms") == (2,) and parse_db_latencies("5,5ms") == (5,)
    # MongoDB's fail point blocks in whole milliseconds; nothing negative, nothing vague.
    for bad in ("-1ms", "1.5ms", "5s", "", "fast", "1ms,,2ms"):
        with pytest.raises(ValueError, match="whole milliseconds"):
            parse_db_latencies(bad)


def test_run_and_bench_all_default_to_the_same_profile():
    from pathlib import Path

    from suite.cli import build_parser
    from suite.record.profiles import DEFAULT_PROFILE

    args = build_parser().parse_args(["run"])
    makefile = (Path(__file__).parents[1] / "Makefile").read_text()
    assert args.profile == DEFAULT_PROFILE and f"PROFILE ?= {DEFAULT_PROFILE}" in makefile


def _results_repo(tmp_path, fixture: str, **environment):
    import json
    import subprocess

    from tests.conftest import FIXTURES

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    data = json.loads((FIXTURES / fixture).read_text())
    data["environment"].update(environment)
    out = tmp_path / "results"
    out.mkdir()
    path = out / f"{data['run_id']}.json"
    path.write_text(json.dumps(data))
    (out / data["run_id"] / "raw").mkdir(parents=True)
    (out / data["run_id"] / "raw" / "r1.txt").write_text("wrk output")
    return out, data["run_id"]


@pytest.mark.integration   # runs git
def test_publish_refuses_a_run_from_a_changed_tree(tmp_path):
    from suite.cli import main

    out, run_id = _results_repo(tmp_path, "results-v5.json", git_dirty=True,
                                git_diff_sha256="0" * 64)
    assert main(["publish", run_id, "--out", str(out), "--reports", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r").exists()


@pytest.mark.integration   # runs git
def test_publish_stages_results_raw_output_and_report(tmp_path):
    import subprocess

    from suite.cli import main

    out, run_id = _results_repo(tmp_path, "results-v5.json", git_dirty=False,
                                git_diff_sha256=None)
    reports = tmp_path / "reports"
    assert main(["publish", run_id, "--out", str(out), "--reports", str(reports)]) == 0
    staged = subprocess.run(["git", "-C", str(tmp_path), "diff", "--cached", "--name-only"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert f"results/{run_id}.json" in staged and f"results/{run_id}/raw/r1.txt" in staged
    assert f"reports/{run_id}.md" in staged and "reports/index.md" in staged
    assert any(name.startswith(f"reports/{run_id}/") and name.endswith(".svg") for name in staged)


@pytest.mark.integration   # runs git
def test_publish_leaves_out_a_file_too_large_for_git(tmp_path, capsys):
    import subprocess

    from suite import cli

    out, run_id = _results_repo(tmp_path, "results-v5.json", git_dirty=False,
                                git_diff_sha256=None)
    with (out / run_id / "mongod.log").open("wb") as log:
        log.truncate(cli.PUBLISH_MAX_BYTES + 1)
    assert cli.main(["publish", run_id, "--out", str(out), "--reports",
                     str(tmp_path / "reports")]) == 0
    staged = subprocess.run(["git", "-C", str(tmp_path), "diff", "--cached", "--name-only"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert f"results/{run_id}/raw/r1.txt" in staged
    assert f"results/{run_id}/mongod.log" not in staged
    assert "left out, over 2 MB" in capsys.readouterr().err


def test_free_threaded_rows_need_their_interpreter_and_the_local_runtime(monkeypatch, capsys):
    """Named, a row that cannot run here is a one-line usage error; unnamed (every variant),
    it is left out with one line and the rest runs."""
    from suite.policy import runnable
    from suite.record.catalog import load_catalog

    from suite.measure import toolchains

    catalog = load_catalog()
    every = list(catalog.values())
    monkeypatch.setattr(toolchains, "toolchain", lambda variant: None)   # reference rows: here
    monkeypatch.setenv("BATTLE_FT_PYTHON", "/nonexistent/python")
    with pytest.raises(UsageError, match="cannot run flask-gunicorn-gthread-ft: no free-threaded "
                                         "CPython: run `make setup`"):
        runnable([catalog["flask-gunicorn-gthread-ft"]], True, LOCAL)
    kept = runnable(every, False, LOCAL)
    assert kept == [v for v in every if not v.free_threaded] and len(kept) < len(every)
    assert "note: leaving out flask-gunicorn-gthread-ft, flask-gunicorn-gthread-ft+gil" in \
        capsys.readouterr().err
    # Docker never runs them, interpreter or not.
    monkeypatch.setenv("BATTLE_FT_PYTHON", "/bin/true")
    assert runnable(every, False, LOCAL) == every
    with pytest.raises(UsageError, match="local runtime only"):
        runnable([catalog["starlette-uvicorn-ft+gil"]], True, DOCKER)


def test_reference_rows_need_their_toolchain_and_the_local_runtime(monkeypatch, capsys):
    """A Node.js, JVM or compiled row whose toolchain is not built here is left out with one
    line naming how to get it (named: a usage error); docker never runs them."""
    from suite.policy import runnable
    from suite.measure import toolchains
    from suite.record.catalog import load_catalog

    catalog = load_catalog()
    references = [v for v in catalog.values() if not v.python]
    assert {v.interpreter for v in references} == {"node", "jvm", "native"}
    assert all(v.apart and v.host_only for v in references)
    python_rows = [v for v in catalog.values() if v.python and not v.free_threaded]

    def missing(variant):
        raise toolchains.ToolchainMissing(f"no {variant.interpreter} here: run `make setup`")

    monkeypatch.setattr(toolchains, "toolchain", missing)
    assert runnable(python_rows + references, False, LOCAL) == python_rows
    err = capsys.readouterr().err
    assert "note: leaving out node-cluster: no node here: run `make setup`" in err
    assert "note: leaving out rust-hyper: no native here" in err
    with pytest.raises(UsageError, match="cannot run jvm-netty: no jvm here"):
        runnable([catalog["jvm-netty"]], True, LOCAL)
    monkeypatch.setattr(toolchains, "toolchain", lambda variant: None)
    assert runnable(references, False, LOCAL) == references
    with pytest.raises(UsageError, match="node rows run in the local runtime only"):
        runnable([catalog["node-cluster"]], True, DOCKER)


def test_rates_for_is_every_unless_top_is_asked_and_refuses_other_values(capsys):
    from suite.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["run"]).rates_for == "every"
    assert parser.parse_args(["run", "--rate", "50%", "--rates-for", "top"]).rates_for == "top"
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["run", "--rate", "50%", "--rates-for", "all"])
    assert exited.value.code == 2
    assert "argument --rates-for: invalid choice: 'all' (choose from 'every', 'top')" in \
        capsys.readouterr().err


def test_rates_for_top_without_rates_is_one_line_and_exit_2(tmp_path, capsys):
    from suite.cli import main

    assert main(["run", "fastapi-uvicorn", "--rates-for", "top", "--plan",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == ("battle: error: open-loop cells for the top group (--rates-for top) need "
                   "the rates to measure (--rate, e.g. 25%,50%,90%)\n")
    assert not list(tmp_path.iterdir())


def test_a_resume_keeps_who_gets_the_rates(tmp_path, capsys):
    """An interrupted run resumes as it was planned: asked for another --rates-for, it refuses
    in one line; its own (recorded) is what the resumed plan uses."""
    import json

    from suite.cli import build_parser, main
    from suite.measure.resume import resumed_args
    from tests.conftest import FIXTURES

    data = json.loads((FIXTURES / "results-v10.json").read_text())
    data["status"] = "interrupted"
    data["sittings"] = [{**s, "status": "interrupted"} for s in data["sittings"]]
    data["argv"] = ["battle", "run", "fastapi-uvicorn", "--rate", "50%", "--rates-for", "top"]
    (tmp_path / f"{data['run_id']}.json").write_text(json.dumps(data))
    args = build_parser().parse_args(["run", "--resume", data["run_id"], "--out", str(tmp_path)])
    args.argv = []
    planned, _ = resumed_args(args, build_parser())
    assert planned.rates_for == "top" and planned.rate == ("50%",)
    recorded = {**data, "argv": ["battle", "run", "fastapi-uvicorn", "--rate", "50%"]}
    (tmp_path / f"{data['run_id']}.json").write_text(json.dumps(recorded))
    assert main(["run", "--resume", data["run_id"], "--rates-for", "top",
                 "--out", str(tmp_path)]) == 2
    assert "with rates for every, not top" in capsys.readouterr().err


def test_name_at_n_is_one_row_behind_the_balancer_beside_single_servers(monkeypatch, capsys,
                                                                         tmp_path):
    from suite.cli import main
    from suite.policy import rows_asked
    from suite.measure import nginx

    assert rows_asked(["a", "b@2", "a", "b@02", "b"]) == [("a", None), ("b", 2), ("b", None)]
    with pytest.raises(UsageError, match="at least 1 instance"):
        rows_asked(["b@0"])
    monkeypatch.setattr(nginx, "find_nginx", lambda: "/usr/sbin/nginx")
    assert main(["run", "starlette-uvicorn", "fastapi-uvicorn@2", "--balancer", "nginx",
                 "--docs", "small", "--plan", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "plan: 2 variant(s)" in printed
    order = printed.split("round 1: ")[1].split(";")[0]
    assert set(order.split(", ")) == {"starlette-uvicorn", "fastapi-uvicorn ×2 nginx:round_robin"}
    for argv, message in (
            (["fastapi-uvicorn@2"], "fastapi-uvicorn@2 runs instances behind a balancer: add "
                                    "--balancer nginx"),
            (["fastapi-uvicorn@2", "--balancer", "nginx", "--instances", "1,2"],
             "NAME@N gives that row's instances; --instances gives every row's: choose one")):
        assert main(["run", *argv, "--plan", "--out", str(tmp_path)]) == 2
        assert capsys.readouterr().err == f"battle: error: {message}\n"
    assert not list(tmp_path.iterdir())


def test_the_top_groups_listed_are_each_cells_leader_and_the_stacks_beside_it(capsys, tmp_path):
    import shutil

    from suite import REPO_ROOT
    from suite.cli import main
    from suite.read.answer import answers
    from suite.record import results

    # A published run of the whole question, alone in a results directory (never a user's own
    # runs in results/).
    published = tmp_path / "published"
    published.mkdir()
    shutil.copy(REPO_ROOT / "results" / "20261202T143710Z-b688.json", published)
    run = results.load(published / "20261202T143710Z-b688.json")
    assert main(["list", "--names", "--top-groups", "--out", str(published)]) == 0
    listed = capsys.readouterr().out.split()
    cells = [a for a in answers(run) if a.best is not None]
    assert cells and len(listed) == len(set(listed))
    assert {a.best.name for a in cells} <= set(listed)
    assert set(listed) == {n for a in cells for n in (a.best.name, *(t.entry.name for t in a.tied))}
    assert any(a.tied for a in cells)
    assert main(["list", "--names", "--top-groups", "--out", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.startswith(f"battle: error: no run in {tmp_path / 'none'} "
                                              "answers")
