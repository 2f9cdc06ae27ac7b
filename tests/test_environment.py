from suite import environment


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
    assert environment.fingerprint_differences(a, dict(a)) == []
    b = {**a, "cpu_count": 8, "kernel": "5"}
    assert environment.fingerprint_differences(a, b) == ["cpu_count: 2 vs 8", "kernel: '6' vs '5'"]
