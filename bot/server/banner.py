"""The start-up banner of `make run`: once Rasa answers, say where everything is.

Printed by scripts/serve.sh when the server is up: the widget address a person can open,
the REST address a clinic system posts to, the health check, the clinic whose settings
were loaded, where conversations are stored and where logs go. No patient data.
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, List, Mapping, Optional

import yaml

from bot.core.settings import describe, load_settings


def wait_until_up(url: str, timeout: float, alive: Optional[Callable[[], bool]] = None) -> bool:
    """Poll `url` until it answers 200 (True), `timeout` seconds pass or `alive()` turns
    False (False): a server that exited will not come up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def tracker_store_line(endpoints: Path) -> str:
    """Where conversations are kept, from endpoints.yml."""
    try:
        document: Any = yaml.safe_load(Path(endpoints).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return f"conversations: see {endpoints}"
    store: Mapping[str, Any] = document.get("tracker_store") or {}
    if not store:
        return "conversations: in memory only (no tracker_store in endpoints.yml)"
    if store.get("dialect") == "sqlite":
        return f"conversations: SQLite {store.get('db')} ({endpoints})"
    kind = store.get("type", "?")
    where = store.get("url") or store.get("db") or ""
    return f"conversations: {kind} {store.get('dialect', '')} {where} ({endpoints})".strip()


def banner(url: str, endpoints: Path) -> List[str]:
    """The lines of the banner for a server at `url`."""
    return [
        "=" * 72,
        "The spine procedure FAQ assistant is running.",
        f"  web chat (open in a browser):  {url}/webhooks/webchat/",
        f"  REST for clinic systems:       POST {url}/webhooks/rest/webhook",
        f"  health check:                  {url}/webhooks/health/",
        f"  {describe(load_settings())}",
        f"  {tracker_store_line(endpoints)}",
        "  logs: this terminal (patient messages are never logged)",
        "  Ctrl-C stops both servers.",
        "=" * 72,
    ]


def run(url: str, endpoints: Path, timeout: float) -> Optional[List[str]]:
    """Wait for the server, then return the banner (None when it never came up)."""
    if not wait_until_up(url + "/", timeout):
        return None
    return banner(url, endpoints)
