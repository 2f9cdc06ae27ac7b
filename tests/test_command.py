"""External commands: one way to run them, one line for every way they give no answer, and
each caller's own error for it (tools that hang are fake scripts on PATH; limits cut short)."""

import sys
import time

import pytest

from suite.measure import command, images
from suite.measure.command import CommandError
from suite.measure.runtime import RuntimeUnavailable, ServerFailed
from suite.measure.runtime import docker as runtime
from suite.measure.text import ended, last_line
from tests.conftest import HUNG_LIMIT_S


def test_a_command_runs_with_an_argument_list_and_no_stdin(tmp_path):
    log = tmp_path / "logs" / "out.log"
    done = command.run([sys.executable, "-c", "import sys; print(sys.stdin.read() == '', "
                        "sys.argv[1:]); print('oops', file=sys.stderr)", "a b", "$HOME"],
                       timeout=30, log=log)
    assert done.returncode == 0 and done.stdout == "True ['a b', '$HOME']\n"
    assert log.read_text() == "True ['a b', '$HOME']\noops\n"


def test_every_way_to_get_no_answer_is_one_commanderror(tmp_path):
    with pytest.raises(CommandError) as missing:
        command.run([str(tmp_path / "nothing-here"), "x"], timeout=5)
    assert missing.value.missing and str(missing.value).endswith("nothing-here not found")
    started = time.monotonic()
    with pytest.raises(CommandError) as hung:
        command.run(["sleep", "30"], timeout=0.3)
    assert str(hung.value) == "sleep 30 did not finish within 0.3 s" and not hung.value.missing
    assert time.monotonic() - started < 5
    with pytest.raises(CommandError) as failed:
        command.run([sys.executable, "-c", "print('first'); print('last'); raise SystemExit(3)"],
                    timeout=30, what="the script", check=True)
    assert str(failed.value) == "the script failed (exit 3): last"
    assert command.run([sys.executable, "-c", "raise SystemExit(3)"], timeout=30).returncode == 3


def test_one_line_of_output():
    assert last_line("first\n  last  \n\n") == "last"
    assert last_line(" \n") == "no output"
    assert ended("exited with code 3", "a\n\nb\nc\n", lines=2) == \
        "exited with code 3; last log lines: b | c"
    assert ended("container gone", "\n") == "container gone; empty log"


def test_a_hung_docker_is_serverfailed_naming_the_call_and_the_limit(hung_tools):
    with pytest.raises(ServerFailed) as error:
        runtime.docker("inspect", "--format", "{{json .State}}", "abc")
    assert str(error.value) == f"docker inspect did not finish within {HUNG_LIMIT_S:g} s"


def test_a_hung_docker_does_not_crash_or_hang_cleanup(hung_tools, tmp_path):
    started = time.monotonic()
    assert runtime.remove_containers("battle.owner=x") == []
    runtime.Container("abc", tmp_path / "server.log").remove()
    runtime._owners_opened.add(("host:1", ("docker",)))
    runtime.remove_owned()
    assert time.monotonic() - started < 10 and not runtime._owners_opened


def test_a_hung_docker_daemon_at_open_is_runtimeunavailable(hung_tools, tmp_path):
    with pytest.raises(RuntimeUnavailable) as error:
        with runtime.DockerRuntime(images="registry").open(tmp_path):
            pass
    assert str(error.value) == ("cannot reach the Docker daemon: docker version did not "
                                f"finish within {HUNG_LIMIT_S:g} s")


def test_no_docker_is_runtimeunavailable_and_imageerror(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeUnavailable, match="^docker not found: install Docker Engine, or "
                                                 "use --runtime local$"):
        runtime.docker("version")
    with pytest.raises(images.ImageError, match="^docker not found"):
        images.image_id("battle/bookworm:offline")


def test_a_hung_docker_building_images_is_imageerror(hung_tools):
    with pytest.raises(images.ImageError) as error:
        images.image_label(images.BASE_IMAGE, "battle.key")
    assert str(error.value) == f"docker image inspect did not finish within {HUNG_LIMIT_S:g} s"


def test_a_hung_compose_is_serverfailed_or_no_compose(hung_tools, tmp_path):
    docker_runtime = runtime.DockerRuntime(images="registry")
    docker_runtime.compose, docker_runtime.project = ["docker", "compose"], "battletest"
    docker_runtime.compose_file = tmp_path / "docker-compose.yml"
    with pytest.raises(ServerFailed) as error:
        docker_runtime._compose("fastapi-uvicorn", "up", "--detach", "fastapi-uvicorn")
    assert str(error.value) == f"docker compose up did not finish within {HUNG_LIMIT_S:g} s"
    with pytest.raises(RuntimeUnavailable, match="neither `docker compose`"):
        runtime.detect_compose()
