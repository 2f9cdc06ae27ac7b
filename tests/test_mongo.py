"""MongoDB errors and URLs, without a mongod (the real one: tests/integration/test_mongo.py)."""

import builtins

import pytest

from suite.measure import mongo


def test_seed_reports_an_unreachable_server_in_one_short_line():
    with pytest.raises(mongo.MongoError) as raised:
        mongo.seed("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300", "x")
    message = str(raised.value)
    assert message.startswith("cannot reach MongoDB at mongodb://127.0.0.1:9")
    # Not the driver's topology dump.
    assert "\n" not in message and "Topology" not in message and len(message) < 120


def test_missing_mongod_is_one_clear_line(monkeypatch):
    real_import = builtins.__import__

    def no_fiftyone(name, *args, **kwargs):
        if name.startswith("fiftyone"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(mongo.shutil, "which", lambda name: None)
    monkeypatch.setattr(builtins, "__import__", no_fiftyone)
    with pytest.raises(mongo.MongoError) as error:
        mongo.find_mongod()
    assert "mongod not found" in str(error.value) and "\n" not in str(error.value)


def test_redact_hides_passwords():
    assert mongo.redact("mongodb://u:secret@h:1/db") == "mongodb://u:***@h:1/db"
    assert mongo.redact("mongodb://h:1") == "mongodb://h:1"
