"""The embedded MongoDB: a real mongod, started, seeded and stopped without leftovers."""

import pytest
from pymongo import MongoClient

from suite.measure import mongo
from suite.record import documents
from suite.measure.procs import group_members

pytestmark = pytest.mark.integration


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
