"""`make cluster`: several Rasa replicas behind nginx, on PostgreSQL and Redis, in the foreground.

    python -m bot.server.cluster          # RASA_REPLICAS=2, nginx on 127.0.0.1:8080

What it starts, and stops again on Ctrl-C (or when any of them exits):

- `RASA_REPLICAS` copies of `scripts/serve.sh run` (a Rasa replica with its own action
  server, as `make run` starts one), on loopback ports from `CLUSTER_RASA_PORT` and
  `CLUSTER_ACTION_PORT` up, all with `deploy/endpoints.yml`: PostgreSQL (`DATABASE_URL`)
  as the tracker store, Redis (`REDIS_URL`) as the lock store, the signed webhook's
  claims in the same database and SMS number choices in Redis, so no replica keeps a
  patient's state in its own memory;
- nginx (Debian's package, `make nginx`) on `CLUSTER_HOST:CLUSTER_PORT`, from
  `deploy/nginx/spine-faq.conf.template`: any replica for REST and webhooks, one
  replica per browser for socket.io.

Before starting anything it checks both services and creates the database if missing,
so a wrong URL is one clear line, not a replica's stack trace. docker-compose.yml and
the Helm values in deploy/ describe the same topology (tests/test_deploy.py checks).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Dict, List, Mapping, Optional

from bot.core.paths import PROJECT_ROOT
from bot.server.banner import wait_until_up

DEPLOY_DIR = PROJECT_ROOT / "deploy"
ENDPOINTS_FILE = DEPLOY_DIR / "endpoints.yml"
NGINX_TEMPLATE = DEPLOY_DIR / "nginx" / "spine-faq.conf.template"
STATE_DIR = PROJECT_ROOT / "var" / "cluster"

DEFAULTS = {
    "RASA_REPLICAS": "2",
    "CLUSTER_HOST": "127.0.0.1",
    "CLUSTER_PORT": "8080",
    "CLUSTER_RASA_PORT": "5010",
    "CLUSTER_ACTION_PORT": "5060",
    "DATABASE_URL": "postgresql://127.0.0.1:5432/spine_faq",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}
START_TIMEOUT = 300.0


class ClusterError(Exception):
    """A setting or a service that stops the cluster from starting, said in one line."""


@dataclass(frozen=True)
class ClusterSettings:
    replicas: int
    host: str
    port: int
    rasa_port: int
    action_port: int
    database_url: str
    redis_url: str

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> ClusterSettings:
        env = {**DEFAULTS, **{k: v for k, v in (environ or os.environ).items() if v.strip()}}

        def number(name: str, low: int, high: int) -> int:
            try:
                value = int(env[name])
            except ValueError:
                raise ClusterError(f"{name} must be a whole number, got {env[name]!r}") from None
            if not low <= value <= high:
                raise ClusterError(f"{name} must be between {low} and {high}, got {value}")
            return value

        for name, schemes in (("DATABASE_URL", ("postgresql",)), ("REDIS_URL", ("redis",))):
            scheme = env[name].split("://", 1)[0].split("+", 1)[0]
            if "://" not in env[name] or scheme not in schemes:
                raise ClusterError(f"{name} must be a {schemes[0]}:// URL, got scheme {scheme!r}")
        return cls(
            replicas=number("RASA_REPLICAS", 1, 16),
            host=env["CLUSTER_HOST"],
            port=number("CLUSTER_PORT", 1, 65535),
            rasa_port=number("CLUSTER_RASA_PORT", 1, 65535 - 16),
            action_port=number("CLUSTER_ACTION_PORT", 1, 65535 - 16),
            database_url=env["DATABASE_URL"],
            redis_url=env["REDIS_URL"],
        )

    def replica_ports(self) -> List[int]:
        return [self.rasa_port + i for i in range(self.replicas)]


def _redacted(url: str) -> str:
    """A service URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for display
        return url.split("@")[-1]


