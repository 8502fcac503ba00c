"""The web chat channel's routes, on a real Sanic server mounted the way Rasa mounts it.

Fast (no model, no browser): the channel is registered with Rasa's own `register()`
on a small Sanic app in this process, and the routes are fetched over HTTP. This
covers what the browser test cannot vary cheaply: branding from settings, a checkout
without `npm ci`, and that only the listed files are served.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import AsyncIterator, Dict, Optional, Tuple

import pytest
from rasa.core.channels.channel import register
from sanic import Sanic

from bot.channels.webchat import ASSETS, WEB_DIR, WebChatInput, widget_config
from harness.servers import free_port

PREFIX = "/webhooks/webchat"
SOCKET_IO = WEB_DIR / ASSETS["socket.io.min.js"][0]

Reply = Tuple[int, Dict[str, str], bytes]


def lowered(headers) -> Dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class ChannelServer:
    """A Sanic app serving only the web chat channel, on a free loopback port."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def _get(self, path: str, headers: Optional[Dict[str, str]] = None) -> Reply:
        """Status, headers (names in lower case) and body."""
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, lowered(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, lowered(error.headers), error.read()

    async def get(self, path: str, headers: Optional[Dict[str, str]] = None) -> Reply:
        """GET in a thread: the server runs on this test's event loop."""
        return await asyncio.to_thread(self._get, path, headers)


async def serve(web_dir: Path, monkeypatch) -> AsyncIterator[ChannelServer]:
    # What sanic-testing does: test mode lets Sanic start more than one app in a process
    # (its start-up code rewriting otherwise breaks on the second app).
    monkeypatch.setattr(Sanic, "test_mode", True)
    app = Sanic(f"webchat_test_{uuid.uuid4().hex}")
    register([WebChatInput(web_dir)], app, route="/webhooks/")
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    try:
        yield ChannelServer(port)
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def branded(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CLINIC_CONFIG", "")
    monkeypatch.setenv("CLINIC_NAME", "Hill <Spine> & Co")
    monkeypatch.setenv("CLINIC_TITLE", "Ask Hill Spine")
    monkeypatch.setenv("CLINIC_PRIMARY_COLOR", "#7a1f5c")
    monkeypatch.setenv("CLINIC_WELCOME", "Welcome to Hill Spine!")
    monkeypatch.setenv("CLINIC_PHONE", "555-0123")


@pytest.fixture
async def installed(branded, monkeypatch) -> AsyncIterator[ChannelServer]:
    if not SOCKET_IO.exists():
        pytest.fail(f"{SOCKET_IO} missing: run `make install` (npm ci --prefix web)")
    async for server in serve(WEB_DIR, monkeypatch):
        yield server


@pytest.fixture
async def not_installed(branded, tmp_path, monkeypatch) -> AsyncIterator[ChannelServer]:
    """A checkout where `npm ci` never ran: web/ without node_modules."""
    web_dir = tmp_path / "web"
    web_dir.mkdir()
    for name in ("index.html", "widget.js", "widget.css"):
        shutil.copy(WEB_DIR / name, web_dir / name)
    async for server in serve(web_dir, monkeypatch):
        yield server


async def test_config_comes_from_the_clinic_settings(installed) -> None:
    status, headers, body = await installed.get(f"{PREFIX}/config.json")
    assert status == 200
    assert headers["content-type"] == "application/json"
    config = json.loads(body)
    assert config["title"] == "Ask Hill Spine"
    assert config["primary_color"] == "#7a1f5c"
    assert config["welcome"] == "Welcome to Hill Spine!"
    assert config["name"] == "Hill <Spine> & Co"
    assert config["phone"] == "555-0123"
    assert 1 <= len(config["starters"]) <= 3
    assert all(s["title"] and s["payload"] == s["title"] for s in config["starters"])


def test_config_publishes_only_the_branding_fields(branded) -> None:
    assert set(widget_config()) == {
        "name",
        "phone",
        "email",
        "hours",
        "website",
        "title",
        "primary_color",
        "welcome",
        "starters",
    }


@pytest.mark.parametrize(
    "name, content_type, marker",
    [
        ("widget.js", "application/javascript", b"session_request"),
        ("widget.css", "text/css", b".wc-launcher"),
        ("socket.io.min.js", "application/javascript", b"Socket.IO"),
    ],
)
async def test_assets_are_served_with_their_type(installed, name, content_type, marker) -> None:
    status, headers, body = await installed.get(f"{PREFIX}/{name}")
    assert status == 200
    assert headers["content-type"].startswith(content_type)
    assert headers["cache-control"] == "no-cache"
    assert marker in body


async def test_demo_page_escapes_settings_and_uses_the_snippet(installed) -> None:
    status, headers, body = await installed.get(f"{PREFIX}/")
    page = body.decode()
    assert status == 200
    assert "<h1>Hill &lt;Spine&gt; &amp; Co</h1>" in page
    assert "<Spine>" not in page
    assert '<script src="/webhooks/webchat/widget.js" defer></script>' in page
    assert "script-src 'self'" in headers["content-security-policy"]


async def test_missing_npm_install_is_a_clear_503(not_installed) -> None:
    status, _, body = await not_installed.get(f"{PREFIX}/socket.io.min.js")
    assert status == 503
    assert b"make install" in body
    status, _, _ = await not_installed.get(f"{PREFIX}/widget.js")
    assert status == 200  # the rest still works


async def test_only_listed_files_are_served(installed) -> None:
    for path in ("/package.json", "/node_modules/debug/package.json", "/../credentials.yml"):
        status, _, body = await installed.get(PREFIX + path)
        assert status == 404, path
        assert b"socket.io-client" not in body


def test_channel_takes_its_web_dir_from_credentials(tmp_path) -> None:
    assert WebChatInput.from_credentials(None).web_dir == WEB_DIR
    assert WebChatInput.from_credentials({"web_dir": str(tmp_path)}).web_dir == tmp_path
    assert WebChatInput.name() == "webchat"


async def test_embed_check_tells_any_page_whether_it_may_use_the_chat(
    installed, monkeypatch, caplog
) -> None:
    status, headers, body = await installed.get(
        f"{PREFIX}/embed-check", {"Origin": "https://elsewhere.example"}
    )
    assert status == 200 and json.loads(body) == {"allowed": False}
    assert headers["access-control-allow-origin"] == "*"  # readable from that page
    assert "add that origin to CLINIC_ALLOWED_ORIGINS" in caplog.text
    monkeypatch.setenv("CLINIC_ALLOWED_ORIGINS", "https://www.clinic.example")
    _, _, body = await installed.get(
        f"{PREFIX}/embed-check", {"Origin": "https://www.clinic.example"}
    )
    assert json.loads(body) == {"allowed": True}
    _, _, body = await installed.get(f"{PREFIX}/embed-check", {"Origin": installed.base})
    assert json.loads(body) == {"allowed": True}  # the server's own pages (the demo)
