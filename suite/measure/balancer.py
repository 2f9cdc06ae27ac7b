"""Instances behind a balancer: N copies of a variant on their own ports, nginx in front on the
port the load generator and verification use. The nginx configuration is written from data
(NginxConfig) and recorded in the results with the version; nginx's CPU and memory are sampled
as their own role ("balancer").

Choices, each stated in the config it writes:
- worker_processes = the server role's CPUs, like every server's workers;
- worker_connections = 2 × the run's largest connection level + 1024 per worker: every client
  connection also holds one to an instance, and nginx does not spread connections evenly over
  its workers; a smaller value is the hidden bottleneck of many "nginx in front" studies;
- upstream keep-alive (HTTP/1.1, 128 idle connections per worker): without it nginx would open
  a connection to an instance for every request;
- proxy_next_upstream off: nginx's default retries a failed request on another instance, which
  would hide an instance's failures (and do the work twice); here each request meets its fate;
- max_fails=0 on every instance: nginx's default (max_fails=1, fail_timeout=10s) takes an
  instance out of rotation for 10 s after one failed request: a handful of 502s turned into
  ~95,000 instant "no live upstreams" 502s in one 8 s repeat (run 20261130T103302Z-f596); one
  request's failure is that request's alone;
- upstream keepalive_timeout 1s, under every instance's own idle timeout (gunicorn's keep-alive
  is 2 s, uvicorn's 5 s): nginx closes an idle connection before the instance does, instead of
  sending a request on a connection the instance is closing ("upstream prematurely closed
  connection", a 502 that is neither's fault);
- access log off, as on every server.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from suite.measure import command
from suite.record.catalog import Variant
from suite.record.results import Spread
from suite.measure.runtime import Server, Watch
from suite.measure.text import last_line

STRATEGIES = {"round_robin": "", "least_conn": "least_conn;", "random": "random;"}
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
UPSTREAM_KEEPALIVE = 128
UPSTREAM_IDLE_S = 1          # below every instance's own keep-alive timeout (gunicorn: 2 s)


class BalancerError(Exception):
    """nginx is missing, or a balancer spec is not one this suite knows."""


def parse(spec: str) -> str:
    """"nginx" or "nginx:least_conn" -> the strategy ("round_robin" by default)."""
    tool, _, strategy = spec.partition(":")
    strategy = strategy or "round_robin"
    if tool != "nginx" or strategy not in STRATEGIES:
        raise BalancerError(f"balancer {spec!r}: give nginx or nginx:STRATEGY, with STRATEGY one "
                            f"of {', '.join(STRATEGIES)}")
    return strategy


def find_nginx() -> str:
    """BATTLE_NGINX if set, else nginx on PATH or in the sbin directories a user's PATH may
    lack."""
    named = os.environ.get("BATTLE_NGINX")
    path = (named if named and os.access(named, os.X_OK) else None) if named is not None else (
        shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                       if os.access(p, os.X_OK)), None))
    if path is None:
        raise BalancerError("nginx not found: install it (`apt-get install nginx`, or `make "
                            "setup` as root)" + (f"; BATTLE_NGINX={named} is not a program"
                                                 if named else ""))
    return path


def nginx_version(binary: str) -> str:
    try:
        done = command.run([binary, "-v"], timeout=10)
    except command.CommandError as exc:
        raise BalancerError(str(exc)) from None
    return last_line(done.stderr or done.stdout).removeprefix("nginx version: nginx/")


def worker_connections(max_connections: int) -> int:
    """Per nginx worker: a client and an upstream connection for each of the run's largest
    level (a worker may get them all), and 1024 to spare."""
    return 2 * max_connections + 1024


def open_files(max_connections: int) -> int:
    """nginx's descriptor limit: one per connection (client or upstream) and some for logs and
    listeners. In a container nginx cannot raise it: the container is started with it, which
    the Docker daemon's own hard limit must allow."""
    return worker_connections(max_connections) + 1024


@dataclass(frozen=True)
class NginxConfig:
    strategy: str
    listen_port: int
    upstream_ports: tuple[int, ...]
    worker_processes: int
    max_connections: int              # the run's largest connection level
    # Where nginx listens and its instances answer: this machine's loopback, or a placed run's
    # server host (its instances and nginx on that host's network).
    address: str = "127.0.0.1"

    @property
    def worker_connections(self) -> int:
        return worker_connections(self.max_connections)

    @property
    def open_files(self) -> int:
        return open_files(self.max_connections)

    def render(self, prefix: Path) -> str:
        method = STRATEGIES[self.strategy]
        servers = "\n".join(f"    server {self.address}:{port} max_fails=0;"
                            for port in self.upstream_ports)
        return f"""# Written by the suite (suite/balancer.py) for one deployment; recorded in the results.
# Paths are where nginx sees them (in the docker runtime: the directory mounted into it).
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
worker_processes {self.worker_processes};            # the server role's CPUs
worker_rlimit_nofile {self.open_files};          # a descriptor per connection + 1024

events {{
    worker_connections {self.worker_connections};    # 2 x {self.max_connections} connections + 1024
}}

http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 1000000;              # wrk's connections live for the whole run

    upstream instances {{
        {method or "# round robin: nginx's default"}
        # max_fails=0: no instance leaves the rotation after a failure (nginx's default
        # takes it out for 10 s after one); each request's failure is its own.
{servers}
        keepalive {UPSTREAM_KEEPALIVE};
        keepalive_timeout {UPSTREAM_IDLE_S}s;    # close idle connections before an instance does
    }}

    server {{
        listen {self.address}:{self.listen_port} backlog=4096;
        location / {{
            proxy_pass http://instances;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream off;             # a failed request is not retried elsewhere
        }}
    }}
}}
"""


