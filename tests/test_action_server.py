"""One HTTP-level test of the action server through its Sanic app."""

from __future__ import annotations

import pytest
from rasa_sdk.endpoint import create_app
from sanic import Sanic


def _request(text: str, intent: str, procedure=None) -> dict:
    entities = [{"entity": "procedure", "value": procedure}] if procedure else []
    return {
        "next_action": "action_answer_question",
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


@pytest.fixture(scope="module")
def app():
    Sanic.test_mode = True  # lets each test module build its own app
    return create_app("actions")


def test_webhook_answers_from_the_fact_store(app, store) -> None:
    _, response = app.test_client.post("/webhook", json=_request("does the mbb hurt", "ask_pain", "mbb"))
    assert response.status == 200
    body = response.json
    assert store.fact("pain_during").answer in body["responses"][0]["text"]
    assert body["events"] == [{"event": "slot", "timestamp": None, "name": "procedure", "value": "mbb"}]


def test_unknown_action_is_refused(app) -> None:
    request = _request("hi", "greet")
    request["next_action"] = "action_does_not_exist"
    _, response = app.test_client.post("/webhook", json=request)
    assert response.status == 404
