"""The two documents every server returns, generated deterministically.

The shapes follow the 2014 study this suite revisits: a small `{_id, canonicalUrl}` document
(~55 B of BSON) and a large one holding six "person" objects of 21 fields each (~6.3 KB).
Nothing is random at run time: a fixed seed gives the same bytes on every machine, so
"the same document" means the same bytes in every results file.
"""

from __future__ import annotations

import json
import random
from typing import Any

DOCUMENT_NAMES = ("small", "large")
# The third kind of cell: each request POSTs a small new document to /items, which the server
# inserts (servers/common.py); the suite counts the collection after every repeat.
WRITE = "write"
WRITE_COLLECTION = "items"
WRITE_PATH = "/items"
# What the load generator posts (suite/measure/wrk/report.lua): the wrk execution's tag and a key
# unique within it.
WRITE_BODY_EXAMPLE = b'{"run":"write-c200-r1-0a1b2c3d","key":"1-1","canonicalUrl":"https://t.co/bttl"}'
TITLES = {"small": "Small document", "large": "Large document", WRITE: "Writes"}


def path(doc: str) -> str:
    """The URL path a cell of `doc` loads: /small, /large, or /items (writes)."""
    return WRITE_PATH if doc == WRITE else f"/{doc}"


def doc_title(doc: str, lower: bool = False) -> str:
    """"Small document" (or "small document"), the one name reports and charts give it."""
    title = TITLES.get(doc, doc)
    return title[0].lower() + title[1:] if lower else title
COLLECTION = "documents"
SEED = 2014

_WORDS = (
    "lorem ipsum dolor sit amet consectetur adipisicing elit sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris "
    "nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate velit esse "
    "cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui "
    "officia deserunt mollit anim id est laborum"
).split()
_FIRST = ("Alvarez", "Bianca", "Carver", "Delia", "Emerson", "Flores", "Gwen", "Hobbs", "Ines")
_LAST = ("Moran", "Nash", "Oneal", "Pruitt", "Quinn", "Rowe", "Sykes", "Tate", "Ursula")
_COMPANIES = ("ZENTRY", "QUILK", "OVOLO", "PLASMOX", "GEEKWAGON", "ISOTRONIC", "VORTEXACO")
_STREETS = ("Dover Street", "Bay Parkway", "Lenox Road", "Heath Place", "Kensington Walk")
_CITIES = ("Alamo, Utah", "Brandywine, Kansas", "Cressey, Ohio", "Dupuyer, Maine")
_FRUITS = ("apple", "banana", "strawberry")
_EYES = ("blue", "brown", "green")


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(count))


def _person(rng: random.Random, index: int) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    company = rng.choice(_COMPANIES)
    guid = "-".join(
        "".join(rng.choice("0123456789abcdef") for _ in range(n)) for n in (8, 4, 4, 4, 12)
    )
    return {
        "id": index,
        "guid": guid,
        "isActive": rng.random() < 0.5,
        # A string, as the study's generator wrote it; it also keeps float formatting out of
        # the "identical bytes from every server" requirement.
        "balance": f"${rng.randint(1, 3)},{rng.randint(100, 999)}.{rng.randint(10, 99)}",
        "picture": "http://placehold.it/32x32",
        "age": rng.randint(20, 40),
        "eyeColor": rng.choice(_EYES),
        "name": f"{first} {last}",
        "gender": rng.choice(("male", "female")),
        "company": company,
        "email": f"{first.lower()}{last.lower()}@{company.lower()}.com",
        "phone": f"+1 ({rng.randint(800, 999)}) {rng.randint(400, 599)}-{rng.randint(1000, 9999)}",
        "address": f"{rng.randint(100, 999)} {rng.choice(_STREETS)}, {rng.choice(_CITIES)}, "
        f"{rng.randint(1000, 9999)}",
        "about": _words(rng, 42).capitalize() + ".",
        "registered": f"20{rng.randint(10, 14)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        f"T0{rng.randint(0, 9)}:1{rng.randint(0, 9)}:2{rng.randint(0, 9)} -01:00",
        # Six decimals: Python's json and orjson print these identically.
        "latitude": round(rng.uniform(-90, 90), 6),
        "longitude": round(rng.uniform(-180, 180), 6),
        "tags": [rng.choice(_WORDS) for _ in range(7)],
        "friends": [{"id": i, "name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"} for i in range(3)],
        "greeting": f"Hello, {first} {last}! You have {rng.randint(1, 10)} unread messages.",
        "favoriteFruit": rng.choice(_FRUITS),
    }


def build_documents() -> dict[str, dict[str, Any]]:
    """Both documents as stored in MongoDB (with `_id`), in a fixed key order."""
    rng = random.Random(SEED)
    return {
        "small": {"_id": "small", "canonicalUrl": "https://t.co/bttl"},
        "large": {"_id": "large", "my": [_person(rng, i) for i in range(6)]},
    }


def served_body(document: dict[str, Any]) -> dict[str, Any]:
    """What a server returns for a stored document: everything but `_id`, order kept."""
    return {key: value for key, value in document.items() if key != "_id"}


def canonical_json(body: dict[str, Any]) -> bytes:
    """The exact bytes every server must send: compact JSON, keys in stored order, UTF-8."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def expected_bodies() -> dict[str, bytes]:
    return {name: canonical_json(served_body(doc)) for name, doc in build_documents().items()}


PLAIN_BODY = {"message": "Hello, World!"}
