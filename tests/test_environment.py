import subprocess
import sys

import pytest

from suite.measure import environment
from suite import REPO_ROOT
from suite.read import compare


def test_fingerprint_has_the_keys_and_types_results_rely_on():
    env = environment.collect()
    assert isinstance(env["cpu_count"], int) and env["cpu_count"] >= 1
    assert env["cpu_affinity"] and all(isinstance(c, int) for c in env["cpu_affinity"])
    assert isinstance(env["memory_bytes"], int) and env["memory_bytes"] > 0
    assert isinstance(env["kernel"], str) and env["kernel"]
    assert env["python"].count(".") == 2
    assert isinstance(env["nofile_soft"], int) and isinstance(env["somaxconn"], int)
    assert len(env["load_average"]) == 3
    assert set(env["cpu_frequency"]) == {"governor", "turbo"}
    assert set(env["container_limits"]) == {"cpu_max", "memory_max", "cpuset"}
    # Every package of the servers' environment, with its version.
    assert env["packages"]["pymongo"].count(".") >= 1
    assert "pytest" in env["packages"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in env["packages"].items())


def test_fingerprint_differences():
    a = {"cpu_model": "X", "cpu_count": 2, "memory_bytes": 1, "kernel": "6", "python": "3.11.7",
         "hostname": "h"}
    assert compare.fingerprint_differences(a, dict(a)) == []
    b = {**a, "cpu_count": 8, "kernel": "5"}
    assert compare.fingerprint_differences(a, b) == ["cpu_count: 2 vs 8", "kernel: '6' vs '5'"]


@pytest.mark.integration   # starts git
def test_a_run_is_dirty_for_a_changed_source_but_not_for_the_reports_a_run_writes(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "index.md").write_text("runs\n")
    (tmp_path / "server.py").write_text("workers = 2\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")
    clean = environment.git_state(tmp_path)
    assert clean["git_dirty"] is False and len(clean["git_commit"]) == 12
    (tmp_path / "reports" / "index.md").write_text("runs\nand one more\n")
    assert environment.git_state(tmp_path)["git_dirty"] is False
    (tmp_path / "server.py").write_text("workers = 4\n")
    dirty = environment.git_state(tmp_path)
    assert dirty["git_dirty"] is True and len(dirty["git_diff_sha256"]) == 64


@pytest.mark.integration   # runs python under setarch
def test_randomization_records_the_hash_seed_and_a_personality_without_aslr(monkeypatch):
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    found = environment.randomization()
    assert found["python_hash_seed"] == "random"
    assert found["randomize_va_space"] in (0, 1, 2)
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    assert environment.randomization()["python_hash_seed"] == "0"
    probe = "from suite.measure import environment; print(environment.randomization())"
    plain = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=True, cwd=REPO_ROOT).stdout
    fixed = subprocess.run(["setarch", "-R", sys.executable, "-c", probe], capture_output=True,
                           text=True, check=True, cwd=REPO_ROOT).stdout
    assert "'addr_no_randomize': False" in plain and "'addr_no_randomize': True" in fixed
