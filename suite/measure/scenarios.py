"""What a cell measures, as small objects the runner calls through hooks: reads (the 2014 core),
writes (POST /items, counted in the database after every repeat) and open loop (reads at a
fixed rate, with oha). A new scenario is a class here and what it needs of its generator, not
branches through the runner (docs/architecture.md lists the files each one touches).

The hooks, in the order a run calls them (the base class does nothing in each):
- options                   its command-line options (`battle run`), recorded with the run
- refusal(generators)       before anything starts: a generator it cannot be measured with
- settings(settings, ...)   each variant's settings for this run, given the options' values
- fail_point_commands       the commands a database made slow delays
- set_up(db, stack)         the database, once, before any server starts
- checks()                  its own verification of every server started
- load(server, raw)         right before one execution: the generator's extra arguments
- count(sample, load)       right after it: what the database counted of it
- unread(cell, sample)      after a counted repeat: why its cell fails (None: it stands)
"""

from __future__ import annotations

import json
import re
import secrets
from contextlib import ExitStack
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from suite.measure import progress
from suite.measure.bringup import Check
from suite.measure.database import RunDatabase, ignore_mongo_errors, mongo_call
from suite.measure.loadgen import LoadGenError
from suite.measure.http import post
from suite.measure.runtime import Server
from suite.measure.verify import is_json
from suite.record import documents, results, stats
from suite.record.profiles import Profile, rate_spec
from suite.record.results import Cell, DatabaseOps, Sample, VariantResult, VerificationCheck


@dataclass(frozen=True)
class Option:
    """A scenario's own option of `battle run` (and `sweep`, `crosscheck`): the CLI adds it,
    the request carries its value (RunRequest.scenario_options), a resume refuses another."""
    dest: str
    flag: str
    choices: tuple[str, ...]
    default: str
    help: str
    what: str          # how a refused --resume names it


class Scenario:
    """Reads of a stored document, closed loop: every connection sends its next request when
    the last one is answered."""

    options: tuple[Option, ...] = ()

    closed_loop = True    # warmed up and crosschecked; a failed repeat ends its cell
    rate_driven = False   # loaded by the run's open-loop generator, at rate()
    expects_body = True   # responses are compared with the verified bytes of the document

    def refusal(self, generators: set[str]) -> str | None:
        return None

    def settings(self, settings: dict, options: dict[str, str]) -> dict:
        return settings

    @property
    def fail_point_commands(self) -> tuple[str, ...]:
        return ("find",)

    def set_up(self, db: RunDatabase, stack: ExitStack) -> None:
        pass

    def checks(self) -> list[Check]:
        return []

    def load(self, raw: Path) -> dict:
        return {}

    def count(self, sample: Sample, load: dict) -> None:
        pass

    def unread(self, cell: Cell, sample: Sample) -> str | None:
        """Why a read repeat shows a server that answered without asking MongoDB (None: it
        asked, or nothing could be counted)."""
        per = sample.finds_per_ok
        if per is None or per >= DatabaseOps.FINDS_PER_READ:
            return None
        return (f"not a read of the database: MongoDB counted {sample.database.finds:,} finds "
                f"for {sample.ok_requests:,} successful responses in repeat "
                f"{len(cell.repeats)} ({per:.2f} per response; the contract asks one)")

    def rate(self, variant_result: VariantResult, cell: Cell) -> float | None:
        """Requests per second an execution of `cell` sends (None: as fast as answered)."""
        return None

    def repeat_text(self, sample: Sample) -> str:
        """What a progress line says of a repeat beyond its throughput and failures."""
        return (f", {sample.finds_per_ok:.2f} finds per response"
                if sample.finds_per_ok is not None else "")

    def repeat_line(self, position: str, title: str, number: int, sample: Sample,
                    rate: float | None) -> str:
        return progress.repeat_line(position, title, number, sample, self.repeat_text(sample))


