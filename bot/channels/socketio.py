"""Rasa's socket.io channel, hardened: `bot.channels.socketio.SafeSocketIOInput`.

Registered in credentials.yml in place of `socketio:` with the same keys, and keeping
the name "socketio", the same events and session persistence, so the web chat widget
works unchanged. What changes, compared with Rasa's SocketIOInput:

- Origins. Stock Rasa disables python-engineio's origin check (`cors_allowed_origins=
  []`), so any web page can open a socket to the assistant through a patient's
  browser. Here a browser connection is accepted only from an allowed origin:
  the server's own (http://127.0.0.1:<port>, http://localhost:<port>, where the
  demo page /webhooks/webchat/ lives), the clinic settings' `allowed_origins`
  (CLINIC_ALLOWED_ORIGINS or clinic.yml), this channel's `allowed_origins` in
  credentials.yml, and origins allowed with Rasa's `--cors`. Clients that send no
  Origin header (servers, not browsers) are not affected.
- Payloads. A `user_uttered` payload that is not an object, or lacks a string
  `message` or (with session persistence) a string `session_id`, is ignored instead
  of raising inside the server; `session_request` accepts only a string session id.
- Size. A socket.io packet over MAX_PACKET_BYTES closes the connection
  (python-engineio's max_http_buffer_size, 1 MB by default).
- Each bot message is one `bot_uttered` event with its text, buttons (`quick_replies`)
  and custom payload (`{"urgency": ...}` on the advice for a present red flag).
- The text goes through `bot.channels.fallback` like every public channel.
"""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import engineio
import socketio
from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from sanic import Blueprint, response

from bot.channels import fallback
from bot.channels.feedback import parse_vote, record_vote
from bot.channels.output import WholeMessageSocketIOOutput
from bot.channels.routes import add_status_route
from bot.core.settings import SettingsError, current_settings, parse_origins
from bot.server.rasa_internals import cors_flag_allows

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

MAX_PACKET_BYTES = 64 * 1024
MAX_SESSION_ID_CHARS = 128
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def settings_origins() -> Tuple[str, ...]:
    """The clinic settings' allowed origins (read per connection, like the answers)."""
    try:
        return tuple(current_settings().allowed_origins)
    except SettingsError:
        logger.exception("socketio: clinic settings are broken; allowing same-origin only")
        return ()


class OriginPolicy:
    """Which browser origins may open a socket.io connection."""

    def __init__(self, configured: Any = ()) -> None:
        """`configured`: credentials.yml's list (or comma-separated string), checked as
        the clinic settings' origins are: a malformed origin or "*" stops the start-up."""
        self.configured = parse_origins(configured, "credentials.yml socketio allowed_origins")

    def own_origins(self, port: int) -> List[str]:
        return [f"http://{host}:{port}" for host in LOCAL_HOSTS]

    def allows(self, origin: str, request: Any = None) -> bool:
        """True for the server's own origin and every configured one."""
        origin = origin.rstrip("/")
        if origin in self.configured or origin in settings_origins():
            return True
        if request is not None:
            port = getattr(getattr(request, "conn_info", None), "server_port", None)
            if port and origin in self.own_origins(port):
                return True
            return cors_flag_allows(request, origin)
        return False


class OriginCheckingEngineServer(engineio.AsyncServer):
    """python-engineio server that refuses browser connections from other origins.

    The check is done here, before engineio sees the request (engineio's own check is
    switched off with `cors_allowed_origins=[]`, as in stock Rasa, because it cannot
    see the server's port or Rasa's `--cors`). Response CORS headers are added only
    for allowed origins that `--cors` does not already cover: Sanic-CORS adds its
    own, and a doubled Access-Control-Allow-Origin header makes browsers reject the
    response.
    """

    def __init__(self, *args: Any, origin_policy: OriginPolicy, **kwargs: Any) -> None:
        kwargs["cors_allowed_origins"] = []
        super().__init__(*args, **kwargs)
        self.origin_policy = origin_policy

    def _cors_headers(self, environ: Dict[str, Any]) -> List[Tuple[str, str]]:
        origin = environ.get("HTTP_ORIGIN")
        request = environ.get("sanic.request")
        if not origin or request is None or cors_flag_allows(request, origin):
            return []
        if not self.origin_policy.allows(origin, request):
            return []
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            headers.append(("Access-Control-Allow-Methods", "OPTIONS, GET, POST"))
        if "HTTP_ACCESS_CONTROL_REQUEST_HEADERS" in environ:
            headers.append(
                ("Access-Control-Allow-Headers", environ["HTTP_ACCESS_CONTROL_REQUEST_HEADERS"])
            )
        headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        request = args[0] if args else None
        origin = request.headers.get("origin") if request is not None else None
        if origin and not self.origin_policy.allows(origin, request):
            logger.warning("socketio: refused a connection from origin %s", origin[:200])
            return response.json({"error": f"{origin[:200]} is not an allowed origin"}, status=403)
        result = await super().handle_request(*args, **kwargs)
        if result is None:
            # python-engineio returns nothing once a websocket it served has closed (a
            # widget reloaded or closed); Sanic would log that as a crash with a traceback
            # ("Invalid response type None"). The socket is gone: an empty response ends it.
            return response.empty()
        return result


