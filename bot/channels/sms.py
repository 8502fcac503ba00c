"""SMS and WhatsApp through Twilio, with replies rendered for plain text.

Rasa's built-in `twilio` connector receives Twilio's form-encoded webhook and sends
replies through the Twilio client. This subclass (channel `twilio_sms`, webhook
`/webhooks/twilio_sms/webhook`) changes what matters for patients on a phone:

- Follow-up buttons become numbered choices ("Reply 1, 2 or 3."), and a bare number
  reply is mapped back to the choice's payload (`bot.channels.plain_text`).
- Long answers are sent as numbered parts under `SMS_MAX_CHARS`.
- The advice for a present red flag starts with a plain "URGENT:" line.
- Credentials come from the environment, never from credentials.yml (kept in git).
  Without them the webhook answers 503 and processes nothing, so `make run` works
  on a machine with no Twilio account.
- `X-Twilio-Signature` is checked, so nobody but Twilio can post as a patient.
- Local/test mode: with `SMS_OUTBOX` set to a file, each outgoing SMS is appended to
  it as a JSON line {"to", "body"} instead of going to Twilio (and the signature check
  is off, since no real Twilio is involved).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels import fallback, plain_text
from bot.channels.output import urgency_of
from bot.channels.routes import add_status_route
from bot.channels.shared_choices import choice_memory_from_env
from bot.core.facts import FactStoreError, load_fact_store

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

ACCOUNT_SID_ENV = "TWILIO_ACCOUNT_SID"
AUTH_TOKEN_ENV = "TWILIO_AUTH_TOKEN"
NUMBER_ENV = "TWILIO_NUMBER"
WEBHOOK_URL_ENV = "TWILIO_WEBHOOK_URL"
OUTBOX_ENV = "SMS_OUTBOX"
SIGNATURE_HEADER = "X-Twilio-Signature"
WHATSAPP_PREFIX = "whatsapp:"


class OutboxTransport:
    """Appends each SMS to a JSON-lines file: the stubbed sender for local runs and tests."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def send(self, to: str, body: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"to": to, "body": body}, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(line + "\n")


class TwilioTransport:
    """Sends each SMS with the Twilio REST client."""

    def __init__(self, client: Client, from_number: str) -> None:
        self.client = client
        self.from_number = from_number

    def _from_for(self, to: str) -> str:
        # A WhatsApp conversation must be answered from the WhatsApp sender.
        if to.startswith(WHATSAPP_PREFIX) and not self.from_number.startswith(WHATSAPP_PREFIX):
            return WHATSAPP_PREFIX + self.from_number
        return self.from_number

    async def send(self, to: str, body: str) -> None:
        try:
            # The client is blocking; a worker thread keeps the server answering.
            await asyncio.to_thread(
                self.client.messages.create, to=to, from_=self._from_for(to), body=body
            )
        except TwilioRestException as error:
            # Logged, not raised: aborting mid-turn would lose the conversation state
            # while the patient may already have received the earlier parts.
            logger.error("twilio_sms: Twilio refused a message (status %s)", error.status)


