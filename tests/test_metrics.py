"""Operations metrics: each turn counted once, by channel and outcome; no text; token only.

In-process through the channels' turn wrapper (bot/channels/fallback.py), then over HTTP
from the shared server pair, where the counters must move by exactly what was sent.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

import pytest
from rasa.core.channels.channel import UserMessage

from bot.channels import fallback
from bot.channels.output import WholeMessageCollector
from bot.server import metrics
from harness.client import new_sender, rest_text
from harness.shared import API_TOKEN


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


class Replier:
    """Stands in for Rasa: one reply with the given metadata, or silence."""

    def __init__(self, message: Optional[Dict[str, Any]], delay: float = 0.0) -> None:
        self.message = message
        self.delay = delay

    async def __call__(self, message: UserMessage) -> None:
        await asyncio.sleep(self.delay)
        if self.message is not None:
            await message.output_channel.send_response(message.sender_id, dict(self.message))


async def turn(replier: Replier, text: str, channel: str, timeout: float = 5.0) -> List[dict]:
    collector = WholeMessageCollector()
    message = UserMessage(text, collector, "patient-1", input_channel=channel)
    await fallback.run_turn(replier, message, timeout=timeout)
    return collector.messages


@pytest.fixture(autouse=True)
def clinic(monkeypatch) -> None:
    monkeypatch.setenv("CLINIC_CONFIG", "")
    monkeypatch.setenv("CLINIC_PHONE", "555-0100")


CASES: List[Tuple[Replier, str, str, Dict[str, float]]] = [
    (
        Replier({"text": "An answer.", "outcome": "answered"}),
        "does it hurt?",
        "answered",
        {},
    ),
    (Replier({"text": "Take care!"}), "bye", "small_talk", {}),  # a domain response
    (
        Replier({"text": "Call 911.", "outcome": "red_flag", "custom": {"urgency": "crisis"}}),
        "i want to end it",
        "red_flag",
        {"spine_faq_red_flags_total|crisis": 1},
    ),
    (
        Replier(None),
        "does it hurt?",
        "unavailable",
        {"spine_faq_assistant_failures_total|no_reply": 1},
    ),
    (
        Replier({"text": "late"}, delay=30),
        "does it hurt?",
        "unavailable",
        {"spine_faq_assistant_failures_total|timeout": 1},
    ),
    (Replier({"text": "never"}), "?!?", "unreadable", {}),
    (Replier({"text": "x", "outcome": "made-up"}), "does it hurt?", "other", {}),
]


@pytest.mark.parametrize("replier, text, outcome, extra", CASES)
async def test_each_turn_is_counted_once_by_channel_and_outcome(
    replier, text, outcome, extra
) -> None:
    channel = "test-" + outcome
    before_turns = value("spine_faq_turns_total", channel=channel, outcome=outcome)
    before_time = value("spine_faq_reply_seconds_count", channel=channel)
    await turn(replier, text, channel, timeout=0.5 if replier.delay else 5.0)
    assert value("spine_faq_turns_total", channel=channel, outcome=outcome) == before_turns + 1
    assert value("spine_faq_reply_seconds_count", channel=channel) == before_time + 1
    for key, delta in extra.items():
        name, label = key.split("|")
        labels = {"urgency": label} if "red_flags" in name else {"cause": label}
        assert value(name, channel=channel, **labels) == delta


async def test_the_apology_for_a_red_flag_counts_the_red_flag() -> None:
    before = value("spine_faq_red_flags_total", channel="test-down", urgency="emergency")
    [message] = await turn(Replier(None), "i lost control of my bladder", "test-down")
    assert message["custom"] == {"urgency": "emergency"}
    after = value("spine_faq_red_flags_total", channel="test-down", urgency="emergency")
    assert after == before + 1
    failures = value("spine_faq_assistant_failures_total", channel="test-down", cause="no_reply")
    assert failures >= 1


async def test_the_outcome_is_not_shown_to_the_patient() -> None:
    [message] = await turn(Replier({"text": "An answer.", "outcome": "answered"}), "hi", "t")
    assert "outcome" not in message


def test_the_token_guards_the_page(monkeypatch) -> None:
    monkeypatch.delenv(metrics.TOKEN_ENV, raising=False)
    allowed, reason = metrics.authorised("anything", None)
    assert not allowed and "RASA_AUTH_TOKEN" in reason
    monkeypatch.setenv(metrics.TOKEN_ENV, "s3cret")
    assert metrics.authorised("s3cret", None) == (True, "")
    assert metrics.authorised(None, "Bearer s3cret") == (True, "")
    assert not metrics.authorised("wrong", None)[0]
    assert not metrics.authorised(None, "Basic s3cret")[0]
    assert not metrics.authorised(None, None)[0]


# --- over HTTP, from the shared server pair ----------------------------------------------


def scrape(servers, token: Optional[str] = API_TOKEN) -> Tuple[int, str]:
    url = servers.url + "/webhooks/health/metrics" + (f"?token={token}" if token else "")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def sample(page: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{val}"' for key, val in sorted(labels.items()))
    for line in page.splitlines():
        if line.startswith(name + "{"):
            body, number = line.rsplit(" ", 1)
            found = body[len(name) + 1 : -1].split(",")
            if ",".join(sorted(found)) == wanted:
                return float(number)
    return 0.0


@pytest.mark.slow
def test_the_servers_counters_move_by_exactly_what_was_sent(servers) -> None:
    status, before = scrape(servers)
    assert status == 200, before
    sender = new_sender()
    rest_text(servers, "does a facet injection hurt?", sender)
    rest_text(servers, "I lost control of my bladder")
    rest_text(servers, "?!?!")
    status, after = scrape(servers)
    assert status == 200

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("spine_faq_turns_total", channel="rest", outcome="answered") == 1
    assert moved("spine_faq_turns_total", channel="rest", outcome="red_flag") == 1
    assert moved("spine_faq_turns_total", channel="rest", outcome="unreadable") == 1
    assert moved("spine_faq_red_flags_total", channel="rest", urgency="emergency") == 1
    assert moved("spine_faq_reply_seconds_count", channel="rest") == 3
    assert "facet" not in after and sender not in after  # counts only


@pytest.mark.slow
def test_the_metrics_page_needs_the_api_token(servers) -> None:
    for token in (None, "wrong"):
        status, body = scrape(servers, token)
        assert status == 403 and "token" in json.loads(body)["error"]
