"""Where a server's connections sit: which worker process holds each established connection to
the port the load generator targets, read from /proc while a repeat runs.

A prefork server's workers share one listening socket; whichever accepts a connection keeps it
(with keep-alive, for the whole repeat), so how wrk's connections spread over the workers is
decided at connect time and differs from one server start to the next (119/81 of 200 on two
uvicorn workers in one run, 100/100 in the next). When req/s follows that spread, two
generators, or two repeats, can differ for that reason alone; the spread is recorded with every
repeat so the report can tell (suite.record.results.Spread).

How: the kernel lists every TCP socket of a network namespace in /proc/<pid>/net/tcp{,6} with
its state and inode; a process holds a socket when one of its /proc/<pid>/fd links names that
inode. An established socket on the server's port that no process holds is still in the listen
queue (accepted by the kernel, not yet by the server). The workers are the processes holding a
listening socket on the port that have no child holding one too (a master that forks workers
holds the listening socket but serves nothing); a single-process server is its own worker.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from suite.measure.procs import all_group_stats
from suite.measure.resources import Cgroup
from suite.record.results import Spread

ESTABLISHED, LISTEN = "01", "0A"


def pids_of(watches: Iterable[object]) -> list[int]:
    """The processes of what resource sampling watches: process groups (local runtime) or
    containers' cgroups (docker), alone or in lists (a deployment's instances)."""
    flat: list[object] = []
    for watch in watches:
        flat.extend(watch if isinstance(watch, list) else [watch])
    groups = {w for w in flat if isinstance(w, int)}
    pids = {pid for group in all_group_stats(groups).values() for pid in group} if groups else set()
    for watch in flat:
        if isinstance(watch, Cgroup):
            try:
                pids.update(int(p) for p in watch.procs.read_text().split())
            except (OSError, ValueError):
                pass
    return sorted(pids)


@dataclass
class Snapshot:
    """What /proc says of a port at one moment: the TCP sockets on it in the namespace of the
    processes (established: their inodes, 0 for one not accepted yet; listening: their
    inodes) and, per process, the socket inodes it holds and its parent."""

    established: list[int] = field(default_factory=list)
    listening: set[int] = field(default_factory=set)
    held: dict[int, set[int]] = field(default_factory=dict)
    parents: dict[int, int | None] = field(default_factory=dict)


def _port_sockets(tables: Iterable[str], port: int, snapshot: Snapshot) -> None:
    """The sockets on local `port` in the text of /proc/net/tcp and tcp6, into `snapshot`."""
    suffix = f":{port:04X}"
    for table in tables:
        for line in table.splitlines()[1:]:
            fields = line.split()
            # sl, local_address, rem_address, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode
            if len(fields) < 10 or not fields[1].endswith(suffix) or not fields[9].isdigit():
                continue
            if fields[3] == ESTABLISHED:
                snapshot.established.append(int(fields[9]))
            elif fields[3] == LISTEN:
                snapshot.listening.add(int(fields[9]))


SOCKET_LINK = re.compile(r"socket:\[(\d+)\]$")


def _socket_inode(target: str) -> int | None:
    """The inode a file descriptor's link names when it is a socket (`socket:[123]`)."""
    found = SOCKET_LINK.search(target)
    return int(found.group(1)) if found else None


def _parent_in(stat: str) -> int | None:
    """The parent's pid in the text of /proc/<pid>/stat (the name may hold spaces and ')')."""
    try:
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (IndexError, ValueError):
        return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def snapshot_here(pids: list[int], port: int) -> Snapshot:
    """The snapshot of `pids` (the namespace of the first) read from this machine's /proc."""
    snapshot = Snapshot()
    _port_sockets((_read(f"/proc/{pids[0]}/net/{name}") for name in ("tcp", "tcp6")), port,
                  snapshot)
    for pid in pids:
        inodes: set[int] = set()
        fd_dir = f"/proc/{pid}/fd"
        try:
            names = os.listdir(fd_dir)
        except OSError:
            names = []
        for name in names:
            try:
                inode = _socket_inode(os.readlink(f"{fd_dir}/{name}"))
            except OSError:
                continue
            if inode is not None:
                inodes.add(inode)
        snapshot.held[pid] = inodes
        snapshot.parents[pid] = _parent_in(_read(f"/proc/{pid}/stat"))
    return snapshot


def spread(pids: list[int], port: int, at_s: float) -> Spread | None:
    """The connections on `port` per worker among `pids`, read here; None as spread_of."""
    return spread_of(snapshot_here(pids, port), at_s) if pids else None


def spread_of(snapshot: Snapshot, at_s: float) -> Spread | None:
    """The connections on the port per worker (most first) and those still queued; None when
    no process of the snapshot listens on the port."""
    held = snapshot.held
    listeners = {pid for pid, inodes in held.items() if inodes & snapshot.listening}
    if not listeners:
        return None
    masters = {snapshot.parents.get(pid) for pid in listeners} & listeners
    workers = sorted(listeners - masters) or sorted(listeners)
    owner = {inode: pid for pid in workers for inode in held[pid]}
    elsewhere = {inode for pid in held if pid not in workers for inode in held[pid]}
    counts = {pid: 0 for pid in workers}
    queued = passing = 0
    for inode in snapshot.established:
        if inode in owner:
            counts[owner[inode]] += 1
        elif inode == 0:        # no file yet: the server has not accepted it
            queued += 1
        elif inode not in elsewhere:
            # Accepted, but no worker held it when its descriptors were read a moment later:
            # a connection that opened and closed in between (servers without keep-alive).
            passing += 1
    return Spread(workers=sorted(counts.values(), reverse=True), queued=queued,
                  at_s=round(at_s, 2), passing=passing)


def listen_drops(pid: int | None = None) -> int | None:
    """Connection attempts the kernel has dropped so far because a listen queue was full
    (TcpExt ListenDrops, in the network namespace of `pid`, or this process's): a client whose
    SYN was dropped retries after 1, 3, 7, 15 s, so a full accept queue shows up as latency
    tails and late or lost requests, never as connect errors. None where it cannot be read."""
    path = f"/proc/{pid}/net/netstat" if pid else "/proc/net/netstat"
    try:
        return parse_listen_drops(Path(path).read_text())
    except OSError:
        return None


def parse_listen_drops(netstat: str) -> int | None:
    """ListenDrops from the text of /proc/net/netstat."""
    lines = netstat.splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:]))
            return int(table["ListenDrops"]) if "ListenDrops" in table else None
    return None
