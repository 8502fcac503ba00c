"""The one server pair the read-only end-to-end tests share, with every channel configured.

Starting Rasa loads the model (about 20 s of CPU on a 2-core machine), so tests that only
talk to the servers, each as a fresh patient (a new sender id), share one pair for the
whole session: REST, the signed webhook (secret and token), SMS (an outbox file instead
of Twilio), socket.io with an allowed origin, and Rasa's HTTP API behind a token so a
test can read a conversation back. Tests that stop, restart or misconfigure
a server share a second pair (`restartable_servers`), which is restored to its own
settings after each of them; tests that need other settings or fresh logs start their
own (harness.servers). The values live here so the tests can assert on them.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import ContextManager, Dict, Iterator

from harness.servers import Servers, running_servers

CLINIC_NAME = "E2E Spine Clinic"
CLINIC_PHONE = "555-0142"
WEBHOOK_SECRET = "test-secret-" + uuid.uuid4().hex
WEBHOOK_TOKEN = "test-token-" + uuid.uuid4().hex
API_TOKEN = "api-" + uuid.uuid4().hex
ALLOWED_ORIGIN = "https://clinic.example.org"
TWILIO_NUMBER = "+15550009999"
SMS_MAX_CHARS = 200


def shared_env(workdir: Path) -> Dict[str, str]:
    """The environment both servers of the shared pair run with."""
    return {
        "CLINIC_NAME": CLINIC_NAME,
        "CLINIC_PHONE": CLINIC_PHONE,
        "CLINIC_CONFIG": "",
        "CLINIC_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "WEBHOOK_DB": str(workdir / "webhook.sqlite3"),
        "TWILIO_ACCOUNT_SID": "ACtest",
        "TWILIO_AUTH_TOKEN": "dummy-token",
        "TWILIO_NUMBER": TWILIO_NUMBER,
        "SMS_OUTBOX": str(workdir / "outbox.jsonl"),
        "SMS_MAX_CHARS": str(SMS_MAX_CHARS),
        # The API token also guards /webhooks/health/metrics (bot/server/metrics.py).
        "RASA_AUTH_TOKEN": API_TOKEN,
    }


class SharedServers(Servers):
    """The shared pair, with where its webhook and SMS channels keep their files."""

    @property
    def webhook_db(self) -> Path:
        return Path(self.env["WEBHOOK_DB"])

    @property
    def outbox(self) -> Path:
        return Path(self.env["SMS_OUTBOX"])


@contextmanager
def shared_servers(workdir: Path) -> Iterator[SharedServers]:
    """Start the shared pair (Rasa's HTTP API on, behind API_TOKEN); stop it afterwards."""
    servers = SharedServers(workdir, shared_env(workdir))
    try:
        servers.start_actions()
        servers.start_rasa(["--enable-api", "--auth-token", API_TOKEN])
        yield servers
    finally:
        servers.stop()


def restartable_servers(workdir: Path) -> ContextManager[Servers]:
    """The pair for tests that stop or restart a server: default settings, no extra
    channel configuration. Call `restore()` after each test (tests/conftest.py does)."""
    return running_servers(workdir, {"CLINIC_CONFIG": ""})
