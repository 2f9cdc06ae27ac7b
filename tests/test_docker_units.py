"""The docker runtime's pieces that need no Docker: compose file, image choice, launcher, cgroups."""

import json
from pathlib import Path

import pytest

from suite import REPO_ROOT
from suite.measure import composefile, images
from suite.measure.nginx import NginxConfig
from suite.record.catalog import load_catalog
from suite.measure.resources import Cgroup, CgroupError, _cgroup_mounts


def test_committed_compose_file_is_the_catalogs():
    committed = (REPO_ROOT / "compose" / "docker-compose.yml").read_text()
    assert committed == composefile.render(load_catalog()), \
        "regenerate: battle compose-file > compose/docker-compose.yml"


def test_compose_file_has_mongo_and_one_profiled_service_per_variant():
    text = composefile.render(load_catalog())
    for name, variant in load_catalog().items():
        if variant.host_only:   # local runtime only
            assert f"\n  {name}:\n" not in text
            continue
        block = text.split(f"\n  {name}:\n", 1)[1].split("\n\n", 1)[0]
        assert f'profiles: ["{name}"]' in block
        assert f'PACKAGES: "{" ".join(variant.packages)}"' in block
        assert "network_mode: host" in block and 'cpuset: "${BATTLE_SERVER_CPUSET:-}"' in block
        assert f'command: ["{name}"]' in block
    mongo = text.split("\n  mongo:\n", 1)[1].split("\n\n", 1)[0]
    assert "profiles" not in mongo and 'mem_limit: "${BATTLE_DB_MEMORY:-2g}"' in mongo


def test_image_choice_precedence(tmp_path):
    env_file = tmp_path / ".env"
    assert images.image_settings(None, {}, env_file) == (images.IMAGE_SETS["registry"], "default")
    env_file.write_text("BATTLE_IMAGES=offline\nBATTLE_MONGO_IMAGE=my/mongo:1\n")
    values, source = images.image_settings(None, {}, env_file)
    assert values["BATTLE_IMAGES"] == "offline" and source == str(env_file)
    assert values["BATTLE_MONGO_IMAGE"] == "my/mongo:1"
    values, source = images.image_settings(None, {"BATTLE_IMAGES": "registry"}, env_file)
    assert values == images.IMAGE_SETS["registry"] and "environment" in source
    values, source = images.image_settings("registry", {"BATTLE_MONGO_IMAGE": "mongo:8.0"},
                                           env_file)
    assert source == "--images" and values["BATTLE_MONGO_IMAGE"] == "mongo:8.0"
    assert values["BATTLE_SERVER_BASE"] == "python:3.13-slim"
    with pytest.raises(images.ImageError, match="expected one of"):
        images.image_settings(None, {"BATTLE_IMAGES": "cloud"}, env_file)


def test_launcher_resolves_what_the_docker_runtime_records(monkeypatch):
    from suite import launch
    from suite.measure.runtime.docker import IMAGE_PYTHON, DockerRuntime

    monkeypatch.setattr(launch.sys, "executable", IMAGE_PYTHON)
    runtime = DockerRuntime(images="offline")
    for variant in load_catalog().values():
        if variant.host_only:   # never in an image
            continue
        settings = variant.resolve(cpus=3, max_connections=1000)
        argv, env = launch.resolve(variant.name, {"BATTLE_SETTINGS": json.dumps(settings),
                                                  "BATTLE_PORT": "9123"})
        assert argv == runtime.command(variant, settings, 9123)
        assert all(env[f"BATTLE_{key.upper()}"] for key in settings)


def test_launcher_refuses_a_command_the_suite_did_not_expect(monkeypatch, capsys):
    from suite import launch

    monkeypatch.setenv("BATTLE_EXPECT_ARGV", json.dumps(["something", "else"]))
    assert launch.main(["fastapi-uvicorn"]) == 2
    assert "rebuild the image" in capsys.readouterr().err


def test_launcher_names_an_unknown_variant_and_the_known_ones(capsys):
    from suite import launch

    assert launch.main(["no-such-variant"]) == 2
    known = ", ".join(load_catalog())
    assert capsys.readouterr().err == (f"battle-launch: unknown variant 'no-such-variant' "
                                       f"(known: {known})\n")
    for args in ([], ["a", "b"], ["--verbose"]):
        assert launch.main(args) == 2
        assert capsys.readouterr().err.startswith("usage: python -m suite.launch VARIANT")


