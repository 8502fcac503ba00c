"""Rasa input channel that serves the web chat widget, its demo page and its branding.

Patients talk to the assistant over our socket.io channel (bot/channels/socketio.py,
`bot.channels.socketio.SafeSocketIOInput` in credentials.yml); this channel only serves
what a browser needs for that, from the Rasa server itself, so a clinic adds one
<script> tag and nothing is loaded from a CDN: the widget's files, the demo page,
`config.json` (branding and starter questions) and `embed-check` (whether the page's
origin may connect, so the widget can say the chat is not available there). Register
it in credentials.yml as `bot.channels.webchat.WebChatInput:`; Rasa mounts it under
`/webhooks/webchat/`.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from string import Template
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.core.answers import STARTER_TOPICS, topic_buttons
from bot.core.facts import FactStoreError, ReloadingFactStore
from bot.core.paths import PROJECT_ROOT
from bot.core.settings import SettingsError, current_settings

logger = logging.getLogger(__name__)

WEB_DIR = PROJECT_ROOT / "web"

# URL name -> (path inside the web directory, content type). A fixed table, so a
# request can never name a file outside it (no path traversal to guard against).
ASSETS: Dict[str, Tuple[str, str]] = {
    "widget.js": ("widget.js", "application/javascript; charset=utf-8"),
    "widget.css": ("widget.css", "text/css; charset=utf-8"),
    "socket.io.min.js": (
        "node_modules/socket.io-client/dist/socket.io.min.js",
        "application/javascript; charset=utf-8",
    ),
}

# Browsers must revalidate, so a clinic sees a new widget or new branding after a
# restart without asking patients to clear their cache.
NO_CACHE = {"Cache-Control": "no-cache"}

# The demo page loads only what this server serves; the policy makes a stray CDN
# reference fail loudly in the browser test instead of silently needing the internet.
DEMO_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'"
)

# The clinic settings the widget shows (all public: they are on the clinic's page anyway).
WIDGET_FIELDS = ("name", "phone", "email", "hours", "website", "title", "primary_color", "welcome")

_fact_store = ReloadingFactStore()
# Origins already reported as refused, so the log tells IT the fix once per origin.
_refused_reported: set = set()


def embed_check(request: Any) -> HTTPResponse:
    """Whether the page asking may use the chat: {"allowed": true|false}.

    A clinic page whose origin is not allowed cannot read the server's answers (the browser
    enforces CORS), so the widget could only say "check your internet connection",
    blaming the patient's network. This one answer is readable from any page (it tells
    nothing but yes or no), so the widget can say "the chat is not available on this page"
    instead, while the log tells IT what to set.
    """
    from bot.channels.socketio import OriginPolicy
    from bot.server.rasa_internals import cors_flag_allows

    origin = (request.headers.get("origin") or "").rstrip("/")
    allowed = not origin or OriginPolicy().allows(origin, request)
    headers = dict(NO_CACHE)
    if origin and not cors_flag_allows(request, origin):
        # Sanic-CORS answers for the origins --cors allows; a second header would break them.
        headers["Access-Control-Allow-Origin"] = "*"
    if not allowed and origin not in _refused_reported:
        _refused_reported.add(origin)
        logger.warning(
            "webchat: the page at %s may not use the chat. To embed it there, add that"
            " origin to CLINIC_ALLOWED_ORIGINS (or allowed_origins in clinic.yml) and"
            " restart (README, 'Web chat widget')",
            origin[:200],
        )
    return response.json({"allowed": allowed}, headers=headers)


def missing_asset(path: Path) -> HTTPResponse:
    """503 with the fix, for a checkout where `npm ci` (make install) has not run yet."""
    return response.text(
        f"Web chat asset missing: {path}.\n"
        "Run `make install` (it runs `npm ci --prefix web`) and restart the server.\n",
        status=503,
        headers=NO_CACHE,
    )


def asset_response(name: str, web_dir: Path = WEB_DIR) -> HTTPResponse:
    """One of the widget's static files, or a 503 explaining how to install it."""
    relative, content_type = ASSETS[name]
    path = web_dir / relative
    try:
        body = path.read_bytes()
    except OSError:
        logger.error("web chat asset missing: %s (run `make install`)", path)
        return missing_asset(path)
    return response.raw(body, content_type=content_type, headers=NO_CACHE)


