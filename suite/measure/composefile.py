"""compose/docker-compose.yml, generated from the catalog: a `mongo` service and one service per
variant (each in a profile named after it).

The committed file is `render(load_catalog())` (a test keeps them equal; regenerate with
`battle compose-file > compose/docker-compose.yml`). A run writes the file for its own catalog
next to its results and uses that one. Everything that changes between runs or machines is a
`${BATTLE_...}` variable with a default, filled from the environment the suite passes, or from
compose/.env when a person runs `docker compose` by hand (`battle images --offline` writes it).
The file format is 2.4, which Compose v1 (docker-compose 1.29) and v2 (`docker compose`) both
read, with cpuset and mem_limit as plain service keys.
"""

from __future__ import annotations

import json

from suite import LOOPBACK
from suite.measure import nginx
from suite.record.catalog import DEFAULT_MAX_CONNECTIONS, Variant

# Defaults: a machine with a registry, used by hand. The suite sets every one of these when it
# runs the file; `battle images --offline` writes the offline images' names to compose/.env.
DEFAULTS = {
    "BATTLE_IMAGES": "registry",                 # image tag: registry | offline
    # The official image: CPython 3.13 with PGO + LTO, as the local runtime's servers run it.
    "BATTLE_SERVER_BASE": "python:3.13-slim",
    "BATTLE_BUILD_BASE": "python:3.13-slim",     # + gcc when a package has no wheel
    "BATTLE_PIP_OFFLINE": "0",
    "BATTLE_MONGO_IMAGE": "mongo:7.0",
    "BATTLE_BALANCER_IMAGE": "nginx:1.27",       # offline: the base, which has nginx-light
    # wrk and iperf3 of a placed run (--hosts); offline: the base, which has them
    "BATTLE_LOADGEN_IMAGE": "battle/loadgen:registry",
    "BATTLE_BALANCER_DIR": "/tmp/battle-nginx",  # the suite's nginx.conf for one deployment
    # nginx's open files at the largest default connection level (12048 for 5000)
    "BATTLE_BALANCER_NOFILE": str(nginx.open_files(DEFAULT_MAX_CONNECTIONS)),
    "BATTLE_SERVER_CPUSET": "",                  # "": every CPU
    "BATTLE_DB_CPUSET": "",
    "BATTLE_SERVER_MEMORY": "4g",
    "BATTLE_DB_MEMORY": "2g",
    "BATTLE_MONGO_PORT": "27017",
    "BATTLE_MONGO_BIND": LOOPBACK,               # a placed run (--hosts): the db host's address
    "BATTLE_MONGO_TEST_COMMANDS": "0",           # 1: mongod allows the latency fail point
    "BATTLE_MONGO_URL": f"mongodb://{LOOPBACK}:27017",
    "BATTLE_MONGO_DB": "battle",
    "BATTLE_PORT": "8080",
    "BATTLE_HOST": LOOPBACK,                     # a placed run (--hosts): the server's address
    "BATTLE_MAX_CONNECTIONS": str(DEFAULT_MAX_CONNECTIONS),
    "BATTLE_SETTINGS": "",                       # the suite's resolved settings (JSON)
    "BATTLE_EXPECT_ARGV": "",                    # the suite's command, checked by the launcher
    "BATTLE_CATALOG_FILE": "../servers/catalog.toml",
    "BATTLE_OWNER": "manual",                    # the suite: host:pid, to sweep orphans
}

HEADER = """\
# Generated from servers/catalog.toml by `battle compose-file`: do not edit by hand.
#
# The suite drives this file itself (`battle run --runtime docker`). By hand, after
# `battle images --offline` (or with a registry, as is):
#   docker compose -f compose/docker-compose.yml up -d mongo        # then seed it: battle run does
#   docker compose -f compose/docker-compose.yml --profile fastapi-uvicorn up fastapi-uvicorn
# Host networking everywhere: wrk talks to 127.0.0.1, no NAT in the measured path.
"""


BALANCER_MOUNT = "/etc/battle-nginx"
CATALOG_MOUNT = "/opt/battle/servers/catalog.toml"


def _q(value: str) -> str:
    return json.dumps(value)   # a JSON string is a valid YAML double-quoted scalar


def _var(name: str) -> str:
    return f"${{{name}:-{DEFAULTS[name]}}}"


def _common(role: str, limits: str | None = None) -> list[str]:
    """Keys every container shares: host network, an init that forwards signals, labels the
    suite finds its own containers by, and the CPU set and memory limit of the role's limits
    (the balancer shares the server's)."""
    prefix = limits or ("SERVER" if role == "server" else "DB")
    return [
        "    network_mode: host",
        "    init: true",
        f"    cpuset: {_q(_var(f'BATTLE_{prefix}_CPUSET'))}",
        f"    mem_limit: {_q(_var(f'BATTLE_{prefix}_MEMORY'))}",
        "    labels:",
        f"      battle.role: {_q(role)}",
        f"      battle.owner: {_q(_var('BATTLE_OWNER'))}",
    ]


