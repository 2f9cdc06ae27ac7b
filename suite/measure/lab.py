"""A lab of three hosts on this machine, each with its own Docker engine, to run and test placed
runs (`battle run --hosts`) where there are no three machines.

Each host is a network namespace of the project's own (`battle-client`, `battle-server`,
`battle-db`) joined by a veth pair to one bridge in a fourth namespace, the switch (`battle-lab`).
The machine's namespace joins the switch too (`battlelab0`, the controller's address .1): the
suite process reaches every host as it would reach three VMs from a fourth. The bridge lives in
a namespace of its own because this machine's firewall (Docker's FORWARD policy DROP, with
bridged frames passed through iptables) would drop host-to-host frames on a bridge here; the
lab changes no rule of the machine's. In each namespace runs a `dockerd` of its own (own data root, exec root
and socket under LAB_DIR), started with `nsenter --net=` so it sees this machine's cgroup mounts
(`ip netns exec` remounts /sys and hides them). The engines use vfs storage and no bridge,
iptables or NAT: every container of a placed run uses the host network, i.e. its host's
namespace and address. `battle lab up` writes LAB_DIR/hosts.toml for `--hosts`.

The engines are reached as a user reaches three VMs: over ssh. Each host runs an `sshd` of
its own, bound to its address in its namespace, with a host key the lab generates; the lab
generates the controller's key, authorizes it on every host, and writes a client configuration
for the lab's addresses only (CLIENT_CONFIG: the key, the hosts' keys as known hosts, batch
mode), so hosts.toml's engines are `ssh://root@<address>`. Docker over ssh runs `docker system
dial-stdio` on the far side, which talks to the engine DOCKER_HOST names: the hosts share this
machine's filesystem (and its default socket, the machine's own engine), so each sshd gives its
logins DOCKER_HOST = its own engine's socket (sshd_config SetEnv). SOCKETS_FILE names the same
engines by their sockets, for what needs no ssh.

What the lab shows and what it does not (docs/placement.md): the roles' traffic crosses real
network stacks (veth, bridge) between addresses of their own, each engine runs, limits and
accounts its own containers, and the suite drives them exactly as remote engines. But the three
hosts share this machine's CPUs, memory and kernel: the lab separates addresses and engines, not
machines. Its links can be rate-limited with `tc tbf` (`--rate`); this kernel has no netem, so
no added delay.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from suite.measure import command
from suite.measure.command import CommandError
from suite.measure.text import last_line

LAB_DIR = Path(os.environ.get("BATTLE_LAB_DIR", "/run/battle-lab"))
HOSTS_FILE = LAB_DIR / "hosts.toml"          # engines over ssh://, as three VMs are reached
SOCKETS_FILE = LAB_DIR / "hosts-sockets.toml"   # the same engines by their unix sockets
SSH_DIR = LAB_DIR / "ssh"                    # the controller's key, known hosts, authorized keys
# ssh's system-wide configuration includes this directory (Debian's /etc/ssh/ssh_config); the
# file names the lab's addresses only, and `battle lab down` removes it.
CLIENT_CONFIG = Path("/etc/ssh/ssh_config.d/battle-lab.conf")
SSHD = "/usr/sbin/sshd"
SWITCH = "battle-lab"      # the namespace holding the bridge
BRIDGE = "br0"            # the bridge, inside SWITCH
UPLINK = "battlelab0"     # the controller's link to the switch, in this machine's namespace
SUBNET = "10.78.0"      # a private /24 of the project's own
CONTROLLER = f"{SUBNET}.1"
ROLES = ("client", "server", "db")
ADDRESSES = {"client": f"{SUBNET}.11", "server": f"{SUBNET}.12", "db": f"{SUBNET}.13"}
READY_S = 60
# Set in every lab host, as on a load-generating machine: a client that opens a connection per
# request (a server without keep-alive) leaves one TIME_WAIT socket per request, and with the
# default tcp_tw_reuse=2 (loopback only) it may not reuse their ports, so past ~28k connections a
# minute connect() scans a full port range (measured here: wrk's CPU 4-7x, flask-gunicorn-sync
# at 0.5x after a 200-connection cell). On one machine the suite runs over loopback, where the
# default already reuses them. Recorded per host (placement: tcp).
HOST_SYSCTLS = {"net.ipv4.tcp_tw_reuse": "1"}


class LabError(Exception):
    """The lab cannot be brought up (or down) here; one line says why."""


@dataclass(frozen=True)
class LabHost:
    role: str

    @property
    def netns(self) -> str:
        return f"battle-{self.role}"

    @property
    def address(self) -> str:
        return ADDRESSES[self.role]

    @property
    def port(self) -> str:
        return self.role                 # the switch's end of its link; the host's is eth0

    @property
    def home(self) -> Path:
        return LAB_DIR / self.role

    @property
    def socket(self) -> Path:
        return self.home / "docker.sock"

    @property
    def engine(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        return self.home / "dockerd.pid"

    @property
    def ssh_engine(self) -> str:
        """The engine as a user with three VMs names it: Docker's own ssh scheme."""
        return f"ssh://root@{self.address}"

    @property
    def sshd_pidfile(self) -> Path:
        return self.home / "sshd.pid"