def starter_questions() -> List[Dict[str, str]]:
    """Questions offered before the first message, from the fact store's topics.

    The same questions the greeting offers, so a patient who doesn't know what to ask
    can start with one tap. A broken store only removes them; the chat still works.
    """
    try:
        store = _fact_store.get()
    except (FactStoreError, OSError) as error:
        logger.error("no starter questions for the web chat: %s", error)
        return []
    return [button.as_dict() for button in topic_buttons(store, STARTER_TOPICS)]


def widget_config() -> Dict[str, Any]:
    """Branding and contact details for the widget, from the clinic settings.

    Read per request, like the action server does, so what the widget shows and what
    the answers say come from the same place. Only the fields named in WIDGET_FIELDS
    are published: a setting added later is not exposed to every browser by accident.
    """
    settings = current_settings()
    config: Dict[str, Any] = {name: getattr(settings, name) for name in WIDGET_FIELDS}
    config["starters"] = starter_questions()
    return config


def demo_page(web_dir: Path = WEB_DIR) -> HTTPResponse:
    """The demo clinic page, with the clinic's name and title filled in (HTML-escaped)."""
    path = web_dir / "index.html"
    try:
        template = Template(path.read_text(encoding="utf-8"))
    except OSError:
        return missing_asset(path)
    try:
        settings = current_settings()
    except SettingsError as error:
        logger.error("web chat demo page: %s", error)
        return response.text(f"Clinic settings are broken: {error}\n", status=500)
    page = template.safe_substitute(
        clinic_name=html.escape(settings.name), clinic_title=html.escape(settings.title)
    )
    headers = {**NO_CACHE, "Content-Security-Policy": DEMO_PAGE_POLICY}
    return response.html(page, headers=headers)


class WebChatInput(InputChannel):
    """Serves the web chat widget; it receives no messages itself.

    Messages go over the socket.io channel, which already keeps a conversation per
    session id (`session_persistence: true`); duplicating that here would give two
    ways to talk to the bot to keep in step.
    """

    @classmethod
    def name(cls) -> str:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = credentials or {}
        web_dir = credentials.get("web_dir")
        return cls(Path(web_dir) if web_dir else WEB_DIR)

    def __init__(self, web_dir: Path = WEB_DIR) -> None:
        self.web_dir = web_dir

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: the demo page, the widget's files and its branding as JSON."""
        webchat = Blueprint("webchat_webhook", __name__)
        web_dir = self.web_dir

        @webchat.route("/", methods=["GET"])
        async def index(_: Request) -> HTTPResponse:
            return demo_page(web_dir)

        @webchat.route("/config.json", methods=["GET"])
        async def config(_: Request) -> HTTPResponse:
            try:
                return response.json(widget_config(), headers=NO_CACHE)
            except SettingsError as error:
                logger.error("web chat config: %s", error)
                return response.json({"error": str(error)}, status=500, headers=NO_CACHE)

        @webchat.route("/embed-check", methods=["GET"])
        async def check(request: Request) -> HTTPResponse:
            return embed_check(request)

        def serve(name: str) -> Callable[[Request], Awaitable[HTTPResponse]]:
            async def handler(_: Request) -> HTTPResponse:
                return asset_response(name, web_dir)

            handler.__name__ = "asset_" + name.replace(".", "_")
            return handler

        for name in ASSETS:
            webchat.add_route(serve(name), "/" + name, methods=["GET"])

        return webchat