def ensure_database(url: str) -> bool:
    """Create the tracker store's PostgreSQL database if missing; True if it was created."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    target = make_url(url)
    name = target.database
    if not name:
        raise ClusterError(f"DATABASE_URL names no database: {_redacted(url)}")
    engine = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists:
                return False
            quoted = engine.dialect.identifier_preparer.quote(name)
            connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
            return True
    except sa.exc.SQLAlchemyError as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise ClusterError(f"PostgreSQL at {_redacted(url)} is not usable: {reason}") from None
    finally:
        engine.dispose()


def check_redis(url: str) -> None:
    """Fail with one line when Redis does not answer."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.RedisError, ValueError) as error:
        raise ClusterError(f"Redis at {_redacted(url)} is not usable: {error}") from None


def nginx_binary() -> str:
    """Debian's nginx lives in /usr/sbin, often not on a normal user's PATH."""
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and Path(candidate).exists():
            return candidate
    raise ClusterError("nginx is not installed; run `make nginx` (Debian's package)")


def nginx_site(settings: ClusterSettings) -> str:
    """The site config from the template, with the replicas and the public port filled in."""
    upstreams = " ".join(f"server 127.0.0.1:{port};" for port in settings.replica_ports())
    listen = f"{settings.host}:{settings.port}"
    return Template(NGINX_TEMPLATE.read_text(encoding="utf-8")).safe_substitute(
        RASA_UPSTREAMS=upstreams, CLUSTER_PORT=listen
    )