HOSTS = tuple(LabHost(role) for role in ROLES)


def _run(argv: list[str], *, timeout: float = 60, check: bool = True
         ) -> subprocess.CompletedProcess:
    try:
        done = command.run(argv, timeout=timeout)
    except CommandError as exc:
        raise LabError(str(exc)) from None
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {last_line(done.stderr or done.stdout)}")
    return done


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(["ip", *args], check=check)


def _in(netns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return _run(["nsenter", f"--net=/var/run/netns/{netns}", *argv], check=check)


def _sw(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return _in(SWITCH, *argv, check=check)


def _namespaces() -> set[str]:
    done = _ip("-json", "netns", "list", check=False)
    try:
        return {entry["name"] for entry in json.loads(done.stdout or "[]")}
    except (json.JSONDecodeError, KeyError, TypeError):
        return set()


def _pid_of(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _dockerd_pid(host: LabHost) -> int | None:
    return _pid_of(host.pidfile)


def _sshd_pid(host: LabHost) -> int | None:
    return _pid_of(host.sshd_pidfile)


def require() -> None:
    """Root, ip, nsenter, dockerd, tc: the lab needs them all; one line names what is missing."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, a bridge, Docker engines)")
    for tool, package in (("ip", "iproute2"), ("nsenter", "util-linux"),
                          ("dockerd", "docker.io"), ("tc", "iproute2"), (SSHD, "openssh-server"),
                          ("ssh", "openssh-client"), ("ssh-keygen", "openssh-client")):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} not found: apt-get install {package}")
    # Compose v1 (Debian's docker-compose, Python) reaches ssh:// engines through docker-py,
    # whose ssh transport imports paramiko even when it runs the system's `ssh`.
    compose = shutil.which("docker-compose")
    if compose and Path(compose).read_bytes()[:40].startswith(b"#!/usr/bin/python3") and \
            _run(["/usr/bin/python3", "-c", "import paramiko"], check=False).returncode != 0:
        raise LabError("docker-compose (v1) reaches the lab's ssh:// engines only with paramiko: "
                       "apt-get install python3-paramiko")


def up(rate: str | None = None) -> Path:
    """Bring the lab up (idempotent: what already runs is kept); write and return hosts.toml.
    `rate`: a tc tbf rate (e.g. "1gbit") on every host's link, both ways."""
    require()
    LAB_DIR.mkdir(parents=True, exist_ok=True)
    present = _namespaces()
    if SWITCH not in present:
        _ip("netns", "add", SWITCH)
    _sw("ip", "link", "set", "lo", "up")
    if _sw("ip", "link", "show", BRIDGE, check=False).returncode != 0:
        _sw("ip", "link", "add", BRIDGE, "type", "bridge")
    _sw("ip", "link", "set", BRIDGE, "up")
    if _ip("link", "show", UPLINK, check=False).returncode != 0:
        _ip("link", "add", UPLINK, "type", "veth", "peer", "name", "uplink", "netns", SWITCH)
        _ip("addr", "add", f"{CONTROLLER}/24", "dev", UPLINK)
        _sw("ip", "link", "set", "uplink", "master", BRIDGE)
    _ip("link", "set", UPLINK, "up")
    _sw("ip", "link", "set", "uplink", "up")
    for host in HOSTS:
        if host.netns not in present:
            _ip("netns", "add", host.netns)
        if _sw("ip", "link", "show", host.port, check=False).returncode != 0:
            _sw("ip", "link", "add", host.port, "type", "veth", "peer", "name", "eth0", "netns",
                host.netns)
            _sw("ip", "link", "set", host.port, "master", BRIDGE)
            _in(host.netns, "ip", "addr", "add", f"{host.address}/24", "dev", "eth0")
        _sw("ip", "link", "set", host.port, "up")
        _in(host.netns, "ip", "link", "set", "lo", "up")
        _in(host.netns, "ip", "link", "set", "eth0", "up")
        _in(host.netns, "sysctl", "-q", *[f"{k}={v}" for k, v in HOST_SYSCTLS.items()])
        shape(host, rate)
        _start_engine(host)
    _ssh_keys()
    for host in HOSTS:
        _wait_engine(host, host.engine)
        _start_sshd(host)
    for host in HOSTS:
        _wait_engine(host, host.ssh_engine)
    SOCKETS_FILE.write_text(hosts_toml(ssh=False))
    HOSTS_FILE.write_text(hosts_toml())
    return HOSTS_FILE


def _ssh_keys() -> None:
    """The controller's key (authorized on every host), each host's key (known to the
    controller), and the client configuration that uses them for the lab's addresses."""
    SSH_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = SSH_DIR / "id_ed25519"
    if not key.exists():
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "battle-lab controller",
              "-f", str(key)])
    (SSH_DIR / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
    known = []
    for host in HOSTS:
        host.home.mkdir(parents=True, exist_ok=True)
        host_key = host.home / "ssh_host_ed25519_key"
        if not host_key.exists():
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"battle-lab {host.role}",
                  "-f", str(host_key)])
        kind, public = Path(f"{host_key}.pub").read_text().split()[:2]
        known.append(f"{host.address} {kind} {public}")
    (SSH_DIR / "known_hosts").write_text("\n".join(known) + "\n")
    CLIENT_CONFIG.parent.mkdir(parents=True, exist_ok=True)
    CLIENT_CONFIG.write_text(
        "# Written by `battle lab up` (suite/measure/lab.py) for the lab's hosts only;\n"
        "# `battle lab down` removes it.\n"
        f"Host {' '.join(host.address for host in HOSTS)}\n"
        "    User root\n"
        f"    IdentityFile {key}\n"
        "    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {SSH_DIR / 'known_hosts'}\n"
        "    StrictHostKeyChecking yes\n"
        "    BatchMode yes\n"
        "    ConnectTimeout 10\n")


