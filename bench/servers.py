"""The test servers (harness/servers.py), extended for measuring: any model, cold start, memory.

The benchmark starts each model exactly as the end-to-end tests do (our action server,
a SQLite tracker store in a scratch directory, loopback ports), so both systems are
measured under the same deployment.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

from harness.servers import START_TIMEOUT, Servers, sqlite_tracker_store_yaml


class BenchServers(Servers):
    """Action server + Rasa for one model; records cold start and peak memory."""

    def __init__(
        self,
        workdir: Path,
        model: Path,
        env: Optional[Dict[str, str]] = None,
        tracker_store: str = "sql",
        speedups: bool = True,
        workers: int = 1,
    ) -> None:
        env = {**(env or {}), **({"SANIC_WORKERS": str(workers)} if workers > 1 else {})}
        super().__init__(workdir, env, speedups)
        self.workers = workers
        self.model = model
        self.tracker_store = tracker_store
        self.token = secrets.token_hex(16)
        self.cold_start_s: Optional[float] = None
        self.named: Dict[str, subprocess.Popen] = {}

    def _spawn(self, name: str, args: List[str], env: Dict[str, str]) -> subprocess.Popen:
        process = super()._spawn(name, args, env)
        self.named[name] = process
        return process

    def _endpoints(self) -> Path:
        endpoints = self.workdir / "endpoints.yml"
        text = self.action_endpoint_yaml()
        if self.tracker_store == "sql":
            text += sqlite_tracker_store_yaml(self.tracker_db)
        if self.workers > 1:  # measurement only: bench/experiments/process_local_lock_store.py
            text += (
                "lock_store:\n  type: "
                "bench.experiments.process_local_lock_store.ProcessLocalLockStore\n"
            )
        endpoints.write_text(text)
        return endpoints

    def start_rasa(self, extra_args: Optional[List[str]] = None) -> None:
        """Start Rasa with the HTTP API on loopback (token-protected, for /model/parse).

        Cold start is process start to the first successful REST answer: loading the
        model, building the graph and the first inference all count, as a patient
        waiting after a restart would see.
        """
        started = time.perf_counter()
        api = ["--enable-api", "--auth-token", self.token]
        process = self._spawn(
            "rasa",
            self.rasa_run_args(self.model, self._endpoints(), [*api, *(extra_args or [])]),
            self.env,
        )
        body = json.dumps({"sender": f"cold-start-{self.token[:8]}", "message": "hi"}).encode()
        deadline = started + START_TIMEOUT
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                log = self.logs["rasa"].read_text()[-3000:]
                raise RuntimeError(f"rasa exited with {process.returncode}:\n{log}")
            request = urllib.request.Request(
                self.url + "/webhooks/rest/webhook",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    if response.status == 200 and json.loads(response.read()):
                        self.cold_start_s = time.perf_counter() - started
                        return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"no REST answer after {START_TIMEOUT:.0f}s")

    @property
    def rasa_pid(self) -> int:
        return self.named["rasa"].pid

    def peak_memory_mb(self) -> float:
        """Peak resident memory (VmHWM) of the Rasa process and any children, in MB.

        VmHWM is the kernel's high-water mark, so one read after the load has run
        gives the peak without sampling.
        """
        return round(sum(_vm_hwm_kb(pid) for pid in _process_tree(self.rasa_pid)) / 1024, 1)

    def cpu_seconds(self) -> Dict[str, float]:
        """CPU time (user + system) used so far by each server process.

        Per turn, this is far steadier than wall-clock throughput on a machine whose
        cores are shared: other processes delay a turn but do not add to its CPU time.
        """
        return {
            name: sum(_cpu_seconds(pid) for pid in _process_tree(process.pid))
            for name, process in self.named.items()
        }


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields after the command name start at "state" (field 3): utime is 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> List[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            pids.extend(_process_tree(int(child)))
    return pids


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
