"""Writes, for real: wrk posts a unique document per request, the suite looks up every
acknowledged id in MongoDB after each repeat and counts the collection; a server that
acknowledges without inserting, or inserts twice, is caught (lost-write), one that does neither
is not."""


import pytest
from pymongo import MongoClient

from suite.record import results
from tests.conftest import FIXTURES, battle, server_counts

pytestmark = pytest.mark.integration
CATALOG = FIXTURES / "catalog-misbehaving.toml"
CONNECTIONS = 10
RUN = ["--profile", "quick", "--docs", "write", "--connections", str(CONNECTIONS),
       "--duration", "3", "--timeout", "2", "--warmup", "1", "--repeats", "1"]



@pytest.fixture(scope="module")
def faked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("writes")
    out = tmp / "results"
    done = battle("--catalog", str(CATALOG), "run", "writes", "ack-no-insert", "insert-twice",
                  *RUN, "--out", str(out), "--reports", str(tmp / "reports"))
    assert done.returncode == 0, done.stderr
    [path] = sorted(out.glob("*.json"))
    return out, results.load(path), (tmp / "reports" / f"{path.stem}.md").read_text()


def sample_of(run, variant: str) -> results.Sample:
    [sample] = run.variant(variant).cell("write", CONNECTIONS).repeats
    return sample


def test_every_acknowledged_write_is_found_and_counted_once(faked):
    out, run, _ = faked
    sample = sample_of(run, "writes")
    writes = sample.writes
    # Every 201 the generator saw is in the collection; nothing was stored twice.
    assert writes.acknowledged == sample.requests > 0 and writes.found == writes.acknowledged
    assert writes.lost == 0 and writes.duplicated == 0 and sample.errors["lost-write"] == 0
    # Inserts still in flight when wrk stopped may be stored without an acknowledgement seen.
    assert writes.acknowledged <= writes.stored <= writes.acknowledged + CONNECTIONS
    assert sample.ok_requests == sample.requests and sample.body_checked == sample.requests
    assert run.variant("writes").settings["write_concern"] == "1"
    assert [c.name for c in run.variant("writes").verification] == ["/plain", "POST /items",
                                                                      "interpreter"]


def test_a_server_that_acknowledges_without_inserting_is_caught(faked):
    out, run, report = faked
    sample = sample_of(run, "ack-no-insert")
    # Each connection's 3rd write: acknowledged, never stored; one per connection per run.
    assert sample.writes.lost == CONNECTIONS == sample.errors["lost-write"]
    assert sample.ok_requests == sample.requests - CONNECTIONS
    # The server's own count covers the warmup and the repeat (a connection each time).
    assert server_counts(out, run, "ack-no-insert")["unstored"] == 2 * CONNECTIONS
    assert f"(**{CONNECTIONS} lost**)" in report


def test_a_server_that_inserts_twice_is_caught(faked):
    out, run, report = faked
    sample = sample_of(run, "insert-twice")
    assert sample.writes.duplicated == CONNECTIONS == sample.errors["lost-write"]
    assert sample.writes.lost == 0
    assert server_counts(out, run, "insert-twice")["doubled"] == 2 * CONNECTIONS
    assert f"(**{CONNECTIONS} duplicated**)" in report and "**lost-write**" in report


def test_the_collection_is_emptied_and_dropped_after_the_run(mongo_url, tmp_path):
    # With --mongo-url the posted documents must not stay in someone's database.
    items = MongoClient(mongo_url)["battle"]["items"]
    items.insert_many([{"key": f"left-over-{i}"} for i in range(5 * CONNECTIONS)])
    done = battle("--catalog", str(CATALOG), "run", "writes", *RUN, "--mongo-url", mongo_url,
                  "--out", str(tmp_path / "results"), "--reports", str(tmp_path / "reports"))
    assert done.returncode == 0, done.stderr
    run = results.load(sorted((tmp_path / "results").glob("*.json"))[0])
    writes = sample_of(run, "writes").writes
    # More left-overs than wrk has connections in flight: had they stayed, they would show.
    assert writes.stored <= writes.acknowledged + CONNECTIONS
    assert items.count_documents({}) == 0


@pytest.mark.parametrize("extra", [["--loadgen", "oha"], ["--crosscheck", "oha"],
                                   ["--rate", "100"]])
def test_writes_are_wrk_only(extra, tmp_path):
    done = battle("run", "fastapi-uvicorn", "--docs", "write", *extra, "--out", str(tmp_path))
    assert done.returncode == 2 and "writes (--docs write) are wrk's alone" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("variant", ["flask-gunicorn-sync", "fastapi-uvicorn", "tornado-motor"])
def test_real_servers_store_every_write_they_acknowledge(variant, tmp_path):
    out = tmp_path / "results"
    done = battle("run", variant, *RUN, "--write-concern", "majority", "--out", str(out),
                  "--reports", str(tmp_path / "reports"))
    assert done.returncode == 0, done.stderr
    run = results.load(sorted(out.glob("*.json"))[0])
    record = run.variant(variant)
    assert record.settings["write_concern"] == "majority"
    assert [c.name for c in record.verification][-2:] == ["POST /items", "interpreter"]
    sample = sample_of(run, variant)
    writes = sample.writes
    assert writes.acknowledged > 100 and writes.lost == 0 and writes.duplicated == 0
    assert writes.acknowledged == sample.requests - sample.failed("status")
    assert sample.ok_requests == writes.acknowledged - sample.failed("late")
    # The database's CPU per insert is in the cost, like the reads'.
    assert sample.cpu_us_per_ok("mongod") > 0


def test_a_repeat_counts_only_its_own_documents(mongo_url, tmp_path):
    """Inserts a server was still finishing from the previous wrk execution carry that one's
    tag: they are neither this repeat's duplicates nor its stored documents."""
    from bson import ObjectId

    from suite.measure.scenarios import count_writes

    items = MongoClient(mongo_url)["battle"]["items-tagging"]
    items.drop()
    mine = items.insert_many([{"run": "r2", "key": f"1-{n}"} for n in range(1, 6)]
                             + [{"run": "r2", "key": "1-5"}]).inserted_ids
    items.insert_many([{"run": "r1", "key": f"1-{n}"} for n in range(1, 4)])  # the previous one
    ids = tmp_path / "write.ids"
    (tmp_path / "write.ids.1").write_text("".join(f"{i}\n" for i in mine[:5]) + f"{ObjectId()}\n")
    sample = results.Sample(generator="wrk", connections=1, threads=1, timeout_s=1.0,
                            requests=6, bytes=0, duration_s=1.0,
                            errors={k: 0 for k in results.REQUEST_ERROR_KEYS}, latency_us={},
                            latency_count=6, args=[], raw_output="")
    count_writes(items, sample, ids, "r2")
    assert sample.writes == results.Writes(acknowledged=6, found=5, stored=6, distinct=5)
    assert sample.writes.lost == 1 and sample.writes.duplicated == 1
    assert sample.errors["lost-write"] == 2 and not list(tmp_path.glob("write.ids*"))
    items.drop()
