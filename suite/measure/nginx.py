"""nginx, the tool a deployment puts in front of its instances: the balancer spec a command line
gives (`nginx[:STRATEGY]`), the program found and its version, and its configuration written
from data (NginxConfig), which the results record with the version. Nothing here starts a
process of its own or knows a runtime: the deployments (suite.measure.balancer) start nginx
through one.

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
  instance out of rotation for 10 s after one failed request, and with every instance out
  nginx answers each request at once with a 502 ("no live upstreams"): a handful of an
  instance's failures would be counted as thousands of nginx's own, at a rate that measures
  nginx and not the server. Here one request's failure is that request's alone;
- upstream keepalive_timeout 1s, under every instance's own idle timeout (gunicorn's keep-alive
  is 2 s, uvicorn's 5 s): nginx closes an idle connection before the instance does, instead of
  sending a request on a connection the instance is closing ("upstream prematurely closed
  connection", a 502 that is neither's fault);
- access log off, as on every server.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from suite import LOOPBACK
from suite.measure import command
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
    address: str = LOOPBACK

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
        return f"""# Written by the suite (suite/measure/nginx.py) for one deployment; recorded in the results.
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
