"""What a command asks for, typed, built once from its parsed arguments: which runtime
(RuntimeChoice) and, for `run`, `sweep` and `crosscheck`, the whole run (RunRequest). The
parser gives every command that takes an option the same default, so nothing downstream asks
whether an option exists."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from pathlib import Path

from suite.measure import scenarios


@dataclass(frozen=True)
class RuntimeChoice:
    """The runtime options: --runtime, --images, --memory, --hosts (and the catalog images
    are built from)."""
    runtime: str | None
    images: str | None
    memory: tuple[str, ...]
    hosts: Path | None
    catalog: Path

    @property
    def flag(self) -> str:
        """How the command line chose its runtime, for a refusal's first words."""
        return "--hosts" if self.hosts else f"--runtime {self.runtime}"

    @classmethod
    def of(cls, args: argparse.Namespace) -> RuntimeChoice:
        given = vars(args)
        return cls(runtime=given["runtime"], images=given["images"],
                   memory=tuple(given["memory"]), hosts=given["hosts"], catalog=given["catalog"])


@dataclass(frozen=True)
class RunRequest:
    """A run as `battle run`, `battle sweep` or `battle crosscheck` asks for it (the options
    of `battle run --help`; None: the profile's value)."""
    command: str
    variants: tuple[str, ...]
    catalog: Path
    profile: str
    runtime: str
    images: str | None
    memory: tuple[str, ...]
    hosts: Path | None
    docs: tuple[str, ...] | None
    connections: tuple[int, ...] | None
    db_latency: tuple[int, ...] | None
    duration: int | None
    warmup: int | None
    repeats: int | None
    timeout: int | None
    instances: tuple[int, ...] | None
    balancer: str | None
    cpus: tuple[str, ...]
    unpinned: bool
    sequential: bool
    mongo_url: str | None
    database: str
    port: int | None
    out: Path
    reports: Path
    plan: bool
    resume: str | None
    loadgen: str
    crosscheck: str | None
    rate: tuple[str, ...] | None
    slo: str | None
    rates_for: str
    set: tuple[str, ...]          # sweep: NAME=V1,V2,...
    argv: tuple[str, ...]         # the command line as given (recorded to reproduce the run)
    # The scenarios' own options (suite.measure.scenarios.OPTIONS), dest -> value.
    scenario_options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, args: argparse.Namespace) -> RunRequest:
        given = vars(args)
        values = {f.name: given[f.name] for f in fields(cls) if f.name != "scenario_options"}
        for name in ("variants", "memory", "cpus", "set", "argv"):
            values[name] = tuple(values[name] or ())
        return cls(**values,
                   scenario_options=tuple((o.dest, given[o.dest]) for o in scenarios.OPTIONS))

    @property
    def runtime_choice(self) -> RuntimeChoice:
        return RuntimeChoice(runtime=self.runtime, images=self.images, memory=self.memory,
                             hosts=self.hosts, catalog=self.catalog)

    @property
    def generators(self) -> tuple[str, str | None]:
        """(the generator of every repeat, the crosscheck's): `battle crosscheck` is wrk
        then oha."""
        if self.command == "crosscheck":
            return "wrk", "oha"
        return self.loadgen, self.crosscheck
