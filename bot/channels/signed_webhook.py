"""A signed JSON webhook for messaging platforms, with exactly-once processing.

Messaging platforms deliver each patient message by POSTing it to us and retry when
they do not get an answer in time. Two things follow:

- Anyone who can reach the URL could otherwise talk to the bot as any patient, so
  every request must prove it comes from the platform: an HMAC-SHA256 of the raw body
  with a shared secret (`X-Signature-SHA256`), or a bearer token. The secrets come
  from the environment only; with neither set the channel refuses everything (503)
  rather than running open.
- A retried delivery must not be processed again (the patient would get a second
  answer and the conversation state would advance twice). Each message carries the
  platform's `message_id`. Before processing, the message is *claimed*: a row with
  that id is inserted into a table (SQLite, or PostgreSQL for replicas on several
  hosts), and only the request whose insert succeeds processes it. The response is
  then stored in that row and returned for every retry; a retry that arrives while
  the first delivery is still being processed waits for its response. This holds
  across server processes sharing the database, not only within one. A claim left by
  a process that crashed is taken over once it is older than STALE_CLAIM_SECONDS; a
  failed turn removes its claim, so the platform's retry is processed.

POST /webhooks/signed_webhook/webhook
    {"message_id": "wamid.123", "sender": "patient-42", "text": "does it hurt?"}
200 {"message_id": "wamid.123", "replies": [{"text": "...", "buttons": [...]}]}

The advice for a present red flag carries `"custom": {"urgency": "emergency" | "crisis" |
"infection"}` beside its text, so the platform can alert the clinic's staff.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional, Tuple, Union

import sqlalchemy as sa
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import fallback
from bot.channels.json_body import BadRequest, json_object, string_field
from bot.channels.output import WholeMessageCollector
from bot.channels.routes import add_status_route
from bot.core.paths import PROJECT_ROOT

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature-SHA256"
SECRET_ENV = "WEBHOOK_SECRET"
TOKEN_ENV = "WEBHOOK_TOKEN"
DB_ENV = "WEBHOOK_DB"
CREATE_DELIVERIES = (
    "CREATE TABLE IF NOT EXISTS deliveries ("
    " message_id VARCHAR(256) PRIMARY KEY,"
    " sender VARCHAR(256) NOT NULL,"
    " text_sha256 VARCHAR(64) NOT NULL,"
    " response TEXT NOT NULL,"
    " created_at REAL NOT NULL)"
)
DEFAULT_DB = PROJECT_ROOT / "var" / "webhook.sqlite3"
# A claim older than twice the turn's time limit plus this is from a process that died.
STALE_CLAIM_SECONDS = 30.0
CLAIM_POLL_SECONDS = 0.1
MAX_ID_CHARS = 256
MAX_TEXT_CHARS = 5000

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
Result = Tuple[int, Dict[str, Any]]


def sign(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `body` a platform puts in `X-Signature-SHA256`."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _same(expected: str, provided: str) -> bool:
    """Constant-time comparison; bytes, because compare_digest rejects non-ASCII str."""
    return hmac.compare_digest(expected.encode("utf-8"), provided.encode("utf-8", "replace"))


def authenticated(
    body: bytes,
    signature: Optional[str],
    authorization: Optional[str],
    secret: Optional[str],
    token: Optional[str],
) -> bool:
    """True when the body's signature or the bearer token matches a configured secret."""
    if secret and signature:
        provided = signature.strip()
        if provided.lower().startswith("sha256="):
            provided = provided[len("sha256=") :]
        if _same(sign(secret, body), provided.lower()):
            return True
    if token and authorization:
        scheme, _, provided = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and _same(token, provided.strip()):
            return True
    return False