class WriteScenario(Scenario):
    """POST /items at `write_concern`: each request a document with a key unique in the run;
    after every execution each acknowledged id is looked up and each key counted."""

    expects_body = False
    options = (Option("write_concern", "--write-concern", ("1", "majority"), "1",
                      "write concern of the servers' inserts, a recorded setting (default 1)",
                      "write concern"),)

    def __init__(self) -> None:
        self.items = None   # the write collection (pymongo), once set up

    def refusal(self, generators: set[str]) -> str | None:
        if generators == {"wrk"}:
            return None
        return ("writes (--docs write) are wrk's alone: each request posts a key unique in the "
                "run, which oha cannot vary (no --loadgen oha, --crosscheck or --rate with "
                "them)")

    def settings(self, settings: dict, options: dict[str, str]) -> dict:
        # A setting like any other: recorded with the variant, passed as
        # BATTLE_WRITE_CONCERN (servers/common.py).
        [concern] = self.options
        return {**settings, concern.dest: options.get(concern.dest, concern.default)}

    @property
    def fail_point_commands(self) -> tuple[str, ...]:
        # Writes wait as long as reads: a distant database delays every query.
        return ("insert",)

    def set_up(self, db: RunDatabase, stack: ExitStack) -> None:
        client = MongoClient(db.url, serverSelectionTimeoutMS=5000)
        stack.callback(client.close)
        self.items = client[db.name][documents.WRITE_COLLECTION]
        mongo_call(self.items.drop)
        # Whatever ends the run, the posted documents go (with --mongo-url they would
        # otherwise stay in someone's database); never an error on the way out.
        stack.callback(ignore_mongo_errors, self.items.drop)

    def checks(self) -> list[Check]:
        return [lambda server: check_write(server, self.items)]

    def load(self, raw: Path) -> dict:
        # Each execution starts on an empty collection (the count after it is its alone), and
        # its documents carry its tag: inserts of an earlier one that a server was still
        # finishing are not counted as this one's.
        mongo_call(self.items.drop)
        return {"write_ids": raw.with_suffix(".ids"),
                "write_run": f"{raw.stem}-{secrets.token_hex(4)}"}

    def count(self, sample: Sample, load: dict) -> None:
        mongo_call(lambda: count_writes(self.items, sample, load["write_ids"],
                                        load["write_run"]))

    def unread(self, cell: Cell, sample: Sample) -> str | None:
        return None

    def repeat_text(self, sample: Sample) -> str:
        return ""


class OpenLoopScenario(Scenario):
    """Reads at a fixed rate whatever the answers (oha): requests per second as given, or a
    share of the closed-loop capacity this run measured for the same cell."""

    closed_loop = False
    rate_driven = True
    generator = "oha"   # wrk has no rate

    def rate(self, variant_result: VariantResult, cell: Cell) -> float:
        """Requests per second for the open-loop `cell`."""
        value, share = rate_spec(cell.rate or "")
        if not share:
            return value
        closed = variant_result.cell(cell.doc, cell.connections, cell.db_latency_ms)
        capacity = stats.median([s.ok_rps for s in closed.repeats]) if closed else None
        if not capacity:
            raise LoadGenError(f"rate {cell.rate} of what? {closed.label if closed else cell.doc} "
                               "has no closed-loop measurement in this run")
        return round(value * capacity, 1)

    def repeat_line(self, position: str, title: str, number: int, sample: Sample,
                    rate: float | None) -> str:
        return progress.rate_line(position, title, number, sample, rate)


# Every scenario's options, in the order `battle run --help` lists them.
OPTIONS: tuple[Option, ...] = (*Scenario.options, *WriteScenario.options,
                               *OpenLoopScenario.options)


class RunScenarios:
    """The scenarios a profile's cells ask for, and each cell's."""

    def __init__(self, profile: Profile):
        self.reads = Scenario()
        self.writes = WriteScenario() if documents.WRITE in profile.docs else None
        self.open_loop = OpenLoopScenario() if profile.rates else None
        self.active = [s for s in (self.reads, self.writes, self.open_loop) if s is not None]
        self.read_docs = tuple(d for d in profile.docs if d != documents.WRITE)

    def of(self, cell: Cell) -> Scenario:
        if cell.rate is not None:
            return self.open_loop
        return self.writes if cell.doc == documents.WRITE else self.reads

    def refusal(self, generators: set[str]) -> str | None:
        return next((why for s in self.active if (why := s.refusal(generators))), None)

    def settings(self, settings: dict, options: dict[str, str]) -> dict:
        for scenario in self.active:
            settings = scenario.settings(settings, options)
        return settings

    @property
    def fail_point_commands(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for s in self.active for c in s.fail_point_commands))

    def set_up(self, db: RunDatabase, stack: ExitStack) -> None:
        for scenario in self.active:
            scenario.set_up(db, stack)

    def checks(self) -> list[Check]:
        return [check for s in self.active for check in s.checks()]

    @property
    def primer_doc(self) -> str:
        """What primes a server: the run's first read (/plain when it only writes: nothing to
        clean up after it)."""
        return next(iter(self.read_docs), "plain")


