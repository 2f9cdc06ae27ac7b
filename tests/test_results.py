import json

import pytest

from suite.read import report
from suite.record import results, upgrades
from suite.record.results import ResultsError
from tests.conftest import FIXTURES


def test_round_trip_is_lossless(tmp_path):
    original = json.loads((FIXTURES / "results-v10.json").read_text())
    assert original["version"] == results.VERSION
    run = results.RunResult.from_dict(original)
    path = tmp_path / "copy.json"
    results.save(run, path)
    assert json.loads(path.read_text()) == original
    assert results.load(path) == run


def test_version_2_files_read_as_version_3():
    original = json.loads((FIXTURES / "results-v2.json").read_text())
    upgraded = upgrades.upgrade_v2(original)
    assert upgraded["version"] == 3 and upgraded["runtime_details"] == {"name": "local"}
    assert {k: v for k, v in upgraded.items() if k not in ("version", "runtime_details")} == \
        {k: v for k, v in original.items() if k != "version"}
    run = results.RunResult.from_dict(original)
    assert run.version == results.VERSION and run.runtime_details == results.RuntimeDetails("local")
    assert all(variant.image is None for variant in run.variants)


def _interval_us(sample: dict) -> int:
    # wrk 4.1's correction interval (src/wrk.c), from what a v3 sample recorded.
    args = sample["wrk_args"]
    connections = int(args[args.index("-c") + 1])
    return int(sample["duration_s"] * 1e6) // (sample["requests"] // connections)


def test_version_3_latency_is_measured_only_where_wrk_did_not_correct_it():
    original = json.loads((FIXTURES / "results-v3-docker.json").read_text())
    run = results.RunResult.from_dict(original)
    assert run.loadgen["body_check"] is None and "lost" not in run.loadgen["failure_classes"]
    kinds = set()
    for old_variant, variant in zip(original["variants"], run.variants):
        for old_cell, cell in zip(old_variant["cells"], variant.cells):
            for old, new in zip(old_cell["repeats"], cell.repeats):
                corrected = old["latency_us"]["max"] >= 2 * _interval_us(old)
                kinds.add(corrected)
                assert new.generator == "wrk" and new.args == old["wrk_args"]
                assert new.connections == int(old["wrk_args"][old["wrk_args"].index("-c") + 1])
                assert new.errors["late"] == old["errors"]["timeout"]
                assert new.errors["lost"] is None and new.errors["body"] is None
                if corrected:
                    assert all(v is None for v in new.latency_us.values())
                    assert new.latency_corrected_us == old["latency_us"]
                    assert new.latency_count is None and new.latency_count_matches is None
                else:
                    assert new.latency_us == old["latency_us"]
                    assert new.latency_corrected_us is None and new.latency_count_matches
    assert kinds == {True, False}  # the fixture has both, or this test proves half


def test_a_docker_run_records_images_limits_and_cgroup_usage():
    run = results.load(FIXTURES / "results-v3-docker.json")
    assert run.runtime == "docker" and run.runtime_details.compose["version"]
    assert run.mongo.container.image_id.startswith("sha256:")
    # The database's limits live with its container only (v5).
    assert run.mongo.container.memory == "2g" and set(run.runtime_details.limits) == {"server"}
    for variant in run.variants:
        assert variant.image.id.startswith("sha256:")
        usage = variant.cells[0].repeats[0].resources
        assert usage["server"].memory == usage["mongod"].memory == "cgroup-anon"
        assert usage["loadgen"].memory == "rss"


def test_numbers_are_typed():
    run = results.load(FIXTURES / "results-v4.json")
    sample = run.variants[0].cells[0].repeats[0]
    assert isinstance(sample.requests, int) and isinstance(sample.duration_s, float)
    assert isinstance(sample.connections, int) and isinstance(sample.latency_count, int)
    assert all(isinstance(v, float) for v in sample.latency_us.values())
    assert all(isinstance(v, int) for v in sample.errors.values())
    assert run.profile.connections == (20, 300)
    assert isinstance(sample.resources["server"].cpu_cores, float)
    assert isinstance(sample.resources["loadgen"].memory_bytes_max, int)


