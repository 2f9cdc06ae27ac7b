import os

import pytest

from suite.cli import UsageError, parse_cpu_roles


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
    from suite.cli import parse_memory

    assert parse_memory(["server=4g db=512M"]) == {"server": "4g", "db": "512m"}
    for bad in ("server=0g", "server=512", "loadgen=1g", "db"):
        with pytest.raises(UsageError, match="--memory"):
            parse_memory([bad])
