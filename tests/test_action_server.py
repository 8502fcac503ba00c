"""HTTP-level tests of the real action server process (what Rasa talks to)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.servers import Servers


@pytest.fixture(scope="module")
def action_server(tmp_path_factory):
    servers = Servers(tmp_path_factory.mktemp("actions"))
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


def _post(url: str, body: dict):
    request = urllib.request.Request(
        url + "/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
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
        {"event": "slot", "timestamp": None, "name": "procedure", "value": "mbb"}
    ]


def test_unknown_action_is_refused(action_server) -> None:
    status, body = _post(action_server, _request("action_does_not_exist", "hi", "greet"))
    assert status == 404
    assert body.get("action_name") == "action_does_not_exist"