def _mongo() -> list[str]:
    return [
        "  mongo:",
        f"    image: {_q(_var('BATTLE_MONGO_IMAGE'))}",
        *_common("db"),
        "    tmpfs: [\"/data/db\"]",
        # Test commands (1) allow the fail point that adds latency to every find (--db-latency).
        "    command: [\"mongod\", \"--bind_ip\", "
        f"{_q(_var('BATTLE_MONGO_BIND'))}, \"--port\", "
        f"{_q(_var('BATTLE_MONGO_PORT'))}, \"--dbpath\", \"/data/db\", \"--setParameter\", "
        f"{_q('enableTestCommands=' + _var('BATTLE_MONGO_TEST_COMMANDS'))}]",
    ]


def _balancer(mounts: bool = True) -> list[str]:
    # nginx in front of a deployment's instances (--balancer); the suite writes its config into
    # BATTLE_BALANCER_DIR, mounted where the config says its files are (placed: copied there).
    return [
        "  balancer:",
        '    profiles: ["balancer"]',
        f"    image: {_q(_var('BATTLE_BALANCER_IMAGE'))}",
        *_common("balancer", "SERVER"),
        # nginx holds a descriptor per connection, client or upstream, and, unprivileged in a
        # container, cannot raise its own limit (worker_rlimit_nofile): the container starts
        # with the config's (suite/measure/nginx.py), within the Docker daemon's hard limit.
        "    ulimits:",
        f"      nofile: {{soft: {_q(_var('BATTLE_BALANCER_NOFILE'))}, "
        f"hard: {_q(_var('BATTLE_BALANCER_NOFILE'))}}}",
        *([f"    volumes: [{_q(_var('BATTLE_BALANCER_DIR') + ':' + BALANCER_MOUNT)}]"]
          if mounts else []),
        f"    command: [\"nginx\", \"-p\", {_q(BALANCER_MOUNT)}, \"-c\", "
        f"{_q(BALANCER_MOUNT + '/nginx.conf')}, \"-e\", {_q(BALANCER_MOUNT + '/error.log')}]",
    ]


def _server(variant: Variant, mounts: bool = True) -> list[str]:
    return [
        f"  {variant.name}:",
        f"    profiles: [{_q(variant.name)}]",
        f"    image: {_q('battle/' + variant.name + ':' + _var('BATTLE_IMAGES'))}",
        "    build:",
        "      context: ..",
        "      dockerfile: compose/server.Dockerfile",
        "      args:",
        f"        BASE: {_q(_var('BATTLE_SERVER_BASE'))}",
        f"        BUILD_BASE: {_q(_var('BATTLE_BUILD_BASE'))}",
        f"        PIP_OFFLINE: {_q(_var('BATTLE_PIP_OFFLINE'))}",
        f"        PACKAGES: {_q(' '.join(variant.packages))}",
        *_common("server"),
        f"      battle.variant: {_q(variant.name)}",
        "    environment:",
        f"      BATTLE_MONGO_URL: {_q(_var('BATTLE_MONGO_URL'))}",
        f"      BATTLE_MONGO_DB: {_q(_var('BATTLE_MONGO_DB'))}",
        f"      BATTLE_HOST: {_q(_var('BATTLE_HOST'))}",
        f"      BATTLE_PORT: {_q(_var('BATTLE_PORT'))}",
        f"      BATTLE_MAX_CONNECTIONS: {_q(_var('BATTLE_MAX_CONNECTIONS'))}",
        f"      BATTLE_SETTINGS: {_q(_var('BATTLE_SETTINGS'))}",
        f"      BATTLE_EXPECT_ARGV: {_q(_var('BATTLE_EXPECT_ARGV'))}",
        *(["    volumes:",
           f"      - {_q(_var('BATTLE_CATALOG_FILE') + ':' + CATALOG_MOUNT + ':ro')}"]
          if mounts else []),
        f"    command: [{_q(variant.name)}]",
    ]


def render(catalog: dict[str, Variant], mounts: bool = True) -> str:
    """The compose file. `mounts` False: no bind mounts (a placed run, whose engines cannot see
    this machine's files: the suite copies the catalog into each server container, and a
    deployment's nginx configuration into its balancer, instead)."""
    lines = [HEADER, 'version: "2.4"', "services:", *_mongo(), "", *_balancer(mounts)]
    for variant in catalog.values():
        if not variant.host_only:   # local runtime only: its interpreter is built on the host
            lines += ["", *_server(variant, mounts)]
    return "\n".join(lines) + "\n"