def balanced(variant: Variant) -> bool:
    """Whether `make bench-scenarios` measures the variant behind nginx: every event-loop and
    every gunicorn variant of the default interpreter (what people put behind a proxy in
    several copies; uWSGI, granian's WSGI pool and the development server are left alone)."""
    return variant.interpreter == "default" and ("asyncio" in variant.worker_model
                                          or "gunicorn" in variant.server)


def deploy(variant: Variant, instances: int, strategy: str) -> Variant:
    """The variant as N instances behind nginx: a row of its own ("fastapi-uvicorn ×2
    nginx:round_robin"), running the catalog row's command (and image) N times."""
    return dataclasses.replace(variant, name=f"{variant.name} ×{instances} nginx:{strategy}",
                               base=variant.base or variant.name, instances=instances,
                               balancer=strategy)


class Deployment:
    """N running instances and nginx in front of them: one Server to the rest of the suite,
    reached on nginx's port. It is alive while nginx and every instance are: an instance that
    dies mid-run shows up as that repeat's failed requests (nginx retries nothing), then ends
    the variant as a server death would."""

    def __init__(self, instances: list[Server], nginx: Server, port: int, config: str,
                 version: str, image: str | None = None):
        self.instances = instances
        self.nginx = nginx
        self.host = nginx.host          # where the load reaches it
        self.port = port
        self.config = config
        self.version = version
        self.image = image

    def alive(self) -> bool:
        return self.nginx.alive() and all(instance.alive() for instance in self.instances)

    def watches(self) -> dict[str, Watch]:
        each = [instance.watches()["server"] for instance in self.instances]
        return {"server": each, "balancer": self.nginx.watches()["server"],
                **{f"instance-{n}": watch for n, watch in enumerate(each, 1)}}

    def exit_detail(self) -> str:
        if not self.nginx.alive():
            return f"nginx: {self.nginx.exit_detail()}"
        dead = [(n, i) for n, i in enumerate(self.instances, 1) if not i.alive()]
        return "; ".join(f"instance {n} of {len(self.instances)}: {i.exit_detail()}"
                         for n, i in dead) or "every instance and nginx still running"

    def listen_drops(self) -> int | None:
        return self.nginx.listen_drops()   # nginx's namespace, the one the load reaches

    def connection_spread(self, at_s: float) -> Spread | None:
        # The load's connections end at nginx (its port is the deployment's): its workers'.
        return self.nginx.connection_spread(at_s)

    def stop(self) -> None:
        try:
            self.nginx.stop()
        finally:
            for instance in self.instances:
                instance.stop()


def start_deployment(runtime, variant: Variant, settings: dict, *, mongo_url: str,
                     database: str, port: int, log_dir: Path, max_connections: int,
                     ready_timeout_s: float) -> Deployment:
    """Start the variant's instances on free ports, wait for each, then nginx in front on
    `port`. Whatever fails, nothing started is left running."""
    from suite.measure.mongo import free_port
    from suite.measure.verify import wait_ready

    started: list[Server] = []
    try:
        for number in range(1, variant.instances + 1):
            instance_port = free_port()
            while instance_port == port:   # nginx's port is free until nginx binds it
                instance_port = free_port()
            instance = runtime.start_server(
                variant, settings, mongo_url=mongo_url, database=database, port=instance_port,
                log_path=log_dir / f"{variant.slug}.{number}.log", instance=number)
            started.append(instance)
            wait_ready(instance, ready_timeout_s)
        directory = (log_dir / f"{variant.slug}.nginx").resolve()
        for temp in ("", *TEMP_DIRS):
            (directory / temp).mkdir(parents=True, exist_ok=True)
        config = NginxConfig(variant.balancer, port, tuple(i.port for i in started),
                             worker_processes=runtime.server_cpus(),
                             max_connections=max_connections, address=started[0].host)
        nginx, text, version, image = runtime.start_balancer(
            config, directory, log_dir / f"{variant.slug}.nginx.log")
        return Deployment(started, nginx, port, text, version, image)
    except BaseException:
        for instance in started:
            instance.stop()
        raise
