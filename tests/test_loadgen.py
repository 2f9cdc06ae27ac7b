import pytest

from suite.loadgen import LoadGenError, Wrk, parse_output
from suite.results import ERROR_KEYS, LATENCY_KEYS
from tests.conftest import FIXTURES


def test_parse_real_wrk_output():
    text = (FIXTURES / "wrk-output.txt").read_text()
    sample = parse_output(text, ["-c", "1000"], "raw/x.txt")
    assert sample.requests == 3320
    assert sample.bytes == 534520
    assert sample.duration_s == pytest.approx(2.089691)
    assert set(sample.errors) == set(ERROR_KEYS) and sample.error_count == 0
    assert set(sample.latency_us) == set(LATENCY_KEYS)
    assert sample.latency_us["p99"] == 1791165
    assert sample.latency_us["min"] <= sample.latency_us["p50"] <= sample.latency_us["p99.9"]
    assert sample.ok_rps == pytest.approx(3320 / 2.089691)
    assert sample.wrk_args == ["-c", "1000"] and sample.raw_output == "raw/x.txt"


def test_parse_output_without_any_response():
    sample = parse_output((FIXTURES / "wrk-output-empty.txt").read_text(), [], "r")
    assert sample.requests == 0 and sample.ok_rps == 0
    assert all(value is None for value in sample.latency_us.values())


def test_status_errors_are_not_successes():
    text = (FIXTURES / "wrk-output.txt").read_text().replace('"status":0', '"status":320')
    sample = parse_output(text, [], "r")
    assert sample.ok_requests == 3320 - 320
    assert sample.error_count == 320


@pytest.mark.parametrize("text, message", [
    ("Running 1s test\n", "found 0"),
    ("BATTLE_WRK {}\nBATTLE_WRK {}\n", "found 2"),
    ('BATTLE_WRK {"requests": 1}\n', "malformed"),
    ("BATTLE_WRK not json\n", "malformed"),
])
def test_parse_rejects_bad_output(text, message):
    with pytest.raises(LoadGenError, match=message):
        parse_output(text, [], "r")


def test_threads_never_exceed_connections_or_cpus():
    wrk = Wrk("wrk", threads=2, timeout_s=10)
    assert wrk.threads_for(1) == 1
    assert wrk.threads_for(5000) == 2
    args = wrk.args("http://127.0.0.1:1/small", 200, 30)
    assert args[:8] == ["-t", "2", "-c", "200", "-d", "30s", "--timeout", "10s"]
    assert args[-1] == "http://127.0.0.1:1/small"
