"""Failures under load, each in its class: servers that pass verification, then answer late,
never, or with wrong bytes (tests/fixtures/fake_server.py), measured by the real suite."""


import pytest

from suite.record import results
from tests.conftest import FIXTURES, battle, oha_or_skip, server_counts

pytestmark = pytest.mark.integration
CATALOG = FIXTURES / "catalog-misbehaving.toml"
CONNECTIONS = 10
# 3 s repeats, 1 s timeout: a request held from the start is lost well before the end.
RUN = ["--docs", "small", "--duration", "3", "--timeout", "1", "--warmup", "0", "--repeats", "1"]



@pytest.fixture(scope="module")
def misbehaving(tmp_path_factory):
    """One run of every misbehaving server; each repeat is followed by an oha run of the same
    cell (--crosscheck), so both generators meet the same faults."""
    oha_or_skip()
    tmp = tmp_path_factory.mktemp("misbehaving")
    out = tmp / "results"
    done = battle("--catalog", str(CATALOG), "run", "late", "lost", "garbled", "steady", *RUN,
                  "--connections", str(CONNECTIONS), "--crosscheck", "oha", "--out", str(out),
                  "--reports", str(tmp / "reports"))
    assert done.returncode == 0, done.stderr
    [path] = sorted(out.glob("*.json"))
    return out, results.load(path), (tmp / "reports" / "latest.md").read_text()


def repeat(run, variant: str) -> results.Sample:
    [sample] = run.variant(variant).cell("small", CONNECTIONS).repeats
    return sample


def oha(run, variant: str) -> results.Sample:
    [sample] = run.variant(variant).cell("small", CONNECTIONS).crosschecks
    assert sample.generator == "oha"
    return sample


def test_late_responses_are_failures_out_of_the_latency(misbehaving):
    out, run, _ = misbehaving
    sample = repeat(run, "late")
    # Each connection's 3rd request takes 1.5 s: one late response per connection.
    assert sample.errors["late"] == CONNECTIONS
    assert sample.ok_requests == sample.requests - CONNECTIONS
    assert sample.ok_rps < sample.requests / sample.duration_s
    # Latency describes only the responses within the timeout, one sample each.
    assert sample.latency_count == sample.requests - CONNECTIONS
    assert sample.latency_us["max"] < 1e6
    assert {k: v for k, v in sample.errors.items() if v} == {"late": CONNECTIONS}


def test_unanswered_requests_are_lost(misbehaving):
    out, run, _ = misbehaving
    sample = repeat(run, "lost")
    # Each connection's 3rd request is never answered: every connection ends up waiting.
    assert sample.errors["lost"] == CONNECTIONS
    assert sample.requests == 2 * CONNECTIONS == sample.ok_requests
    assert sample.error_rate == pytest.approx(CONNECTIONS / (3 * CONNECTIONS))
    # The server held one request per connection of wrk's primer and repeat, and those oha
    # gave up on (plus any oha had in flight when its run ended, counted by neither).
    held = server_counts(out, run, "lost")["held"]
    counted = sample.errors["lost"] + run.variant("lost").primers[0].connections \
        + oha(run, "lost").errors["lost"]
    assert counted <= held <= counted + CONNECTIONS


def test_wrong_bytes_are_failures(misbehaving):
    out, run, _ = misbehaving
    sample = repeat(run, "garbled")
    # Every 2nd document on a connection is wrong: one byte changed, or one byte missing.
    assert sample.body_checked == sample.requests
    assert abs(sample.errors["body"] - sample.requests / 2) <= CONNECTIONS
    assert sample.ok_requests == sample.requests - sample.errors["body"]
    counts = server_counts(out, run, "garbled")
    primer = run.variant("garbled").primers[0]
    assert sample.errors["body"] + primer.errors["body"] <= counts["garbled"]


def test_oha_counts_the_same_faults_in_its_classes(misbehaving):
    _, run, _ = misbehaving
    # oha abandons a request at its timeout: a late answer and none look alike to it, so both
    # are lost, at least one per connection (each reconnects and meets the fault again).
    for variant in ("late", "lost"):
        sample = oha(run, variant)
        assert sample.errors["late"] is None
        assert sample.errors["lost"] >= CONNECTIONS, (variant, sample.errors)
        assert sample.ok_requests == sample.requests and sample.latency_count == sample.requests
        assert sample.latency_us["max"] < 1e6
        assert sample.ok_rps < repeat(run, "steady").ok_rps
    # oha keeps sizes, not bodies: it sees the short documents (a quarter), not the others.
    garbled = oha(run, "garbled")
    assert garbled.body_checked == garbled.requests
    assert abs(garbled.errors["body"] - garbled.requests / 4) <= CONNECTIONS
    assert garbled.ok_requests == garbled.requests - garbled.errors["body"]


def test_two_generators_agree_on_a_server_bound_by_time(misbehaving):
    _, run, _ = misbehaving
    wrk, other = repeat(run, "steady"), oha(run, "steady")
    # 10 connections × 20 ms per request: at most 500 req/s, whoever asks.
    assert 300 < wrk.ok_rps <= 500 and other.error_count == wrk.error_count == 0
    assert other.ok_rps == pytest.approx(wrk.ok_rps, rel=0.10)
    assert other.latency_us["p50"] == pytest.approx(wrk.latency_us["p50"], rel=0.10)


