import pytest

from suite.measure.loadgen import LoadGenError, Wrk, parse_output
from suite.record.results import LATENCY_KEYS, REQUEST_ERROR_KEYS
from tests.conftest import FIXTURES


def test_parse_real_wrk_output():
    # fastapi-uvicorn small@300 on one CPU with a 2 s timeout: late and lost requests.
    text = (FIXTURES / "wrk-output.txt").read_text()
    sample = parse_output(text, ["-c", "300"], "raw/x.txt")
    assert sample.generator == "wrk" and sample.connections == 300 and sample.threads == 1
    assert sample.requests == 1516 and sample.bytes == 244076 and sample.timeout_s == 2.0
    assert sample.duration_s == pytest.approx(3.040974)
    assert set(sample.errors) == set(REQUEST_ERROR_KEYS)
    assert sample.errors == {"connect": 0, "read": 0, "write": 0, "status": 0, "late": 62,
                             "lost": 78, "body": 0}
    assert sample.body_checked == 1516
    # Measured latency: one sample per response within the timeout; wrk's own figures apart.
    assert sample.latency_count == 1516 - 62 and sample.latency_count_matches
    assert set(sample.latency_us) == set(LATENCY_KEYS)
    assert sample.latency_us["p50"] == 158827 and sample.latency_corrected_us["p50"] == 160711
    assert sample.latency_us["max"] == sample.latency_corrected_us["max"] < 2e6
    assert sample.latency_us["min"] <= sample.latency_us["p50"] <= sample.latency_us["p99.9"]
    # Late responses are failures: not successes, and in the failure rate with the lost ones.
    assert sample.ok_requests == 1516 - 62
    assert sample.attempts == 1516 + 78
    assert sample.error_rate == pytest.approx((62 + 78) / (1516 + 78))
    assert sample.args == ["-c", "300"] and sample.raw_output == "raw/x.txt"


def test_parse_output_without_any_response():
    # Four connections to a server that accepts and never answers: every request is lost.
    sample = parse_output((FIXTURES / "wrk-output-empty.txt").read_text(), [], "r")
    assert sample.requests == 0 and sample.ok_rps == 0 and sample.latency_count == 0
    assert all(value is None for value in sample.latency_us.values())
    assert sample.latency_corrected_us is None
    assert sample.errors["lost"] == 4 and sample.error_rate == 1.0


def test_status_and_body_errors_are_not_successes():
    text = (FIXTURES / "wrk-output.txt").read_text().replace('"status":0', '"status":320')
    text = text.replace('"wrong":0', '"wrong":10')
    sample = parse_output(text, [], "r")
    assert sample.ok_requests == 1516 - 320 - 62 - 10
    assert sample.error_count == 320 + 62 + 78 + 10


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


def oha_report(errors: dict) -> dict:
    return {"summary": {"total": 2.5}, "errorDistribution": errors}


def test_oha_rows_and_errors_become_the_same_classes():
    from suite.measure.loadgen import parse_oha
    rows = [(0.010, 200, 36)] * 90 + [(0.020, 200, 35)] * 4 + [(0.030, 503, 20)] * 6
    errors = {"aborted due to deadline": 10, "timeout": 3, "Connection refused (os error 111)": 2,
              "connection closed before message completed": 5}
    sample = parse_oha(oha_report(errors), rows, expected_length=36, connections=10, threads=2,
                       timeout_s=1, args=["-c", "10"], raw_output="r.json")
    assert sample.generator == "oha" and sample.requests == 100 and sample.duration_s == 2.5
    # In flight at the end: not a failure. Abandoned at the timeout: lost (late is unknowable).
    assert sample.errors == {"connect": 2, "read": 5, "write": 0, "status": 6, "late": None,
                             "lost": 3, "body": 4}
    assert sample.ok_requests == 90 and sample.body_checked == 94
    assert sample.attempts == 100 + 2 + 5 + 3
    assert sample.latency_count == 100 and sample.latency_count_matches
    assert sample.latency_us["p50"] == 10000 and sample.latency_us["p99"] == 30000


def test_oha_without_a_body_check_counts_no_body_class():
    from suite.measure.loadgen import parse_oha
    sample = parse_oha(oha_report({}), [], expected_length=None, connections=1, threads=1,
                       timeout_s=1, args=[], raw_output="r")
    assert sample.errors["body"] is None and sample.body_checked is None
    assert sample.requests == 0 and all(v is None for v in sample.latency_us.values())


def test_latency_summary_uses_nearest_rank_like_the_wrk_script():
    from suite.measure.loadgen import latency_summary
    s = latency_summary([float(v) for v in range(100, 0, -1)])
    assert (s["min"], s["max"], s["mean"]) == (1, 100, 50.5)
    assert (s["p50"], s["p99"], s["p99.9"]) == (50, 99, 100)


def test_oha_open_loop_counts_late_unsent_and_lost_from_the_schedule():
    from suite.measure.loadgen import parse_oha
    # 100 req/s due for 10 s, timeout 2 s: 950 answered (30 after more than 2 s from when they
    # were due), 10 in flight at the end, 40 never sent.
    rows = [(0.05, 200, 36)] * 920 + [(2.5, 200, 36)] * 30
    report = {"summary": {"total": 10.0}, "errorDistribution": {"aborted due to deadline": 10}}
    sample = parse_oha(report, rows, expected_length=36, connections=10, threads=1, timeout_s=2,
                       args=[], raw_output="r", rate=100.0, planned_s=10)
    assert sample.rate == 100.0 and sample.unsent == 1000 - 960
    # Never sent and due before 8 s (the end less the timeout): 800 - 960 < 0, so none lost.
    assert sample.errors["lost"] == 0 and sample.errors["late"] == 30
    assert sample.latency_count == 920 and sample.latency_us["max"] == 50000
    assert sample.ok_requests == 920
    behind = parse_oha(report, rows[:500], expected_length=36, connections=10, threads=1,
                       timeout_s=2, args=[], raw_output="r", rate=100.0, planned_s=10)
    # 490 never sent; those due before 8 s: 800 - 510 = 290 are lost.
    assert behind.unsent == 490 and behind.errors["lost"] == 290


def test_a_hung_generator_is_one_line_naming_it_and_the_limit(hung_tools):
    import time

    from suite.measure.loadgen import Oha, execute, tool_version

    wrk, oha = str(hung_tools / "wrk"), str(hung_tools / "oha")
    with pytest.raises(LoadGenError, match=r"^wrk -v did not finish within 0\.3 s$"):
        tool_version(wrk, "-v")
    with pytest.raises(LoadGenError, match=r"^oha --version did not finish within 0\.3 s$"):
        Oha(oha, threads=1, timeout_s=1).describe()
    started = time.monotonic()
    with pytest.raises(LoadGenError, match=r"^wrk did not finish within 0\.5 s$"):
        execute([wrk, "-c", "10", "http://127.0.0.1:9/"], limit_s=0.5, watch=None)
    assert time.monotonic() - started < 5
