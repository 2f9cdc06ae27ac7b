"""Deployments: N copies of a variant on their own ports, nginx in front on the port the load
generator and verification use, started through a runtime; to the rest of the suite one Server
(BalancedServer). nginx's CPU and memory are sampled as a role of their own ("balancer"). What
nginx is and how it is configured, the tool apart from any runtime, is suite.measure.nginx.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from suite.measure.mongo import free_port
from suite.measure.nginx import TEMP_DIRS, NginxConfig
from suite.measure.runtime import Server, Watch
from suite.measure.verify import wait_ready
from suite.record.catalog import Variant
from suite.record.results import Spread

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


class BalancedServer:
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
                     ready_timeout_s: float) -> BalancedServer:
    """Start the variant's instances on free ports, wait for each, then nginx in front on
    `port`. Whatever fails, nothing started is left running."""
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
        return BalancedServer(started, nginx, port, text, version, image)
    except BaseException:
        for instance in started:
            instance.stop()
        raise
