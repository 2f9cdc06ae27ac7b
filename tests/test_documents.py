import hashlib
import json

import bson
import orjson
import pytest

from suite.record import documents


def test_documents_are_deterministic():
    assert documents.build_documents() == documents.build_documents()
    assert documents.expected_bodies() == documents.expected_bodies()


def test_sizes_match_the_2014_study():
    docs = documents.build_documents()
    assert 50 <= len(bson.encode(docs["small"])) <= 60
    assert 6000 <= len(bson.encode(docs["large"])) <= 6600


def test_large_document_shape():
    large = documents.build_documents()["large"]
    assert len(large["my"]) == 6
    for person in large["my"]:
        assert len(person) == 21
        assert len(person["tags"]) == 7
        assert len(person["friends"]) == 3
        assert all(set(friend) == {"id", "name"} for friend in person["friends"])


def test_served_body_drops_only_id():
    small = documents.build_documents()["small"]
    assert documents.served_body(small) == {"canonicalUrl": small["canonicalUrl"]}


def test_canonical_json_is_compact_and_orjson_identical():
    for name, doc in documents.build_documents().items():
        body = documents.served_body(doc)
        encoded = documents.canonical_json(body)
        assert len(encoded) < len(json.dumps(body).encode())  # no separator whitespace
        assert json.loads(encoded) == body
        # Servers encode with orjson: the bytes must be the ones the verifier expects.
        assert orjson.dumps(body) == encoded, name


def test_the_served_bytes_are_pinned():
    # Verification and the load generators' body check compare every response with these bytes,
    # and runs compare only if they served the same ones: a change to the generator (seed,
    # words, field order, encoding) must fail here rather than pass unnoticed.
    bodies = documents.expected_bodies()
    assert {name: (len(body), hashlib.sha256(body).hexdigest()) for name, body in bodies.items()} \
        == {"small": (36, "bb5b38ef526232c3b812f758bae7c3e686044b1c4fd0b5863a2289430a608726"),
            "large": (5845, "a9cd55a2a9dbe35eb3110651815704719fb16afe3bed6fd6909d5ebab633fece")}


def test_the_suite_and_the_servers_name_the_same_write_collection():
    from servers import common

    assert documents.WRITE_COLLECTION == common.WRITE_COLLECTION
    assert documents.path(documents.WRITE) == "/items" and documents.path("small") == "/small"


def test_what_servers_accept_as_a_write():
    from servers import common

    assert common.parse_item(b'{"key":"1-1","canonicalUrl":"x"}') == {"key": "1-1",
                                                                      "canonicalUrl": "x"}
    for bad in (b"[1, 2]", b"not json", b'{"_id": "x"}', b"", b'"text"', b"3"):
        assert common.parse_item(bad) is None


@pytest.mark.parametrize("body", [
    b'{"a": 18446744073709551615}',              # beyond BSON's int64
    b'{"a\\u0000b": 1}',                          # NUL in a key
    b'{"$set": 1}',                              # an operator, not a field
    b'{"a": ' * 40 + b"1" + b"}" * 40,           # nested deeper than MongoDB stores
    b'{"a": "' + b"x" * 20000 + b'"}',           # bigger than an item may be
])
def test_bodies_mongodb_would_refuse_are_refused_first(body):
    from servers import common

    assert common.parse_item(body) is None


def test_every_accepted_item_encodes_to_bson():
    import bson

    from servers import common

    item = common.parse_item(b'{"key": "1-1", "n": -9223372036854775808, "deep": '
                             + b"[" * 30 + b"1" + b"]" * 30 + b"}")
    assert item is not None and bson.decode(bson.encode(item)) == item