class PlainTextSmsOutput(OutputChannel):
    """Sends bot messages as plain-text parts and remembers the choices offered."""

    @classmethod
    def name(cls) -> str:
        return "twilio_sms"

    def __init__(
        self,
        transport: Any,
        choices: plain_text.Choices,
        max_chars: int = plain_text.DEFAULT_MAX_CHARS,
        short_titles: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.transport = transport
        self.choices = choices
        self.max_chars = max_chars
        self.short_titles = short_titles or {}

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """Mark urgent advice with a first "URGENT:" line, then send as Rasa would."""
        if urgency_of(message) and message.get("text"):
            message = {**message, "text": f"{plain_text.URGENT_LINE}\n{message['text']}"}
        if message.get("text"):
            # Every character is billed: short article titles and procedure labels.
            message = {**message, "text": plain_text.compact(message["text"], self.short_titles)}
        message = {key: value for key, value in message.items() if key != "custom"}
        await super().send_response(recipient_id, message)

    async def _send_parts(self, recipient_id: str, parts: Sequence[str]) -> None:
        # One after the other: the "(i/n)" prefixes cover carriers that reorder.
        for part in parts:
            await self.transport.send(recipient_id, part)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_parts(recipient_id, plain_text.render_parts(text, (), self.max_chars))

    async def send_text_with_buttons(
        self,
        recipient_id: str,
        text: str,
        buttons: List[Dict[str, Any]],
        **kwargs: Any,
    ) -> None:
        self.choices.offer(recipient_id, plain_text.button_payloads(buttons))
        await self._send_parts(recipient_id, plain_text.render_parts(text, buttons, self.max_chars))


def short_titles_from_fact_store(path: Optional[Path] = None) -> Dict[str, str]:
    """Full article title -> short title, as the fact store names them.

    A store that cannot be read costs only the shortening: the action server reports
    the store's problem, and SMS answers keep their full titles.
    """
    try:
        store = load_fact_store(path) if path is not None else load_fact_store()
    except FactStoreError as error:
        logger.warning("twilio_sms: article titles stay long (%s)", error)
        return {}
    return {source.title: source.short_title for source in store.sources.values()}


def _first(form: Mapping[str, Sequence[str]], name: str) -> Optional[str]:
    values = form.get(name)
    return values[0] if values else None


class _FormParams(Dict[str, List[str]]):
    """Form fields as lists, in the shape twilio's RequestValidator reads (`getlist`)."""

    def getlist(self, name: str) -> List[str]:
        return self[name]


class TwilioSmsInput(TwilioInput):
    """Rasa input channel `twilio_sms`: Twilio SMS/WhatsApp rendered for plain text."""

    @classmethod
    def name(cls) -> str:
        return "twilio_sms"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> TwilioSmsInput:
        """Everything from the environment; the credentials.yml section stays empty."""
        if credentials:
            logger.warning(
                "twilio_sms: settings in credentials.yml are ignored; use %s, %s and %s",
                ACCOUNT_SID_ENV,
                AUTH_TOKEN_ENV,
                NUMBER_ENV,
            )
        outbox = os.environ.get(OUTBOX_ENV)
        return cls(
            account_sid=os.environ.get(ACCOUNT_SID_ENV) or None,
            auth_token=os.environ.get(AUTH_TOKEN_ENV) or None,
            twilio_number=os.environ.get(NUMBER_ENV) or None,
            outbox=Path(outbox) if outbox else None,
            max_chars=plain_text.max_chars_from_env(),
            webhook_url=os.environ.get(WEBHOOK_URL_ENV) or None,
            choices=choice_memory_from_env(),
            short_titles=short_titles_from_fact_store(),
        )

    def __init__(
        self,
        account_sid: Optional[str],
        auth_token: Optional[str],
        twilio_number: Optional[str],
        outbox: Optional[Path] = None,
        max_chars: int = plain_text.DEFAULT_MAX_CHARS,
        webhook_url: Optional[str] = None,
        choices: Optional[plain_text.Choices] = None,
        short_titles: Optional[Mapping[str, str]] = None,
    ) -> None:
        # debug_mode=False: an error is logged and answered with 500, not re-raised.
        super().__init__(account_sid, auth_token, twilio_number, debug_mode=False)
        self.outbox = outbox
        self.max_chars = max_chars
        self.webhook_url = webhook_url
        self.choices = choices or plain_text.ChoiceMemory()
        self.short_titles = dict(short_titles or {})
        self._client: Optional[Client] = None
        if outbox is not None:
            logger.warning("twilio_sms: local mode, SMS are written to %s, not sent", outbox)
        elif not self.configured:
            logger.warning(
                "twilio_sms: %s, %s and %s are not all set; the webhook answers 503",
                ACCOUNT_SID_ENV,
                AUTH_TOKEN_ENV,
                NUMBER_ENV,
            )

    @property
    def configured(self) -> bool:
        return self.outbox is not None or bool(
            self.account_sid and self.auth_token and self.twilio_number
        )

    @property
    def checks_signatures(self) -> bool:
        """Twilio signs with the auth token; the local outbox mode has no real Twilio."""
        return bool(self.auth_token) and self.outbox is None

    def _transport(self) -> Any:
        if self.outbox is not None:
            return OutboxTransport(self.outbox)
        if self._client is None:
            self._client = Client(self.account_sid, self.auth_token)
        return TwilioTransport(self._client, self.twilio_number or "")

    def get_output_channel(self) -> OutputChannel:
        """Also used by Rasa for messages it sends on its own (reminders, triggers)."""
        return PlainTextSmsOutput(
            self._transport(), self.choices, self.max_chars, self.short_titles
        )

    def signature_valid(
        self, url: str, form: Mapping[str, Sequence[str]], signature: Optional[str]
    ) -> bool:
        if not signature or not self.auth_token:
            return False
        params = _FormParams({name: list(values) for name, values in form.items()})
        return RequestValidator(self.auth_token).validate(
            self.webhook_url or url, params, signature
        )

    async def handle(
        self,
        url: str,
        form: Mapping[str, Sequence[str]],
        signature: Optional[str],
        on_new_message: OnNewMessage,
    ) -> Tuple[int, str]:
        """Status and body for one Twilio webhook request; replies go out as SMS."""
        if not self.configured:
            return 503, "SMS channel not configured"
        if self.checks_signatures and not self.signature_valid(url, form, signature):
            logger.warning("twilio_sms: refused a request with an invalid Twilio signature")
            return 403, "invalid Twilio signature"
        sender = _first(form, "From")
        body = _first(form, "Body")
        if not sender or not body or not body.strip():
            return 400, "From and a non-empty Body are required"
        # Some carriers turn "@" into "¡" (as in Rasa's twilio connector).
        text = self.choices.resolve(sender, body.replace("¡", "@"))
        # Numbers refer to the choices of the latest bot turn only.
        self.choices.clear(sender)
        message_sid = _first(form, "MessageSid")
        output = self.get_output_channel()
        message = UserMessage(
            text, output, sender, input_channel=self.name(), message_id=message_sid
        )
        if not await fallback.hand_over(on_new_message, message):
            return 500, ""  # Twilio retries; the provider's outage is logged
        return 204, ""

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("twilio_sms_webhook", __name__)
        # Cleaned text, and a safe reply instead of silence (bot/channels/fallback.py).
        protected = fallback.protect(on_new_message)

        add_status_route(webhook, lambda: self.configured)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            # Sanic's form.get() returns only the first value; the validator needs all.
            form = {name: request.form.getlist(name) for name in request.form.keys()}
            status, body = await self.handle(
                request.url,
                form,
                request.headers.get(SIGNATURE_HEADER),
                protected,
            )
            return response.text(body, status=status)

        return webhook