def test_launcher_versions_mode_on_this_interpreter(capsys):
    # What the docker runtime records about each image, run here on the host's Python.
    import importlib.metadata
    import platform
    import resource

    from suite import launch

    assert launch.main(["--versions", "pytest", "no-such-distribution"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1
    assert json.loads(printed) == {
        "python": platform.python_version(),
        "packages": {"pytest": importlib.metadata.version("pytest"),
                     "no-such-distribution": None},
        "nofile": [resource.getrlimit(resource.RLIMIT_NOFILE)[1]] * 2,
        "build": launch.build()}
    # This interpreter's build, as it says itself: the suite's own pyenv 3.11 or any other.
    build = launch.build()
    assert build["version"] == platform.python_version()
    assert build["production"] == (build["pgo"] and build["lto"])
    assert build["shared_libpython"] == ("libpython" in open("/proc/self/maps").read())


V1_MOUNTS = """\
25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
32 25 0:28 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
"""
V2_MOUNTS = "26 24 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def _fake_proc(tmp: Path, mounts: str, cgroup: str) -> Path:
    (tmp / "self").mkdir(parents=True)
    (tmp / "self" / "mountinfo").write_text(mounts)
    (tmp / "42").mkdir()
    (tmp / "42" / "cgroup").write_text(cgroup)
    return tmp


def test_cgroup_v1_and_v2_paths(tmp_path):
    assert _cgroup_mounts(V1_MOUNTS)["cpuacct"] == ("/", Path("/sys/fs/cgroup/cpu,cpuacct"))
    v1 = Cgroup.of_pid(42, _fake_proc(tmp_path / "a", V1_MOUNTS,
                                      "4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n0::/\n"))
    assert (v1.version, v1.cpu, v1.memory) == (1, Path("/sys/fs/cgroup/cpu,cpuacct/docker/abc"),
                                               Path("/sys/fs/cgroup/memory/docker/abc"))
    v2 = Cgroup.of_pid(42, _fake_proc(tmp_path / "b", V2_MOUNTS,
                                      "0::/system.slice/docker-abc.scope\n"))
    assert (v2.version, v2.cpu) == (2, Path("/sys/fs/cgroup/system.slice/docker-abc.scope"))
    with pytest.raises(CgroupError):
        Cgroup.of_pid(43, tmp_path / "a")
    # Inside a cgroup namespace the mount's root is the namespace's cgroup, not "/".
    nested = "26 24 0:23 /docker/outer /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
    inner = Cgroup.of_pid(42, _fake_proc(tmp_path / "c", nested, "0::/docker/outer/inner\n"))
    assert inner.cpu == Path("/sys/fs/cgroup/inner")


def test_an_unreadable_cgroup_is_left_out_not_recorded_as_zero(tmp_path):
    from suite.measure.resources import Monitor

    gone = Cgroup(1, tmp_path / "gone", tmp_path / "gone", tmp_path / "gone" / "cgroup.procs")
    usage = Monitor({"server": gone}, interval_s=0.05).start().stop()
    assert "server" not in usage and "machine" in usage


@pytest.mark.parametrize("version", [1, 2])
def test_cgroup_readings(tmp_path, version):
    if version == 1:
        (tmp_path / "cpuacct.usage").write_text("2500000000\n")
        (tmp_path / "memory.stat").write_text("cache 999\nrss 5\ntotal_cache 999\ntotal_rss 4096\n")
    else:
        (tmp_path / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
        (tmp_path / "memory.stat").write_text("anon 4096\nfile 999\n")
    (tmp_path / "cgroup.procs").write_text("7\n8\n9\n")
    cgroup = Cgroup(version, tmp_path, tmp_path, tmp_path / "cgroup.procs")
    assert cgroup.read() == (2.5, 4096, 3)
    assert Cgroup(version, tmp_path / "gone", tmp_path, tmp_path / "x").read() is None


def test_a_compose_failure_names_its_cause_not_the_summary():
    from suite.measure.runtime.docker import compose_failure

    stderr = ("Creating battlex1_balancer_1 ... \nCreating battlex1_balancer_1 ... error\n\n"
              "ERROR: for battlex1_balancer_1  Cannot start service balancer: bind source path "
              "does not exist: /tmp/x\n\nERROR: for balancer  Cannot start service balancer: "
              "bind source path does not exist: /tmp/x\nERROR: Encountered errors while "
              "bringing up the project.\n")
    assert compose_failure(stderr) == ("ERROR: for balancer  Cannot start service balancer: "
                                       "bind source path does not exist: /tmp/x")
    assert compose_failure("no such service: x\n") == "no such service: x"
    assert compose_failure("") == "no output"


def test_the_balancer_containers_default_open_files_are_its_config_at_5000_connections():
    from suite.record.catalog import DEFAULT_MAX_CONNECTIONS

    config = NginxConfig(strategy="round_robin", listen_port=1, upstream_ports=(2, 3),
                         worker_processes=2, max_connections=DEFAULT_MAX_CONNECTIONS)
    assert composefile.DEFAULTS["BATTLE_BALANCER_NOFILE"] == str(config.open_files)
    assert f"worker_rlimit_nofile {config.open_files};" in config.render(Path("/x"))


def test_a_placed_compose_file_mounts_nothing_and_nginx_answers_at_the_server_host():
    """Remote engines cannot see this machine's files: no service of the placed compose file
    mounts one (the catalog and nginx's configuration are copied in), and a placed
    deployment's nginx listens, and reaches its instances, at the server host's address."""
    unmounted = composefile.render(load_catalog(), mounts=False)
    assert "volumes:" not in unmounted and "volumes:" in composefile.render(load_catalog())
    config = NginxConfig("round_robin", 8000, (8001, 8002), worker_processes=2,
                         max_connections=200, address="10.78.0.12")
    text = config.render(Path("/etc/battle-nginx"))
    assert "listen 10.78.0.12:8000 backlog=4096;" in text
    assert "server 10.78.0.12:8001 max_fails=0;" in text and "127.0.0.1" not in text
    local = NginxConfig("round_robin", 8000, (8001,), worker_processes=1, max_connections=200)
    assert "listen 127.0.0.1:8000" in local.render(Path("/x"))
