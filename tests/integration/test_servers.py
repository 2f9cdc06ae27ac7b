"""Every catalog variant, for real: started by the local runtime against a real mongod,
verified byte for byte, loaded by wrk for two seconds with every body checked, stopped with nothing left behind."""

import re

import pytest

from suite.record.catalog import load_catalog
from suite.record.documents import expected_bodies
from suite.measure.loadgen import Wrk, find_wrk
from suite.measure.procs import group_members
from suite.measure.runtime.local import LocalRuntime
from suite.measure.verify import verify, wait_ready
from tests.conftest import assert_only_a_slow_tail, start_variant

CATALOG = load_catalog()


@pytest.mark.integration
@pytest.mark.parametrize("name", list(CATALOG))
def test_variant_serves_the_contract_under_load(name, mongo_url, tmp_path):
    runtime = LocalRuntime()
    server = start_variant(name, mongo_url, tmp_path / "server.log", max_connections=50)
    try:
        wait_ready(server, 60)
        checks = verify(server)
        assert all(check.passed for check in checks), checks
        wrk = Wrk(find_wrk(), threads=runtime.loadgen_cpus(), timeout_s=2)
        bodies = expected_bodies()
        for doc in ("small", "large"):
            (tmp_path / f"{doc}.json").write_bytes(bodies[doc])
            sample = wrk.run(f"http://127.0.0.1:{server.port}/{doc}", 20, 3,
                             tmp_path / f"{doc}.txt", tmp_path,
                             expect_body=tmp_path / f"{doc}.json")
            assert sample.requests > 50, sample
            assert_only_a_slow_tail(sample, at_most=0.01)
            # Under load too, every response carried exactly the verified bytes.
            assert sample.body_checked == sample.requests
            assert sample.latency_us["p50"] <= sample.latency_us["p99"]
        assert server.alive()
    finally:
        server.stop()
    assert not group_members(server.child.pid)
    assert "Traceback" not in without_loop_teardown((tmp_path / "server.log").read_text())


# granian 2.7.9 on free-threaded 3.13 (flask-granian-ft): when the server stops, an asyncio loop
# of its worker is collected after its self-pipe was closed, and CPython prints the ValueError
# of BaseEventLoop.__del__ as "Exception ignored" (nothing was served wrong; it ends with the
# process). That one block, whole, is the only traceback a server log may hold.
LOOP_TEARDOWN = re.compile(r"Exception ignored in: <function BaseEventLoop\.__del__ at 0x[0-9a-f]+>\n"
                           r"Traceback \(most recent call last\):\n(?:  .*\n)+"
                           r"ValueError: Invalid file descriptor: -1\n")


def without_loop_teardown(log: str) -> str:
    return LOOP_TEARDOWN.sub("", log)