@dataclass(frozen=True)
class Inbound:
    """One patient message as the platform delivered it."""

    message_id: str
    sender: str
    text: str

    @property
    def digest(self) -> str:
        """Identifies the text without storing it: the store never holds patient text."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def parse_inbound(body: bytes) -> Inbound:
    """Validate the JSON body; raise BadRequest naming the first problem."""
    document = json_object(body, "'message_id', 'sender' and 'text'")
    return Inbound(
        message_id=string_field(document, "message_id", MAX_ID_CHARS),
        sender=string_field(document, "sender", MAX_ID_CHARS),
        text=string_field(document, "text", MAX_TEXT_CHARS),
    )


@dataclass(frozen=True)
class Delivery:
    """A processed message: who sent it, a digest of its text, and our response."""

    sender: str
    text_digest: str
    response: Dict[str, Any]


CLAIMED, DONE, CONFLICT, BUSY = "claimed", "done", "conflict", "busy"
IN_PROGRESS = ""  # the response column of a claimed message still being processed


class DeliveryStore:
    """Table message_id -> first response, shared by every retry of a message.

    SQLite by default (a file: it survives restarts, since platforms retry across our
    restarts too, and needs no server; every process on the host that opens it shares
    the claims), or any database SQLAlchemy reaches, given as a URL in WEBHOOK_DB
    (`postgresql://...`), so replicas on several hosts share them. Calls are blocking;
    the channel runs them in worker threads.
    """

    def __init__(self, location: Union[Path, str]) -> None:
        self.path: Optional[Path] = None
        if isinstance(location, Path):
            self.path = location
            location.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{location}"
            self.engine = sa.create_engine(
                url, connect_args={"timeout": 10, "check_same_thread": False}
            )
        else:
            self.engine = sa.create_engine(location, pool_pre_ping=True)
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.text(CREATE_DELIVERIES))
        except sa.exc.IntegrityError:
            # Replicas starting together on a fresh PostgreSQL database: "IF NOT EXISTS"
            # is not atomic there, and the other replica created the table first.
            if not sa.inspect(self.engine).has_table("deliveries"):
                raise

    def _row(self, connection: Any, message_id: str) -> Any:
        return connection.execute(
            sa.text(
                "SELECT sender, text_sha256, response, created_at FROM deliveries"
                " WHERE message_id = :id"
            ),
            {"id": message_id},
        ).fetchone()

    def get(self, message_id: str) -> Optional[Delivery]:
        """The stored response of a processed message (None while it is in progress)."""
        with self.engine.connect() as connection:
            row = self._row(connection, message_id)
        if row is None or row[2] == IN_PROGRESS:
            return None
        return Delivery(sender=row[0], text_digest=row[1], response=json.loads(row[2]))

    def claim(
        self, message_id: str, sender: str, digest: str, stale_after: float
    ) -> Tuple[str, Optional[Delivery]]:
        """(CLAIMED, None): process it now; (DONE, delivery): answer with the stored
        response; (CONFLICT, None): the id belongs to another message; (BUSY, None):
        another request is processing it."""
        now = time.time()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO deliveries (message_id, sender, text_sha256, response,"
                        " created_at) VALUES (:id, :sender, :digest, :response, :now)"
                    ),
                    {
                        "id": message_id,
                        "sender": sender,
                        "digest": digest,
                        "response": IN_PROGRESS,
                        "now": now,
                    },
                )
            return CLAIMED, None
        except sa.exc.IntegrityError:
            pass  # already claimed: by whom, and is it done?
        with self.engine.begin() as connection:
            row = self._row(connection, message_id)
            if row is None:  # released in between: ask again
                return BUSY, None
            if row[0] != sender or row[1] != digest:
                return CONFLICT, None
            if row[2] != IN_PROGRESS:
                return DONE, Delivery(row[0], row[1], json.loads(row[2]))
            if row[3] < now - stale_after:  # its claimer died: take it over
                taken = connection.execute(
                    sa.text(
                        "UPDATE deliveries SET created_at = :now WHERE message_id = :id"
                        " AND response = :response AND created_at = :then"
                    ),
                    {"now": now, "id": message_id, "response": IN_PROGRESS, "then": row[3]},
                )
                if taken.rowcount == 1:
                    return CLAIMED, None
            return BUSY, None

    def finish(self, message_id: str, response: Dict[str, Any]) -> None:
        """Store the response of a claimed message."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE deliveries SET response = :response WHERE message_id = :id"),
                {"response": json.dumps(response), "id": message_id},
            )

    def release(self, message_id: str) -> None:
        """Drop the claim of a message that could not be processed (a retry may)."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.text("DELETE FROM deliveries WHERE message_id = :id AND response = :response"),
                {"id": message_id, "response": IN_PROGRESS},
            )


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: Dict[str, asyncio.Lock] = {}
        self._users: Dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


def collected_replies(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The bot's messages as {"text", "buttons", "custom"?}; the platform renders buttons.

    `custom` is there only on the advice for a present red flag: {"urgency": ...}.
    """
    replies = []
    for message in messages:
        if message.get("text") or message.get("buttons"):
            reply = {"text": message.get("text", ""), "buttons": list(message.get("buttons") or [])}
            if message.get("custom"):
                reply["custom"] = message["custom"]
            replies.append(reply)
    return replies


def _resolve_db_path(raw: Optional[str]) -> Union[Path, str]:
    """WEBHOOK_DB: a database URL (`postgresql://...`) as given, or a SQLite file, relative
    paths taken from the project root (not the working dir)."""
    if not raw:
        return DEFAULT_DB
    if "://" in raw:
        return raw.strip()
    path = Path(raw).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


