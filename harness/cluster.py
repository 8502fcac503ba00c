"""Two Rasa replicas behind nginx, on a database and a Redis a test may take down.

`make cluster`'s own code (bot/server/cluster.py) starts them; the harness only picks
free ports, gives the cluster a fresh PostgreSQL database reached through a TcpProxy
(so a test can cut the database without stopping the machine's PostgreSQL) and a Redis
of its own (harness/own_redis.py), and the channel settings of the shared pair, so
the same helpers talk to it.
"""

from __future__ import annotations

import os
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from bot.server.cluster import Cluster, ClusterSettings
from harness.own_redis import OwnRedis
from harness.postgres import PORT, database_url, drop_database
from harness.servers import free_port
from harness.shared import shared_env
from harness.tcp_proxy import TcpProxy

# A crashed replica's lock frees after this many seconds (Rasa's default is 60).
LOCK_LIFETIME_S = 10


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for _ in range(100):
        first = free_port()
        if first + count > 65535:
            continue
        ports = range(first, first + count)
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class RunningCluster:
    cluster: Cluster
    redis: OwnRedis
    database_proxy: TcpProxy
    # The database straight, not through the proxy: for reading trackers back.
    database_url: str
    workdir: Path

    @property
    def url(self) -> str:
        return self.cluster.url

    @property
    def outbox(self) -> Path:
        return Path(self.cluster.environ["SMS_OUTBOX"])

    def replica(self, index: int) -> Endpoint:
        return Endpoint(self.cluster.replica_url(index))

    def log_tail(self, characters: int = 3000) -> str:
        logs = sorted((self.workdir / "logs").glob("*.log"))
        return "\n".join(f"--- {log.name}\n{log.read_text()[-characters:]}" for log in logs)


@dataclass(frozen=True)
class Endpoint:
    """Anything with a `url`, as harness.client's helpers expect."""

    url: str


@contextmanager
def running_cluster(workdir: Path, replicas: int = 2) -> Iterator[RunningCluster]:
    name = "cluster_" + uuid.uuid4().hex[:12]
    workdir.mkdir(parents=True, exist_ok=True)
    redis = OwnRedis(workdir)
    proxy = TcpProxy("127.0.0.1", PORT)
    proxy.restore()
    redis.start()
    environ = {
        **os.environ,
        **shared_env(workdir),
        "CLUSTER_PORT": str(free_port()),
        "CLUSTER_RASA_PORT": str(free_port_block(replicas)),
        "CLUSTER_ACTION_PORT": str(free_port_block(replicas)),
        "RASA_REPLICAS": str(replicas),
        "DATABASE_URL": database_url(name, port=proxy.port),
        "REDIS_URL": redis.url,
        "TICKET_LOCK_LIFETIME": str(LOCK_LIFETIME_S),
        "ACTION_REPLY_TIMEOUT": "30",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    cluster = Cluster(
        ClusterSettings.from_env(environ), environ, workdir / "state", workdir / "logs"
    )
    running = RunningCluster(cluster, redis, proxy, database_url(name), workdir)
    try:
        cluster.start()
        if not cluster.wait_ready():
            raise RuntimeError(f"the cluster did not start:\n{running.log_tail()}")
        yield running
    finally:
        cluster.stop()
        redis.stop()
        proxy.close()
        drop_database(name)
