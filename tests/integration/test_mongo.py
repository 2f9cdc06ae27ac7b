"""The embedded MongoDB: a real mongod, started, seeded and stopped without leftovers."""

import builtins

import pytest
from pymongo import MongoClient

from suite import documents, mongo
from suite.procs import group_members


def test_embedded_mongod_lifecycle(tmp_path):
    with mongo.EmbeddedMongo(tmp_path / "mongod.log") as mongod:
        pid, dbpath = mongod.pid, mongod._dbpath
        assert dbpath.is_dir()
        info = mongo.seed(mongod.url, "lifecycle")
        assert info.version.count(".") == 2
        assert info.bson_sizes["small"] < 64 < 6000 < info.bson_sizes["large"]
        stored = MongoClient(mongod.url)["lifecycle"][documents.COLLECTION].find_one({"_id": "large"})
        assert stored == documents.build_documents()["large"]
    assert not group_members(pid)
    assert not dbpath.exists()


def test_seed_touches_only_its_database(mongo_url):
    client = MongoClient(mongo_url)
    client["someone_else"]["data"].insert_one({"keep": True})
    mongo.seed(mongo_url, "battle_other")
    mongo.seed(mongo_url, "battle_other")  # idempotent
    assert client["battle_other"][documents.COLLECTION].count_documents({}) == 2
    assert client["someone_else"]["data"].count_documents({"keep": True}) == 1


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
