"""Start the action server and the Rasa server on free loopback ports for tests."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from bot.core.paths import PROJECT_ROOT

VENV_BIN = Path(sys.executable).parent
MODEL_FILE = PROJECT_ROOT / "models" / "spine-faq.tar.gz"
START_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    url: str, process: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT
) -> None:
    """Poll `url` until it answers 200; fail with the server's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not up after {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def action_endpoint_yaml(action_port: int) -> str:
    """endpoints.yml's action_endpoint, sending the shared secret from the environment."""
    return (
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        "  headers:\n    X-Action-Token: ${ACTION_SERVER_TOKEN}\n"
    )


def sqlite_tracker_store_yaml(db: Path) -> str:
    """endpoints.yml's tracker_store: SQLite at `db`, as endpoints.yml has in var/."""
    return f'tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: "{db}"\n'


class Servers:
    """A running action server + Rasa server pair."""

    def __init__(
        self,
        workdir: Path,
        env: Optional[Dict[str, str]] = None,
        speedups: bool = True,
        credentials: Path = PROJECT_ROOT / "credentials.yml",
    ) -> None:
        self.workdir = workdir
        self.credentials = credentials
        # True: Rasa started the way scripts/serve.sh does, through bot.server.launcher
        # (bot/server/rasa_internals.py); False: plain `rasa` (the benchmark's stock baseline).
        self.speedups = speedups
        self.env = {
            **os.environ,
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            # Sanic refuses bigger request bodies with 413 before reading them, as in
            # scripts/serve.sh (docs/reliability.md, "Bad input").
            "SANIC_REQUEST_MAX_SIZE": "65536",
            # Generous in tests so a busy 2-core CI machine never turns a normal turn
            # into the apology; tests/test_faults.py sets its own short limit.
            "ACTION_REPLY_TIMEOUT": "30",
            # The shared secret Rasa sends to the action server (bot/server/action_server.py).
            "ACTION_SERVER_TOKEN": secrets.token_hex(32),
            **(env or {}),
        }
        self.action_port = free_port()
        self.rasa_port = free_port()
        self.processes: List[subprocess.Popen] = []
        self.by_name: Dict[str, subprocess.Popen] = {}
        self.extra_endpoints = ""  # more endpoints.yml sections, e.g. a lock_store
        self.overridden: Set[str] = set()  # servers started with other settings than the pair's
        self.logs: Dict[str, Path] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def _spawn(self, name: str, args: List[str], env: Dict[str, str]) -> subprocess.Popen:
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        process = subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        self.by_name[name] = process
        return process

    def process(self, name: str) -> subprocess.Popen:
        """The running "rasa" or "actions" process (by role, not by command line)."""
        return self.by_name[name]

    @property
    def action_token(self) -> str:
        """The X-Action-Token both servers share (from `env`, or generated)."""
        return self.env["ACTION_SERVER_TOKEN"]

    def action_endpoint_yaml(self) -> str:
        """endpoints.yml's action_endpoint for this pair's action server."""
        return action_endpoint_yaml(self.action_port)

    def start_actions(self, env: Optional[Dict[str, str]] = None) -> None:
        """Start bot.server.action_server on loopback; `env` overrides this pair's environment."""
        process = self._spawn(
            "actions",
            [
                str(VENV_BIN / "python"),
                "-m",
                "bot.server.action_server",
                "--actions",
                "actions",
                "--port",
                str(self.action_port),
            ],
            {**self.env, **(env or {})},
        )
        if env:
            self.overridden.add("actions")
        else:
            self.overridden.discard("actions")
        wait_for(f"http://127.0.0.1:{self.action_port}/health", process, self.logs["actions"])

    def rasa_command(self) -> List[str]:
        """How Rasa is started: as `make run` does, or as plain `rasa`."""
        if self.speedups:
            return [str(VENV_BIN / "python"), "-m", "bot.server.launcher"]
        return [str(VENV_BIN / "rasa")]

    def rasa_run_args(self, model: Path, endpoints: Path, extra_args: List[str]) -> List[str]:
        """`rasa run` on loopback at this pair's port with the project's channels."""
        return [
            *self.rasa_command(),
            "run",
            "--model",
            str(model),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(self.credentials),
            "--interface",
            "127.0.0.1",
            "--port",
            str(self.rasa_port),
            *extra_args,
        ]

    @property
    def tracker_db(self) -> Path:
        """This test's SQLite tracker store (the project default is var/)."""
        return self.workdir / "conversations.sqlite3"

    def start_rasa(self, extra_args: Optional[List[str]] = None) -> None:
        if not MODEL_FILE.exists():
            raise RuntimeError(f"no trained model at {MODEL_FILE}: run `make train` first")
        endpoints = self.workdir / "endpoints.yml"
        endpoints.write_text(
            self.action_endpoint_yaml()
            + sqlite_tracker_store_yaml(self.tracker_db)
            + self.extra_endpoints
        )
        process = self._spawn(
            "rasa", self.rasa_run_args(MODEL_FILE, endpoints, extra_args or []), self.env
        )
        wait_for(self.url + "/", process, self.logs["rasa"])

    def stop_process(self, name: str) -> None:
        """Stop one server ("rasa" or "actions"); the other keeps running."""
        process = self.by_name.pop(name)
        process.terminate()
        process.wait(timeout=30)
        self.processes.remove(process)

    def restore(self) -> None:
        """Both servers running again with this pair's own settings, whatever a test
        stopped, killed or restarted differently (so the next test finds them as usual)."""
        for name in ("actions", "rasa"):
            process = self.by_name.get(name)
            if process is not None and (process.poll() is not None or name in self.overridden):
                if process.poll() is None:
                    self.stop_process(name)
                else:
                    self.by_name.pop(name)
                    self.processes.remove(process)
        if "actions" not in self.by_name:
            self.start_actions()
        if "rasa" not in self.by_name:
            self.start_rasa()

    def stop_rasa(self) -> None:
        """Stop only the Rasa server (the action server keeps running)."""
        self.stop_process("rasa")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()
        self.by_name.clear()


@contextmanager
def running_servers(
    workdir: Path, env: Optional[Dict[str, str]] = None, **options: Any
) -> Iterator[Servers]:
    servers = Servers(workdir, env, **options)
    try:
        servers.start_actions()
        servers.start_rasa()
        yield servers
    finally:
        servers.stop()


def make_target_env(workdir: Path) -> Tuple[Dict[str, str], int, int]:
    """Environment for running `make run`/`make shell` (scripts/serve.sh) in a test.

    Free loopback ports, a tracker store in `workdir`, and no clinic settings file.
    Returns the environment, the action server's port and Rasa's port.
    """
    action_port, rasa_port = free_port(), free_port()
    endpoints = workdir / "endpoints.yml"
    # serve.sh sets ACTION_SERVER_TOKEN, which the action endpoint sends.
    endpoints.write_text(
        action_endpoint_yaml(action_port) + sqlite_tracker_store_yaml(workdir / "serve.sqlite3")
    )
    env = {
        **os.environ,
        "ACTION_PORT": str(action_port),
        "RASA_PORT": str(rasa_port),
        "RASA_ENDPOINTS": str(endpoints),
        "CLINIC_CONFIG": "",
    }
    return env, action_port, rasa_port