def count_writes(items, sample: Sample, ids_path: Path, run_tag: str) -> None:
    """After a write run: every acknowledged id looked up in the collection, and every document
    of this execution counted with its request's key (a key stored twice is a duplicate). The
    ids files go once counted: a repeat's are megabytes, and their count stays in the results."""
    files = sorted(ids_path.parent.glob(f"{ids_path.name}.*"))
    try:
        ids = [ObjectId(line) for path in files for line in path.read_text().split()]
    except (OSError, InvalidId) as exc:
        raise LoadGenError(f"the write run left no readable ids ({ids_path}.*): {exc}") from None
    if not files and sample.requests:
        raise LoadGenError(f"the write run left no ids ({ids_path}.*)")
    found = sum(items.count_documents({"_id": {"$in": ids[i:i + 10_000]}})
                for i in range(0, len(ids), 10_000))
    # One pass, so both numbers describe the same documents (inserts the server was still
    # finishing may land meanwhile: they add to both).
    totals = list(items.aggregate([
        {"$match": {"run": run_tag}},
        {"$group": {"_id": "$key", "n": {"$sum": 1}}},
        {"$group": {"_id": None, "distinct": {"$sum": 1}, "stored": {"$sum": "$n"}}}]))
    stored, distinct = (totals[0]["stored"], totals[0]["distinct"]) if totals else (0, 0)
    sample.writes = results.Writes(acknowledged=len(ids), found=found, stored=stored,
                                   distinct=distinct)
    sample.errors["lost-write"] = sample.writes.lost + sample.writes.duplicated
    for path in files:
        path.unlink(missing_ok=True)


# Not a JSON object, not JSON, an _id of its own, nothing, and one MongoDB could not store (a
# server that passes it to the driver answers 500): each must be a 400 with nothing inserted.
BAD_ITEMS = (b"[1, 2]", b"not json", b'{"_id": "x", "canonicalUrl": "x"}', b"",
             b'{"canonicalUrl": "x", "n": 18446744073709551615}')


def check_write(server: Server, items) -> VerificationCheck:
    """POST /items: a JSON object is inserted as given and answered 201 with {"id": "<hex>"},
    readable after under that id; a body that is not a JSON object without `_id` is answered 400
    (JSON) and inserts nothing. `items`: the write collection (pymongo), read to check."""
    item = {"key": f"verify-{secrets.token_hex(8)}", "canonicalUrl": "https://t.co/bttl"}
    try:
        before = items.count_documents({})
        response = post(server.host, server.port, "/items", json.dumps(item).encode())
        if response.status != 201 or not is_json(response.content_type):
            return VerificationCheck("POST /items", False, f"status {response.status}, "
                                     f"Content-Type {response.content_type!r}, expected 201 "
                                     f"JSON: {response.body[:120]!r}")
        # Exactly the bytes the load generator accepts (suite/measure/wrk/report.lua): compact JSON.
        if not re.fullmatch(rb'\{"id":"[0-9a-f]{24}"\}', response.body):
            return VerificationCheck("POST /items", False, f"answered {response.body[:120]!r}, "
                                     'expected exactly {"id":"<24 hex digits>"}')
        new_id = json.loads(response.body)["id"]
        stored = items.find_one({"_id": ObjectId(new_id)})
        if stored is None or {k: v for k, v in stored.items() if k != "_id"} != item:
            return VerificationCheck("POST /items", False, f"document {new_id} stored as "
                                     f"{stored!r}, expected {item!r}")
        for bad in BAD_ITEMS:
            refused = post(server.host, server.port, "/items", bad)
            if refused.status != 400 or not is_json(refused.content_type):
                return VerificationCheck("POST /items", False, f"body {bad!r} answered "
                                         f"{refused.status}, expected 400 JSON")
        inserted = items.count_documents({}) - before
    except (OSError, HTTPException) as exc:
        return VerificationCheck("POST /items", False, f"request failed: {exc}")
    except PyMongoError as exc:
        return VerificationCheck("POST /items", False, f"reading the collection failed: "
                                 f"{type(exc).__name__}")
    if inserted != 1:
        return VerificationCheck("POST /items", False, f"{inserted} documents inserted by one "
                                 f"good and {len(BAD_ITEMS)} refused posts, expected 1")
    return VerificationCheck("POST /items", True, "201 with the id, stored as posted; "
                             f"{len(BAD_ITEMS)} bad bodies refused with 400, nothing inserted")
