import json

import pytest

from suite import results
from suite.results import ResultsError
from tests.conftest import FIXTURES


def test_round_trip_is_lossless(tmp_path):
    original = json.loads((FIXTURES / "results-v1.json").read_text())
    run = results.RunResult.from_dict(original)
    path = tmp_path / "copy.json"
    results.save(run, path)
    assert json.loads(path.read_text()) == original
    assert results.load(path) == run


def test_numbers_are_typed():
    run = results.load(FIXTURES / "results-v1.json")
    sample = run.variants[0].cells[0].repeats[0]
    assert isinstance(sample.requests, int) and isinstance(sample.duration_s, float)
    assert all(isinstance(v, float) for v in sample.latency_us.values())
    assert run.profile.connections == (50, 1000)


def test_save_is_atomic(tmp_path, monkeypatch):
    run = results.load(FIXTURES / "results-v1.json")
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
    data = {**json.loads((FIXTURES / "results-v1.json").read_text()), **change}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultsError, match=message):
        results.load(path)