def _start_sshd(host: LabHost) -> None:
    """sshd in the host's namespace, on its address only, giving its logins the host's own
    engine (DOCKER_HOST): `docker system dial-stdio` there then reaches that engine."""
    if _sshd_pid(host) is not None:
        return
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)   # sshd's privilege separation directory
    config = host.home / "sshd_config"
    config.write_text(
        f"ListenAddress {host.address}:22\n"
        f"HostKey {host.home / 'ssh_host_ed25519_key'}\n"
        f"PidFile {host.sshd_pidfile}\n"
        f"AuthorizedKeysFile {SSH_DIR / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "X11Forwarding no\n"
        "AllowTcpForwarding no\n"
        "PrintMotd no\n"
        f"SetEnv DOCKER_HOST={host.engine}\n")
    # sshd detaches itself and writes its pid file; `battle lab down` stops it by that file.
    _in(host.netns, SSHD, "-f", str(config), "-E", str(host.home / "sshd.log"))


def shape(host: LabHost, rate: str | None) -> None:
    """A token bucket (tc tbf) on both ends of the host's link, or none. It models a slower link
    (bandwidth only: the queue adds delay only once the link is full)."""
    for netns, dev in ((SWITCH, host.port), (host.netns, "eth0")):
        _in(netns, "tc", "qdisc", "del", "dev", dev, "root", check=False)
        if rate:
            _in(netns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate,
                "burst", "256kbit", "latency", "50ms")


def _start_engine(host: LabHost) -> None:
    if _dockerd_pid(host) is not None:
        return
    host.home.mkdir(parents=True, exist_ok=True)
    config = host.home / "daemon.json"
    config.write_text("{}\n")   # not the machine's /etc/docker/daemon.json: it clashes with flags
    log = open(host.home / "dockerd.log", "ab")
    # nsenter --net keeps this mount namespace (cgroups visible); dockerd daemonizes itself
    # only with a supervisor, so it runs as our child, started in its own session: it outlives
    # this process until `battle lab down`.
    subprocess.Popen(
        ["nsenter", f"--net=/var/run/netns/{host.netns}", "dockerd",
         "--config-file", str(config), "--data-root", str(host.home / "data"),
         "--exec-root", str(host.home / "exec"), "-H", host.engine,
         "--pidfile", str(host.pidfile), "--bridge=none", "--iptables=false",
         "--ip-masq=false", "--storage-driver", "vfs"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        preexec_fn=_open_files)
    log.close()


def _open_files() -> None:
    """The engine's containers inherit its open-files limit (no systemd unit sets one here):
    as many as the kernel allows a process (nr_open), as a packaged dockerd has, so wrk and
    the servers can hold 5000 connections and more; where this process may not raise its hard
    limit, that limit (`battle lab status` prints it)."""
    for limit in (lambda: int(Path("/proc/sys/fs/nr_open").read_text()),
                  lambda: resource.getrlimit(resource.RLIMIT_NOFILE)[1]):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit(), limit()))
            return
        except (OSError, ValueError):
            continue


