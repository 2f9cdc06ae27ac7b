"""What a runtime can do, declared once as data, and the one function that turns what a command
asks for into the refusals of the runtime that would run it.

Each runtime class carries a `Capabilities` value (LOCAL, DOCKER, PLACED below); nothing in the
runner or the CLI asks a runtime what it is or has by probing its attributes. A run records
its runtime's capabilities (results: `runtime_details.capabilities`), so a report can say what
a run did not measure and why (a placed run's connections per worker, for one).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Capabilities:
    # How the roles get their CPUs: "cpus", pinned to CPUs of this machine (--cpus, or the
    # default split: the server on CPUs of its own); "hosts", each role on a host of its own
    # (all of that host's CPUs: --cpus is not taken).
    pinning: str
    external_database: bool      # --mongo-url: a MongoDB the suite did not start
    deployments: bool            # --instances/--balancer: several instances behind nginx
    generators: tuple[str, ...]  # the load generators it runs (wrk; oha for open loop)
    writes: bool                 # --docs write: the database counts what each repeat wrote
    host_only_rows: bool         # free-threaded rows and other languages' toolchains
    connection_spread: bool      # connections per worker process, read in every execution
    local_ports: bool            # servers listen on this machine's ports (a busy one is refused)
    same_machine: bool           # every role on this machine (the calibration times its CPUs)
    # Why it lacks what it lacks: capability name -> the reason, in words for a refusal.
    why_not: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"pinning": self.pinning, "external_database": self.external_database,
                "deployments": self.deployments, "generators": list(self.generators),
                "writes": self.writes, "host_only_rows": self.host_only_rows,
                "connection_spread": self.connection_spread, "local_ports": self.local_ports,
                "same_machine": self.same_machine, "why_not": dict(self.why_not)}


LOCAL = Capabilities(pinning="cpus", external_database=True, deployments=True,
                     generators=("wrk", "oha"), writes=True, host_only_rows=True,
                     connection_spread=True, local_ports=True, same_machine=True)

DOCKER = Capabilities(
    pinning="cpus", external_database=True, deployments=True, generators=("wrk", "oha"),
    writes=True, host_only_rows=False, connection_spread=True, local_ports=True,
    same_machine=True,
    why_not={"host_only_rows": "their interpreter or toolchain is built on the host, not in "
                               "an image"})

PLACED = Capabilities(
    pinning="hosts", external_database=False, deployments=True, generators=("wrk", "oha"),
    writes=True, host_only_rows=False, connection_spread=False, local_ports=False,
    same_machine=False,
    why_not={"pinning": "pinning is per machine: each role has its host",
             "external_database": "the db host's engine runs the database",
             "host_only_rows": DOCKER.why_not["host_only_rows"],
             "connection_spread": "the server's processes run on another engine, whose /proc "
                                  "is not read yet",
             "local_ports": "the servers listen on the server host's ports",
             "same_machine": "the roles run on other machines than the suite's, whose CPUs "
                             "it does not time"})


@dataclass(frozen=True)
class Request:
    """What a command asks of its runtime, from its arguments and profile."""

    cpus: bool = False                   # --cpus given
    external_database: bool = False      # --mongo-url
    deployments: bool = False            # --instances or --balancer
    generators: frozenset[str] = frozenset({"wrk"})   # every generator the run would start
    writes: bool = False                 # the write document among the profile's


def refusals(request: Request, capabilities: Capabilities) -> list[str]:
    """What of `request` the runtime cannot do, each as "<what was asked> (<why not>)"; [] when
    it can do all of it. (Rows only the local runtime runs are left out or refused per row:
    suite.cli.runnable, by `host_only_rows`.)"""
    why = capabilities.why_not
    found = []
    if request.cpus and capabilities.pinning != "cpus":
        found.append(("--cpus", "pinning"))
    if request.external_database and not capabilities.external_database:
        found.append(("--mongo-url", "external_database"))
    if request.deployments and not capabilities.deployments:
        found.append(("--instances/--balancer", "deployments"))
    missing = sorted(request.generators - set(capabilities.generators))
    if missing:
        found.append((", ".join(missing), "generators"))
    if request.writes and not capabilities.writes:
        found.append(("writes (--docs write)", "writes"))
    return [f"{what} ({why[name]})" if name in why else what for what, name in found]