def test_a_v2_run_keeps_every_repeat_warmup_and_primer():
    run = results.load(FIXTURES / "results-v2.json")
    assert run.order == "interleaved" and run.cpu_roles == {"loadgen": [0], "server": [1],
                                                            "db": [1]}
    for variant in run.variants:
        assert len(variant.primers) == 3  # one per server start: three rounds
        for cell in variant.cells:
            assert len(cell.repeats) == 3 and len(cell.warmups) == 3
            assert {"server", "mongod", "loadgen", "machine"} <= set(cell.repeats[0].resources)


def test_version_1_files_stay_readable():
    run = results.load(FIXTURES / "results-v1.json")
    assert run.version == results.VERSION and run.order == "sequential"
    assert run.profile.primer_s == 0 and run.profile.interleave is False
    cell = run.variant("fastapi-uvicorn").cell("small", 50)
    assert len(cell.warmups) == 1 and cell.warmups[0].requests > 0
    assert cell.repeats[0].resources is None


def test_save_is_atomic(tmp_path, monkeypatch):
    run = results.load(FIXTURES / "results-v2.json")
    path = tmp_path / "r.json"
    results.save(run, path)
    before = path.read_text()

    def explode(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(results.json, "dump", explode)
    with pytest.raises(OSError):
        results.save(run, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


@pytest.mark.parametrize("change, message", [
    ({"schema": "other"}, "not a battle.results"),
    ({"version": 99}, "version 99 is not supported"),
    ({"profile": {}}, "does not match"),
])
def test_load_rejects_other_documents(tmp_path, change, message):
    data = {**json.loads((FIXTURES / "results-v2.json").read_text()), **change}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=message):
        results.load(path)


def test_version_4_files_read_as_version_5():
    original = json.loads((FIXTURES / "results-v4.json").read_text())
    upgraded = upgrades.upgrade_v4(original)
    assert upgraded["version"] == 5 and upgraded["profile"]["db_latencies_ms"] == [0]
    # The commit's "-dirty" becomes a field; the diff was not recorded then.
    assert original["environment"]["git_commit"] == "24ca888a894b-dirty"
    assert upgraded["environment"]["git_commit"] == "24ca888a894b"
    assert upgraded["environment"]["git_dirty"] is True
    assert upgraded["environment"]["git_diff_sha256"] is None
    old = original["variants"][0]["cells"][0]["repeats"][0]["resources"]
    new = upgraded["variants"][0]["cells"][0]["repeats"][0]["resources"]
    assert new["server"]["memory_bytes_max"] == old["server"]["rss_bytes_max"]
    assert new["server"]["memory"] == "rss" and "rss_bytes_max" not in new["server"]
    assert new["machine"] == old["machine"]
    assert "process groups in /proc" in upgraded["method"]["resources"]
    run = results.RunResult.from_dict(original)
    assert all(c.db_latency_ms == 0 and c.db_latency_checks == []
               for v in run.variants for c in v.cells)
    assert run.mongo.fail_point is None and run.variants[0].image is None


def test_write_samples_carry_their_database_count_and_read_samples_no_lost_write():
    from suite.read import analysis

    run = results.load(FIXTURES / "results-v5.json")
    read = run.variants[0].cells[0]
    assert all("lost-write" not in s.errors for s in read.repeats)
    assert "lost-write" not in analysis.summarize(read).uncounted
    data = run.to_dict()
    sample = data["variants"][0]["cells"][0]["repeats"][0]
    sample["errors"]["lost-write"] = 3
    sample["writes"] = {"acknowledged": 100, "found": 98, "stored": 104, "distinct": 103}
    again = results.RunResult.from_dict(data).variants[0].cells[0].repeats[0]
    assert again.writes.lost == 2 and again.writes.duplicated == 1
    assert again.ok_requests == again.requests - 3 - again.failed("late") \
        - again.failed("status") - again.failed("body")


def test_version_5_files_read_as_version_6():
    original = json.loads((FIXTURES / "results-v5.json").read_text())
    assert original["version"] == 5
    upgraded = upgrades.upgrade_v5(original)
    assert upgraded == {**original, "version": 6}
    run = results.RunResult.from_dict(original)
    assert all(v.sweep is None and v.deployment is None for v in run.variants)
    assert all(s.writes is None and "lost-write" not in s.errors
               for v in run.variants for c in v.cells for s in c.repeats)
    # Its fail point probe predates the burst's wall time: still rendered.
    assert "20 at once:" in report.render(run)


def test_a_v6_run_records_its_scenarios():
    # flask-gunicorn-sync swept over workers 2 and its catalog 3, each as one instance behind
    # nginx, reading and writing, with the database 0 and 2 ms away.
    run = results.load(FIXTURES / "results-v6.json")
    assert {v.sweep.label for v in run.variants} == {"workers=2", "workers=3"}
    assert all(v.deployment.instances == 1 and v.deployment.strategy == "round_robin"
               for v in run.variants)
    write = run.variants[0].cell("write", 20, 2)
    assert all(s.writes.acknowledged > 0 and s.errors["lost-write"] == 0 for s in write.repeats)
    assert run.mongo.fail_point["data"]["failCommands"] == ["find", "insert"]
    [probe] = run.mongo.fail_point["verified"]
    assert probe["concurrent_wall_ms"] < probe["concurrent_block_ms"] * probe["concurrent"] / 4


def test_version_6_files_read_as_one_sitting_of_version_7():
    original = json.loads((FIXTURES / "results-v6.json").read_text())
    run = results.RunResult.from_dict(original)
    assert run.version == results.VERSION and run.plan is None
    [sitting] = run.sittings
    repeats = [s for v in run.variants for c in v.cells for s in c.repeats]
    assert sitting.repeats == len(repeats) and sitting.status == original["status"]
    assert sitting.counted_s == round(sum(s.duration_s for s in repeats), 1)
    assert sitting.wall_s > sitting.counted_s and sitting.environment == original["environment"]
    assert all(s.database is None and s.spread is None and s.listen_drops is None
               for s in repeats)
    # The bare ASGI app is the baseline; every other variant a framework.
    original["variants"][0]["app"] = "asgi"
    upgraded = results.RunResult.from_dict(original)
    assert [v.classification for v in upgraded.variants] == \
        ["baseline"] + ["framework"] * (len(upgraded.variants) - 1)


def test_version_7_records_sittings_database_counts_and_spreads():
    run = results.load(FIXTURES / "results-v7.json")
    assert [s.status for s in run.sittings] == ["interrupted", "complete"]
    assert sum(s.repeats for s in run.sittings) == sum(
        len(c.repeats) for v in run.variants for c in v.cells)
    assert run.plan["counted_repeats"] == 4 * 4 * 2 and run.profile.repeat_cap == 5
    sample = run.variant("fastapi-uvicorn").cell("small", 40).repeats[0]
    assert sample.database.finds >= sample.ok_requests and sample.finds_per_ok >= 1.0
    assert len(sample.spread.workers) == 2 and sample.spread.total == 40
    assert run.variant("asgi-uvicorn").classification == "baseline"


def test_version_7_files_read_as_version_8():
    """A v7 run's servers ran on the default build, their GIL state unread."""
    original = json.loads((FIXTURES / "results-v7.json").read_text())
    run = results.RunResult.from_dict(original)
    assert run.version == results.VERSION
    assert all(v.build == "default" and v.interpreter is None and v.twin_of is None
               and v.gil_expected for v in run.variants)
    assert run.runtime_details.free_threaded_python is None


def test_version_8_files_read_as_version_9():
    """Every v8 run placed its roles on one machine."""
    original = json.loads((FIXTURES / "results-v8.json").read_text())
    upgraded = upgrades.upgrade_v8(original)
    assert upgraded["version"] == 9 and upgraded["runtime_details"]["placement"] is None
    run = results.RunResult.from_dict(original)
    assert run.version == results.VERSION and run.runtime_details.placement is None


def test_version_9_files_read_as_version_10():
    """Nothing v10 adds was recorded before it: unknown, never guessed."""
    original = json.loads((FIXTURES / "results-v9.json").read_text())
    upgraded = upgrades.upgrade_v9(original)
    assert upgraded["version"] == 10 and upgraded["top_groups"] == [] and upgraded["reason"] is None
    run = results.RunResult.from_dict(original)
    assert run.version == results.VERSION and run.top_groups == [] and run.reason is None
    assert run.runtime_details.capabilities is None
    assert all(v.interpreter_build is None and v.code is None for v in run.variants)
    assert all(r.round is None for v in run.variants for c in v.cells for r in c.repeats)
