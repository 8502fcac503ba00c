"""Rasa's REST channel with strict input checks: `bot.channels.rest.SafeRestInput`.

Registered in credentials.yml in place of `rest:` and keeping the name "rest", so
clinic systems still POST to /webhooks/rest/webhook and get the same JSON list of
bot messages. What changes, compared with Rasa's RestInput:

- A body that is not a JSON object with a non-empty string `sender` and `message`
  gets 400 {"error": "<one-line reason>"}. Stock Rasa answers some of these with 500
  and files a missing sender under one shared "default" conversation, mixing
  patients' histories.
- A body over MAX_BODY_BYTES gets 413 (the server-wide SANIC_REQUEST_MAX_SIZE,
  set by scripts/serve.sh, refuses bigger ones before they are even read).
- The client cannot choose `input_channel` (stock Rasa trusts the body): it is
  always "rest". `?stream=true` is not offered: every answer is one JSON list.
- Each bot message is one list entry with its `text`, `buttons` and, for the advice on a
  present red flag, `custom: {"urgency": ...}` (stock Rasa splits these apart).
- The text goes through `bot.channels.fallback` like every public channel: cleaned,
  the "/intent" shortcut neutralised, long messages answered with a polite note, and
  a safe reply (apology + clinic contact, or red-flag advice) when the assistant
  cannot answer.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import fallback
from bot.channels.json_body import BadRequest, json_object, string_field
from bot.channels.output import WholeMessageCollector
from bot.channels.routes import add_status_route

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

MAX_BODY_BYTES = 32 * 1024
MAX_SENDER_CHARS = 256
# Long enough for the guard's polite "too long" reply to be the answer; anything
# beyond is not a patient's question.
MAX_MESSAGE_FIELD_CHARS = 10_000


@dataclass(frozen=True)
class RestMessage:
    """A validated REST request."""

    sender: str
    message: str
    metadata: Optional[Dict[str, Any]]


def parse_body(body: bytes) -> RestMessage:
    """Validate a REST request body; raise BadRequest naming the first problem."""
    document = json_object(body, "'sender' and 'message'")
    sender = string_field(document, "sender", MAX_SENDER_CHARS)
    if any(unicodedata.category(char)[0] == "C" for char in sender):
        raise BadRequest("field 'sender' must not contain control or invisible characters")
    message = string_field(document, "message", MAX_MESSAGE_FIELD_CHARS)
    metadata = document.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest("field 'metadata' must be a JSON object")
    return RestMessage(sender=sender, message=message, metadata=metadata)


def error(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


class SafeRestInput(RestInput):
    """Rasa input channel `rest` with validation, size limits and a safe fallback."""

    async def handle(self, body: bytes, on_new_message: OnNewMessage) -> HTTPResponse:
        """One REST request: 400/413 for bad input, else the bot's messages as a JSON list.

        `on_new_message` is the protected one (`fallback.protect`).
        """
        if len(body) > MAX_BODY_BYTES:
            return error(413, f"body is larger than {MAX_BODY_BYTES} bytes")
        try:
            request = parse_body(body)
        except BadRequest as problem:
            return error(400, str(problem))
        collector = WholeMessageCollector()
        await on_new_message(
            UserMessage(
                request.message,
                collector,
                request.sender,
                input_channel=self.name(),
                metadata=request.metadata,
            )
        )
        return response.json(collector.messages)

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Routes: GET / (health) and POST /webhook, as in Rasa's RestInput."""
        rest = Blueprint("safe_rest_webhook", __name__)
        protected = fallback.protect(on_new_message)

        add_status_route(rest)

        @rest.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            return await self.handle(request.body or b"", protected)

        return rest