def nginx_main_config(state: Path) -> str:
    """A whole nginx.conf for an unprivileged, foreground nginx that keeps its files in `state`."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {state / ('tmp_' + kind)};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {state / 'nginx.pid'};\n"
        "error_log stderr warn;\nevents { worker_connections 1024; }\n"
        f"http {{\n{temp}\n    include {state / 'spine-faq.conf'};\n}}\n"
    )


def public_origins(settings: ClusterSettings) -> List[str]:
    """The origins a browser sees nginx at (the demo page /webhooks/webchat/ lives there)."""
    hosts = [settings.host]
    if settings.host in ("127.0.0.1", "localhost", "0.0.0.0"):
        hosts = ["127.0.0.1", "localhost"]
    return [f"http://{host}:{settings.port}" for host in hosts]


def allowed_origins(settings: ClusterSettings, base: Mapping[str, str]) -> str:
    """The clinic's allowed origins (environment or clinic.yml) and nginx's own.

    Behind nginx a replica's own origin (its loopback port) is never the page's: without
    nginx's origin the web chat's socket.io connection would be refused.
    """
    from bot.core.settings import SettingsError, load_settings

    try:
        configured = list(load_settings(base).allowed_origins)
    except SettingsError as error:
        raise ClusterError(str(error)) from None
    return ",".join(dict.fromkeys(configured + public_origins(settings)))


def replica_env(settings: ClusterSettings, index: int, base: Mapping[str, str]) -> Dict[str, str]:
    """The environment of replica `index`: its ports and the shared services."""
    action_port = settings.action_port + index
    return {
        **base,
        "RASA_HOST": "127.0.0.1",
        "RASA_PORT": str(settings.rasa_port + index),
        "ACTION_PORT": str(action_port),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{action_port}/webhook",
        "RASA_ENDPOINTS": str(ENDPOINTS_FILE),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        # The signed webhook's delivery claims, shared by every replica.
        "WEBHOOK_DB": settings.database_url,
        "SERVE_BANNER": "false",
        "CLINIC_ALLOWED_ORIGINS": allowed_origins(settings, base),
    }


class Cluster:
    """The running replicas and nginx: started together, stopped together.

    `make cluster` runs one in the foreground; the tests start one on free ports and
    stop single replicas through `replicas`. With `log_dir`, each process writes its
    own log file there instead of this terminal.
    """

    def __init__(
        self,
        settings: ClusterSettings,
        environ: Optional[Mapping[str, str]] = None,
        state: Path = STATE_DIR,
        log_dir: Optional[Path] = None,
    ) -> None:
        self.settings = settings
        self.environ = dict(os.environ if environ is None else environ)
        self.state = state
        self.log_dir = log_dir
        self.replicas: List[subprocess.Popen] = []
        self.nginx: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def replica_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port + index}"

    @property
    def processes(self) -> List[subprocess.Popen]:
        return self.replicas + ([self.nginx] if self.nginx else [])

    def prepare(self) -> str:
        """Check the services (creating the database), write nginx's config; the binary."""
        nginx = nginx_binary()
        check_redis(self.settings.redis_url)
        if ensure_database(self.settings.database_url):
            print(f"created database {_redacted(self.settings.database_url)}", flush=True)
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "spine-faq.conf").write_text(nginx_site(self.settings), encoding="utf-8")
        (self.state / "nginx.conf").write_text(nginx_main_config(self.state), encoding="utf-8")
        check = subprocess.run(
            [nginx, "-t", "-q", "-p", str(self.state), "-c", str(self.state / "nginx.conf")],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise ClusterError(f"nginx refused its config: {check.stderr.strip()}")
        return nginx

    def _spawn(self, command: List[str], name: str, env: Mapping[str, str]) -> subprocess.Popen:
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = (self.log_dir / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(
                command,
                env=dict(env),
                cwd=PROJECT_ROOT,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
            )
        finally:
            if output is not None:
                output.close()

    def start_replica(self, index: int) -> subprocess.Popen:
        """(Re)start replica `index`: a Rasa server and its action server."""
        process = self._spawn(
            [str(PROJECT_ROOT / "scripts" / "serve.sh"), "run"],
            f"replica-{index}",
            replica_env(self.settings, index, self.environ),
        )
        if index < len(self.replicas):
            self.replicas[index] = process
        else:
            self.replicas.append(process)
        return process

    def stop_replica(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Stop one replica at once (SIGKILL: as a crash would)."""
        _stop([self.replicas[index]], sig)

    def start(self) -> None:
        nginx = self.prepare()
        for index in range(self.settings.replicas):
            self.start_replica(index)
        self.nginx = self._spawn(
            [nginx, "-p", str(self.state), "-c", str(self.state / "nginx.conf")],
            "nginx",
            self.environ,
        )

    def wait_ready(self, timeout: float = START_TIMEOUT) -> bool:
        """True once every replica and nginx answer their health check."""
        urls = [f"{self.replica_url(i)}/webhooks/health/" for i in range(len(self.replicas))]
        urls.append(f"{self.url}/webhooks/health/")
        deadline = time.monotonic() + timeout
        for url in urls:
            alive = lambda: all(p.poll() is None for p in self.processes)  # noqa: E731
            if not wait_until_up(url, deadline - time.monotonic(), alive):
                return False
        return True

    def stop(self) -> None:
        _stop(self.processes)


def _stop(processes: List[subprocess.Popen], sig: int = signal.SIGTERM) -> None:
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 20
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run(environ: Optional[Mapping[str, str]] = None) -> int:
    """Start everything, print where it is, wait; stop everything on a signal or an exit."""
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    cluster: Optional[Cluster] = None
    try:
        settings = ClusterSettings.from_env(environ)
        cluster = Cluster(settings, environ)
        cluster.start()
        print(
            f"Starting {settings.replicas} Rasa replicas on ports "
            f"{', '.join(map(str, settings.replica_ports()))} behind nginx on {cluster.url} "
            "(about 30 s)...",
            flush=True,
        )
        if cluster.wait_ready() and not stopping:
            public = cluster.url
            print(
                f"\nCluster ready: {public}\n"
                f"  web chat        {public}/webhooks/webchat/\n"
                f"  REST            POST {public}/webhooks/rest/webhook\n"
                f"  health          {public}/webhooks/health/\n"
                f"  tracker store   {_redacted(settings.database_url)}\n"
                f"  lock store      {_redacted(settings.redis_url)}\n"
                "Ctrl-C stops everything.",
                flush=True,
            )
        while not stopping and all(p.poll() is None for p in cluster.processes):
            time.sleep(0.5)
        failed = [p for p in cluster.processes if p.poll() not in (None, 0)]
        return 0 if stopping or not failed else 1
    except ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if cluster is not None:
            cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(run())