def test_the_report_names_each_class_and_claims_no_clean_run(misbehaving):
    _, run, text = misbehaving
    for key, variant in (("late", "late"), ("lost", "lost"), ("body", "garbled")):
        assert f"- **{key}**: 1 cell(s)" in text and f"{variant} small@{CONNECTIONS}" in text
    findings = text.split("## Findings")[1].split("\n## ")[0]
    # One late response per connection is under 1% of the attempts: healthy, with a failure.
    # Every third request lost, every second body wrong: unhealthy.
    assert f"| late | – | small@{CONNECTIONS} | late |" in findings
    assert f"| lost | small@{CONNECTIONS} | – | lost |" in findings
    assert f"| garbled | small@{CONNECTIONS} | – | body |" in findings
    assert "The other 1 measured variant(s) answered every request" in findings  # steady
    # Nothing unhealthy is ranked: it is listed after the ranks, marked, with its failed share.
    ranking = text.split("**Ranking by successful requests per second**")[1].split("\n\n")[1]
    [first] = [line for line in ranking.splitlines() if line.startswith("| 1 |")]
    assert "lost" not in first and "garbled" not in first
    assert "| ✗ | ✗ lost " in ranking and "✗ garbled " in ranking
    assert "## Cross-check" in text and "| steady | small@10 |" in text


def test_a_cell_starts_after_the_last_load_is_drained(tmp_path):
    # A server that accepts one connection at a time still serves, after wrk has gone, every
    # connection left in its accept queue; without waiting, the next cell would get nothing.
    out = tmp_path / "results"
    done = battle("--catalog", str(CATALOG), "run", "one-at-a-time", "--docs", "small",
                  "--connections", "800,50", "--duration", "2", "--timeout", "1",
                  "--warmup", "0", "--repeats", "1", "--out", str(out),
                  "--reports", str(tmp_path / "reports"))
    assert done.returncode == 0, done.stderr
    run = results.load(sorted(out.glob("*.json"))[0])
    variant = run.variant("one-at-a-time")
    after = variant.cell("small", 50).repeats[0]
    assert after.quiet_wait_s > 1.0, after.quiet_wait_s
    assert after.requests > 50 and after.errors["lost"] == 0


def test_open_loop_rates_below_and_above_capacity(tmp_path):
    # 10 connections × 20 ms per request: at most 500 req/s. At half of what the closed loop
    # measured, every request is answered on time; at 1.5 times, requests queue.
    oha_or_skip()
    out = tmp_path / "results"
    done = battle("--catalog", str(CATALOG), "run", "steady", *RUN, "--connections",
                  str(CONNECTIONS), "--rate", "50%,150%", "--slo", "p99=100ms",
                  "--out", str(out), "--reports", str(tmp_path / "reports"))
    assert done.returncode == 0, done.stderr
    run = results.load(sorted(out.glob("*.json"))[0])
    variant = run.variant("steady")
    closed = repeat(run, "steady").ok_rps
    half, over = variant.rate_cells
    [below], [above] = half.repeats, over.repeats
    assert (half.rate, over.rate) == ("50%", "150%") and below.generator == "oha"
    assert below.rate == pytest.approx(closed / 2, rel=0.01)
    assert below.requests / below.duration_s == pytest.approx(below.rate, rel=0.05)
    assert below.error_count == 0 and below.latency_us["p99"] < 100_000
    assert above.requests / above.duration_s < 0.8 * above.rate and above.unsent > 0
    assert above.latency_us["p50"] > 5 * below.latency_us["p50"]
    text = (tmp_path / "reports" / "latest.md").read_text()
    section = text.split("## Open loop")[1].split("\n## ")[0]
    assert "rate-small-c10.svg" in section
    assert f"- **steady**: capacity under the SLO {below.ok_rps:,.0f} successful req/s " \
           "(rate 50%)" in section
    assert "(rate 150%) it queued" in section


def test_a_server_that_answers_reads_without_the_database_fails(tmp_path):
    # Both serve the right bytes. `cached` reads each document from MongoDB once: verification
    # sees ten reads of /small answered with no find and refuses it. The other reads from
    # MongoDB until after verification, then from memory: its cell fails under load, by
    # MongoDB's own count, while the honest `steady` passes with a find per response.
    out = tmp_path / "results"
    done = battle("--catalog", str(CATALOG), "run", "cached", "cached-after-verification",
                  "steady", *RUN, "--connections", str(CONNECTIONS), "--out", str(out),
                  "--reports", str(tmp_path / "reports"))
    assert done.returncode == 0, done.stderr
    run = results.load(sorted(out.glob("*.json"))[0])
    cached = run.variant("cached")
    assert cached.status == "failed" and not any(c.repeats for c in cached.cells)
    assert "verification failed: reads query MongoDB: 10 reads of /small made MongoDB run 0 " \
           "find(s)" in cached.reason
    later = run.variant("cached-after-verification")
    assert [c.passed for c in later.verification] == [True, True, True, True]
    assert later.verification[-1].name == "interpreter"
    cell = later.cell("small", CONNECTIONS)
    [sample] = cell.repeats
    assert sample.ok_requests > 100 and sample.database.finds < sample.ok_requests / 100
    assert cell.status == "failed" and cell.reason.startswith(
        f"not a read of the database: MongoDB counted {sample.database.finds:,} finds for "
        f"{sample.ok_requests:,} successful responses in repeat 1")
    honest = repeat(run, "steady")
    assert honest.finds_per_ok >= 1.0 and run.variant("steady").cell(
        "small", CONNECTIONS).status == "measured"
    assert "not a read of the database" in (tmp_path / "reports" / "latest.md").read_text()
