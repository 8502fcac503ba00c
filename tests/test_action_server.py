"""HTTP-level tests of the real action server process (what Rasa talks to).

It is bot.server.action_server: rasa_sdk's app behind a shared secret (X-Action-Token).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from bot.core.paths import PROJECT_ROOT
from bot.server import action_server as action_server_module
from harness.servers import Servers, free_port

pytestmark = pytest.mark.slow  # starts the action server

# The shared secret Rasa sends; this module's server is started with it.
TOKEN = secrets.token_hex(32)


@pytest.fixture(scope="module")
def action_server(tmp_path_factory):
    servers = Servers(tmp_path_factory.mktemp("actions"), {"ACTION_SERVER_TOKEN": TOKEN})
    try:
        servers.start_actions()
        yield f"http://127.0.0.1:{servers.action_port}"
    finally:
        servers.stop()


def _request(action: str, text: str, intent: str, procedure=None) -> dict:
    entities = [{"entity": "procedure", "value": procedure}] if procedure else []
    return {
        "next_action": action,
        "sender_id": "http-test",
        "tracker": {
            "sender_id": "http-test",
            "slots": {"procedure": None},
            "latest_message": {"text": text, "intent": {"name": intent}, "entities": entities},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {},
    }


def _post(url: str, body: dict, token: str = TOKEN):
    """POST an action call with `token` in X-Action-Token ("" sends no header)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Action-Token"] = token
    request = urllib.request.Request(
        url + "/webhook", data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_webhook_answers_from_the_fact_store(action_server, store) -> None:
    status, body = _post(
        action_server, _request("action_answer_question", "does the mbb hurt", "ask_pain", "mbb")
    )
    assert status == 200
    assert store.fact("pain_during").answer in body["responses"][0]["text"]
    assert body["events"] == [
        {"event": "slot", "timestamp": None, "name": "procedure", "value": "mbb"},
        {"event": "slot", "timestamp": None, "name": "topic", "value": "pain"},
        {"event": "slot", "timestamp": None, "name": "discussed", "value": ["mbb"]},
    ]


def _long_session(turns: int) -> list:
    """The events Rasa sends after `turns` questions: each user message and full answer."""
    events = []
    for turn in range(turns):
        events += [
            {"event": "user", "text": f"question {turn} " + "why " * 20, "parse_data": {}},
            {"event": "action", "name": "action_answer_question"},
            {"event": "bot", "text": "An answer from the fact store. " * 40, "data": {}},
            {"event": "action", "name": "action_listen"},
        ]
    return events


def test_a_long_session_fits_the_action_servers_own_size_limit(action_server, store) -> None:
    """Rasa posts the whole session every turn; the public 64 KiB limit must not apply.

    This pair of servers runs with SANIC_REQUEST_MAX_SIZE=65536 like `make run`; before
    the action server had its own limit, this request got 500 (PayloadTooLarge) and the
    patient the apology, from about the 20th question of a session on.
    """
    body = _request("action_answer_question", "does the mbb hurt", "ask_pain", "mbb")
    body["tracker"]["events"] = _long_session(300)
    assert len(json.dumps(body)) > 5 * 65536
    status, reply = _post(action_server, body)
    assert status == 200
    assert store.fact("pain_during").answer in reply["responses"][0]["text"]


def test_request_size_limit_comes_from_its_own_variable() -> None:
    assert action_server_module.request_max_size_from_env({}) == 32 * 1024 * 1024
    assert (
        action_server_module.request_max_size_from_env(
            {"ACTION_REQUEST_MAX_SIZE": "4194304", "SANIC_REQUEST_MAX_SIZE": "65536"}
        )
        == 4194304
    )
    for bad in ("65536", "lots", "-1"):
        with pytest.raises(action_server_module.ConfigurationError, match="at least 1048576"):
            action_server_module.request_max_size_from_env({"ACTION_REQUEST_MAX_SIZE": bad})


def test_unknown_action_is_refused(action_server) -> None:
    status, body = _post(action_server, _request("action_does_not_exist", "hi", "greet"))
    assert status == 404
    assert body.get("action_name") == "action_does_not_exist"


def test_request_without_the_token_is_refused(action_server, store) -> None:
    body = _request("action_answer_question", "does the mbb hurt", "ask_pain", "mbb")
    status, reply = _post(action_server, body, token="")
    assert status == 401
    assert reply == {"error": "missing X-Action-Token header"}


def test_request_with_a_wrong_token_is_refused(action_server) -> None:
    body = _request("action_answer_question", "does the mbb hurt", "ask_pain", "mbb")
    status, reply = _post(action_server, body, token="x" * 64)
    assert status == 403
    assert "responses" not in reply


def test_action_list_needs_the_token_but_health_does_not(action_server) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(action_server + "/actions", timeout=10)
    assert refused.value.code == 401
    request = urllib.request.Request(action_server + "/actions", headers={"X-Action-Token": TOKEN})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert {"name": "action_answer_question"} in json.loads(response.read())
    with urllib.request.urlopen(action_server + "/health", timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ok"}


def _listening_addresses(port: int) -> set:
    """Local addresses of listening TCP sockets on `port`, from /proc/net/tcp{,6}."""
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                addresses.add(address)
    return addresses


def test_listens_on_loopback_only(action_server) -> None:
    port = int(action_server.rsplit(":", 1)[1])
    # 127.0.0.1 in /proc's little-endian hex; 0.0.0.0 would be 00000000.
    assert _listening_addresses(port) == {"0100007F"}


def test_refuses_to_start_without_a_token(tmp_path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "ACTION_SERVER_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.server.action_server", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "ACTION_SERVER_TOKEN is not set" in result.stderr


def test_refuses_to_start_with_a_short_token() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.server.action_server", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env={**os.environ, "ACTION_SERVER_TOKEN": "secret"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "shorter than 16 characters" in result.stderr