class OriginCheckingSocketServer(socketio.AsyncServer):
    """python-socketio server built on OriginCheckingEngineServer."""

    def _engineio_server_class(self) -> type:
        return OriginCheckingEngineServer


def _session_id(data: Any) -> Optional[str]:
    """A usable session id from a payload, or None."""
    if not isinstance(data, dict):
        return None
    session_id = data.get("session_id")
    if isinstance(session_id, str) and 0 < len(session_id.strip()) <= MAX_SESSION_ID_CHARS:
        return session_id
    return None


def _metadata(data: Dict[str, Any], key: str) -> Dict[str, Any]:
    """The payload's metadata as a dict; anything else (bad JSON, a list) is dropped."""
    metadata = data.get(key)
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            return {}
    return metadata if isinstance(metadata, dict) else {}


class SafeSocketIOInput(SocketIOInput):
    """Rasa input channel `socketio` with an origin allow-list and checked payloads."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> SafeSocketIOInput:
        credentials = credentials or {}
        channel = cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("session_persistence", False),
            credentials.get("socketio_path", "/socket.io"),
            credentials.get("jwt_key"),
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
        )
        channel.origin_policy = OriginPolicy(credentials.get("allowed_origins"))
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.origin_policy = OriginPolicy()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The socket.io server and its events, as in Rasa's SocketIOInput, hardened."""
        protected = fallback.protect(on_new_message)
        sio = OriginCheckingSocketServer(
            async_mode="sanic",
            origin_policy=self.origin_policy,
            max_http_buffer_size=MAX_PACKET_BYTES,
        )
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio

        add_status_route(socketio_webhook)

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: Dict, auth: Optional[Dict]) -> bool:
            if not self.jwt_key:
                logger.debug("socketio: %s connected", sid)
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            if token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm):
                return True
            return False

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: str) -> None:
            logger.debug("socketio: %s disconnected", sid)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            session_id = _session_id(data) or uuid.uuid4().hex
            if self.session_persistence:
                # A coroutine from python-socketio 5.10 on, a plain call before: Rasa's own
                # handler does not await it, which is why Rasa pins need 5.9 (this one is ours).
                entered = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(entered):
                    await entered
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @socketio_webhook.listener("before_server_start")
        async def remember_app(app: Any, _: Any) -> None:
            self.app = app  # Rasa puts the agent on app.ctx once the model is loaded

        @sio.on("feedback", namespace=self.namespace)
        async def feedback(sid: str, data: Any = None) -> bool:
            """A widget vote on an answer (bot/channels/feedback.py); True when stored."""
            vote = parse_vote(data)
            sender_id = _session_id(data) if self.session_persistence else sid
            agent = getattr(getattr(getattr(self, "app", None), "ctx", None), "agent", None)
            if vote is None or sender_id is None or agent is None:
                logger.warning("socketio: ignored a feedback event that is not a vote")
                return False
            try:
                return await record_vote(agent, sender_id, vote)
            except Exception:
                logger.exception("socketio: could not store a vote")
                return False

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            if not isinstance(data, dict) or not isinstance(data.get("message"), str):
                logger.warning(
                    "socketio: ignored a %s without a text message", self.user_message_evt
                )
                return
            if self.session_persistence:
                sender_id = _session_id(data)
                if sender_id is None:
                    logger.warning("socketio: ignored a message without a valid session_id")
                    return
            else:
                sender_id = sid
            if not data["message"].strip():
                return
            await protected(
                UserMessage(
                    data["message"],
                    WholeMessageSocketIOOutput(sio, self.bot_message_evt),
                    sender_id,
                    input_channel=self.name(),
                    metadata=_metadata(data, self.metadata_key),
                )
            )

        return socketio_webhook
