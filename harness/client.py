"""Talk to a running server pair the way a clinic system does: plain HTTP, no Rasa import.

One copy of the helpers the end-to-end tests and benchmarks share, so that a change to
how a message is sent (a header, a time limit) is made once.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Optional, Tuple

from harness.servers import Servers

REST_PATH = "/webhooks/rest/webhook"
# Far above a normal turn (well under a second), so only a hung server fails a test here.
REQUEST_TIMEOUT = 90.0


def new_sender() -> str:
    """A fresh patient: a conversation id nobody has used."""
    return "patient-" + uuid.uuid4().hex


def post(
    servers: Servers, path: str, body: bytes, headers: Optional[Dict[str, str]] = None
) -> Tuple[int, bytes]:
    """POST raw bytes; (status, raw body) whatever the status."""
    request = urllib.request.Request(
        servers.url + path, data=body, headers=headers or {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def rest(servers: Servers, sender: str, text: str) -> List[Dict[str, Any]]:
    """One REST turn: the bot's messages (text, buttons, custom) as a list."""
    status, raw = post(servers, REST_PATH, json.dumps({"sender": sender, "message": text}).encode())
    if status != 200:
        raise AssertionError(f"REST answered {status}: {raw[:300]!r}")
    return json.loads(raw)


def rest_text(servers: Servers, text: str, sender: Optional[str] = None) -> str:
    """One REST turn's texts joined by blank lines (a fresh patient unless `sender`)."""
    return "\n\n".join(m.get("text", "") for m in rest(servers, sender or new_sender(), text))