def _wait_engine(host: LabHost, engine: str) -> None:
    deadline = time.monotonic() + READY_S
    while True:
        done = _run(["docker", "--host", engine, "version", "--format",
                     "{{.Server.Version}}"], check=False, timeout=30)
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            log = host.home / ("sshd.log" if engine.startswith("ssh://") else "dockerd.log")
            tail = last_line(log.read_text(errors="replace")) if log.exists() else "no log"
            raise LabError(f"the {host.role} engine did not answer at {engine} within "
                           f"{READY_S} s: {last_line(done.stderr) or tail}")
        time.sleep(0.5)


def hosts_toml(ssh: bool = True) -> str:
    """The lab's hosts file: engines over ssh:// (as a user's VMs), or by their sockets."""
    lines = ["# The lab's three engines (battle lab up): pass with `battle run --hosts`.",
             f"# Each role's address is its namespace's; the controller is {CONTROLLER}.", ""]
    for host in HOSTS:
        engine = host.ssh_engine if ssh else host.engine
        lines += [f"[{host.role}]", f'engine = "{engine}"', f'address = "{host.address}"',
                  f'machine = "lab host {host.netns}"', ""]
    return "\n".join(lines)


def status() -> dict[str, dict]:
    """Per host: its namespace, engine process and whether the engine answers."""
    present = _namespaces()
    out = {}
    for host in HOSTS:
        pid = _dockerd_pid(host)
        answers = pid is not None and _run(
            ["docker", "--host", host.engine, "version"], check=False, timeout=15).returncode == 0
        out[host.role] = {"netns": host.netns in present, "dockerd": pid, "answers": answers,
                          "engine": host.engine, "ssh_engine": host.ssh_engine,
                          "sshd": _sshd_pid(host), "address": host.address,
                          "open_files": _open_files_of(pid)}
    return out


def _open_files_of(pid: int | None) -> int | None:
    """The engine's open-files limit, which its containers get."""
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                return int(line.split()[3])
    except (OSError, ValueError, IndexError):
        pass
    return None


def down() -> list[str]:
    """Remove every container on the lab's engines, stop the engines, delete the namespaces, the
    links and the bridge, and the engines' data. Returns what was removed."""
    require()
    removed = []
    for host in HOSTS:
        sshd = _sshd_pid(host)
        if sshd is not None:
            _stop(sshd, lambda: _sshd_pid(host))
            removed.append(f"sshd {host.role}")
        pid = _dockerd_pid(host)
        if pid is not None:
            listed = _run(["docker", "--host", host.engine, "ps", "-aq"], check=False, timeout=30)
            ids = listed.stdout.split()
            if ids:
                _run(["docker", "--host", host.engine, "rm", "-fv", *ids], check=False,
                     timeout=120)
            _stop(pid, lambda: _dockerd_pid(host))
            removed.append(f"engine {host.role}")
        if host.netns in _namespaces():
            _ip("netns", "del", host.netns, check=False)   # its eth0 goes, and the pair's end
            removed.append(f"netns {host.netns}")
        _remove_home(host)
    if _ip("link", "show", UPLINK, check=False).returncode == 0:
        _ip("link", "del", UPLINK, check=False)
    if SWITCH in _namespaces():
        _ip("netns", "del", SWITCH, check=False)
        removed.append(f"netns {SWITCH}")
    HOSTS_FILE.unlink(missing_ok=True)
    SOCKETS_FILE.unlink(missing_ok=True)
    if CLIENT_CONFIG.exists():
        CLIENT_CONFIG.unlink()
        removed.append(f"ssh client configuration {CLIENT_CONFIG}")
    shutil.rmtree(SSH_DIR, ignore_errors=True)
    if LAB_DIR.exists() and not any(LAB_DIR.iterdir()):
        LAB_DIR.rmdir()
    return removed


def _stop(pid: int, running) -> None:
    """SIGTERM, then SIGKILL after 30 s if `running()` still finds it."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while running() is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if running() is not None:
        os.kill(pid, signal.SIGKILL)


def _remove_home(host: LabHost) -> None:
    """The engine's data root and exec root. vfs layers are plain directories; an exec root may
    still hold a mount when the engine died: unmount what is under the home first."""
    if not host.home.exists():
        return
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
              if line.split()[4].startswith(str(host.home) + "/")]
    for point in sorted(mounts, key=len, reverse=True):
        _run(["umount", "-l", point], check=False)
    shutil.rmtree(host.home, ignore_errors=True)
