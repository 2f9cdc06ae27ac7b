"""Instances behind nginx, for real: both instances serve, the balancer is a role of its own
with its configuration recorded, and an instance killed mid-run shows up as failed requests,
not as a hang."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from suite import REPO_ROOT
from suite.record import results
from tests.conftest import battle

pytestmark = pytest.mark.integration
SHORT = ["--profile", "quick", "--docs", "small", "--connections", "40", "--warmup", "0",
         "--timeout", "2", "--repeats", "1"]


def test_two_instances_both_serve_behind_nginx(tmp_path):
    out = tmp_path / "results"
    done = battle("run", "fastapi-uvicorn", "--instances", "2", "--balancer", "nginx:least_conn",
                  *SHORT, "--duration", "3", "--out", str(out),
                  "--reports", str(tmp_path / "reports"))
    assert done.returncode == 0, done.stderr
    run = results.load(sorted(out.glob("*.json"))[0])
    [variant] = run.variants
    assert variant.name == "fastapi-uvicorn ×2 nginx:least_conn" and variant.status == "measured"
    deployment = variant.deployment
    assert deployment.instances == 2 and deployment.strategy == "least_conn"
    assert re.match(r"\d+\.\d+", deployment.version)
    assert "least_conn;" in deployment.config and "proxy_next_upstream off;" in deployment.config
    # Both instances, neither taken out of rotation by a failure; idle connections closed by
    # nginx before an instance would close them.
    assert len(re.findall(r"server 127\.0\.0\.1:\d+ max_fails=0;", deployment.config)) == 2
    assert "keepalive_timeout 1s;" in deployment.config and not deployment.ejects_failed_instances
    assert "worker_connections 1104;" in deployment.config         # 2 x 40 + 1024
    # Verified through the balancer, then measured through it.
    assert all(check.passed for check in variant.verification)
    [sample] = variant.cells[0].repeats
    assert sample.ok_requests > 0 and sample.error_count == 0
    usage = sample.resources
    # Both instances did work, the balancer is its own role, and the server is their sum.
    assert usage["instance-1"].cpu_cores > 0.05 and usage["instance-2"].cpu_cores > 0.05
    assert usage["balancer"].cpu_cores > 0 and usage["balancer"].processes_max >= 2
    assert usage["server"].cpu_cores == pytest.approx(
        usage["instance-1"].cpu_cores + usage["instance-2"].cpu_cores, abs=0.01)
    report = (tmp_path / "reports" / f"{run.run_id}.md").read_text()
    assert "## Instances behind a balancer" in report and "```nginx" in report


def _listener_pid(port: int) -> int:
    listed = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True,
                            text=True, timeout=10).stdout
    return int(re.search(r"pid=(\d+)", listed).group(1))


def test_a_killed_instance_is_failed_requests_not_a_hang(tmp_path):
    out = tmp_path / "results"
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", "run", "fastapi-uvicorn", "--instances", "2",
         "--balancer", "nginx", *SHORT, "--duration", "8", "--out", str(out),
         "--reports", str(tmp_path / "reports")],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        configs: list = []
        while time.monotonic() < deadline and not configs:
            configs = list(out.glob("*/logs/*.nginx/nginx.conf"))
            time.sleep(0.2)
        assert configs, "nginx was never configured"
        time.sleep(4)   # readiness, verification, primer, idle wait: then into the repeat
        second = int(re.findall(r"server 127\.0\.0\.1:(\d+) ", configs[0].read_text())[1])
        os.killpg(os.getpgid(_listener_pid(second)), signal.SIGKILL)
        started = time.monotonic()
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert time.monotonic() - started < 30, "the run hung after an instance died"
    run = results.load(sorted(out.glob("*.json"))[0])
    [variant] = run.variants
    assert variant.status == "failed" and "instance 2 of 2" in variant.reason, stderr
    [sample] = variant.cells[0].repeats
    # nginx retries nothing: the requests that met the dead instance failed (502), and the
    # live one went on serving.
    assert sample.failed("status") + sample.failed("read") > 0
    assert sample.ok_requests > 0


@pytest.mark.parametrize("args, code, message", [
    (["--instances", "0", "--balancer", "nginx"], 2, "expected positive integers"),
    (["--instances", "2"], 2, "--instances needs a balancer"),
    (["--balancer", "nginx:fastest"], 2, "with STRATEGY one of round_robin, least_conn, random"),
    (["--balancer", "haproxy"], 2, "give nginx or nginx:STRATEGY"),
])
def test_bad_balancer_input_is_one_line_and_starts_nothing(args, code, message, tmp_path):
    done = battle("run", "fastapi-uvicorn", *args, "--out", str(tmp_path))
    # One line says what is wrong (argparse prints its usage above it).
    assert done.returncode == code and message in done.stderr.strip().splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


def test_a_missing_nginx_is_one_line_exit_1_and_starts_nothing(tmp_path):
    done = battle("run", "fastapi-uvicorn", "--balancer", "nginx", "--out", str(tmp_path),
                  env={**os.environ, "BATTLE_NGINX": str(tmp_path / "no-nginx")})
    assert done.returncode == 1 and "nginx not found" in done.stderr
    assert list(tmp_path.iterdir()) == []
