"""Where a server's connections sit: which worker process holds each established connection to
the port the load generator targets, read from /proc while a repeat runs.

A prefork server's workers share one listening socket; whichever accepts a connection keeps it
(with keep-alive, for the whole repeat), so how wrk's connections spread over the workers is
decided at connect time and differs from one server start to the next (119/81 of 200 on two
uvicorn workers in one run, 100/100 in the next). When req/s follows that spread, two
generators, or two repeats, can differ for that reason alone; the spread is recorded with every
repeat so the report can tell (suite.results.Spread).

How: the kernel lists every TCP socket of a network namespace in /proc/<pid>/net/tcp{,6} with
its state and inode; a process holds a socket when one of its /proc/<pid>/fd links names that
inode. An established socket on the server's port that no process holds is still in the listen
queue (accepted by the kernel, not yet by the server). The workers are the processes holding a
listening socket on the port that have no child holding one too (a master that forks workers
holds the listening socket but serves nothing); a single-process server is its own worker.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
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


def _port_sockets(pid: int, port: int) -> tuple[list[int], set[int]]:
    """The established sockets on local `port` (their inodes; 0: not accepted yet) and the
    inodes of the listening ones, in the network namespace of `pid`."""
    established: list[int] = []
    listening: set[int] = set()
    suffix = f":{port:04X}"
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # sl, local_address, rem_address, st, tx:rx, tr:when, retrnsmt, uid, timeout, inode
            if len(fields) < 10 or not fields[1].endswith(suffix):
                continue
            if fields[3] == ESTABLISHED:
                established.append(int(fields[9]))
            elif fields[3] == LISTEN:
                listening.add(int(fields[9]))
    return established, listening


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return inodes
    for name in names:
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def spread(pids: list[int], port: int, at_s: float) -> Spread | None:
    """The connections on `port` per worker among `pids` (most first) and those still queued;
    None when no process among them listens on the port."""
    if not pids:
        return None
    established, listening = _port_sockets(pids[0], port)
    held = {pid: _socket_inodes(pid) for pid in pids}
    listeners = {pid for pid, inodes in held.items() if inodes & listening}
    if not listeners:
        return None
    masters = {_parent(pid) for pid in listeners} & listeners
    workers = sorted(listeners - masters) or sorted(listeners)
    owner = {inode: pid for pid in workers for inode in held[pid]}
    elsewhere = {inode for pid in pids if pid not in workers for inode in held[pid]}
    counts = {pid: 0 for pid in workers}
    queued = passing = 0
    for inode in established:
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