class SignedWebhookInput(InputChannel):
    """Rasa input channel `signed_webhook`; see the module docstring for the protocol."""

    @classmethod
    def name(cls) -> str:
        return "signed_webhook"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> SignedWebhookInput:
        """Read the secrets from the environment, never from credentials.yml (kept in git)."""
        if credentials:
            logger.warning(
                "signed_webhook: settings in credentials.yml are ignored; set %s, %s and %s"
                " in the environment",
                SECRET_ENV,
                TOKEN_ENV,
                DB_ENV,
            )
        return cls(
            secret=os.environ.get(SECRET_ENV) or None,
            token=os.environ.get(TOKEN_ENV) or None,
            db_path=_resolve_db_path(os.environ.get(DB_ENV)),
        )

    def __init__(
        self,
        secret: Optional[str] = None,
        token: Optional[str] = None,
        db_path: Union[Path, str] = DEFAULT_DB,
    ) -> None:
        self.secret = secret
        self.token = token
        self.locks = KeyedLocks()
        # Only create the database when the channel can be used at all, so a plain
        # `make run` leaves no files behind.
        self.store: Optional[DeliveryStore] = DeliveryStore(db_path) if self.configured else None
        if not self.configured:
            logger.warning(
                "signed_webhook: neither %s nor %s is set; every request gets 503",
                SECRET_ENV,
                TOKEN_ENV,
            )

    @property
    def configured(self) -> bool:
        return bool(self.secret or self.token)

    async def handle(
        self,
        body: bytes,
        signature: Optional[str],
        authorization: Optional[str],
        on_new_message: OnNewMessage,
    ) -> Result:
        """Status and JSON body for one webhook request (the HTTP route is a thin wrapper)."""
        if self.store is None:
            return 503, {"error": "webhook not configured"}
        if not authenticated(body, signature, authorization, self.secret, self.token):
            logger.warning("signed_webhook: refused a request without a valid signature or token")
            return 401, {"error": "invalid or missing signature"}
        try:
            inbound = parse_inbound(body)
        except BadRequest as error:
            return 400, {"error": str(error)}
        return await self._deliver(inbound, on_new_message, self.store)

    async def _deliver(
        self, inbound: Inbound, on_new_message: OnNewMessage, store: DeliveryStore
    ) -> Result:
        # The in-process lock saves polling; the claim in the table is what holds
        # across processes.
        async with self.locks.hold(inbound.message_id):
            stale = fallback.reply_timeout() * 2 + STALE_CLAIM_SECONDS
            deadline = time.monotonic() + stale + CLAIM_POLL_SECONDS * 10
            while True:
                state, stored = await asyncio.to_thread(
                    store.claim, inbound.message_id, inbound.sender, inbound.digest, stale
                )
                if state != BUSY:
                    break
                if time.monotonic() > deadline:
                    return 503, {"error": "the message is still being processed, retry later"}
                await asyncio.sleep(CLAIM_POLL_SECONDS)
            if state == CONFLICT:
                logger.warning(
                    "signed_webhook: message_id %s reused for a different message",
                    inbound.message_id,
                )
                return 409, {"error": "message_id was already used for a different message"}
            if state == DONE and stored is not None:
                logger.info(
                    "signed_webhook: %s is a retry; sent the stored response", inbound.message_id
                )
                return 200, stored.response
            collector = WholeMessageCollector()
            message = UserMessage(
                inbound.text,
                collector,
                inbound.sender,
                input_channel=self.name(),
                message_id=inbound.message_id,
            )
            if not await fallback.hand_over(on_new_message, message):
                # The claim goes: the platform's retry gets another chance.
                await asyncio.to_thread(store.release, inbound.message_id)
                return 500, {"error": "the message could not be processed, retry later"}
            result = {
                "message_id": inbound.message_id,
                "replies": collected_replies(collector.messages),
            }
            await asyncio.to_thread(store.finish, inbound.message_id, result)
            logger.info("signed_webhook: processed %s", inbound.message_id)
            return 200, result

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("signed_webhook", __name__)
        # Cleaned text, and a safe reply instead of silence (bot/channels/fallback.py).
        protected = fallback.protect(on_new_message)

        add_status_route(webhook, lambda: self.configured)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            status, payload = await self.handle(
                request.body or b"",
                request.headers.get(SIGNATURE_HEADER),
                request.headers.get("Authorization"),
                protected,
            )
            return response.json(payload, status=status)

        return webhook
