"""A socket.io client that talks to a running pair as the web widget does.

session_request, then user_uttered; bot messages collected as they arrive. Used by the
end-to-end tests of the socket.io channel, the fault tests and the staff review's
feedback test (a widget vote is a socket.io `feedback` event).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, Optional

import socketio

from harness.servers import Servers


class SocketChat:
    """A socket.io client as the web widget uses it: session_request, then user_uttered."""

    def __init__(self, servers: Servers, origin: Optional[str] = None) -> None:
        self.servers = servers
        self.origin = origin
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: asyncio.Queue = asyncio.Queue()
        self.session_id = "session-" + uuid.uuid4().hex
        self.client.on("bot_uttered", self._on_bot)

    async def _on_bot(self, data: Dict[str, Any]) -> None:
        await self.received.put(data)

    async def connect(self) -> None:
        headers = {"Origin": self.origin} if self.origin else {}
        await self.client.connect(self.servers.url, headers=headers, wait_timeout=20)
        confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
        self.client.on("session_confirm", lambda sid: confirmed.set_result(sid))
        await self.client.emit("session_request", {"session_id": self.session_id})
        assert await asyncio.wait_for(confirmed, 20) == self.session_id

    async def send(self, payload: Any) -> None:
        await self.client.emit("user_uttered", payload)

    async def ask(self, text: str, quiet: float = 2.0, timeout: float = 60) -> str:
        """Send `text`; return the bot's messages, joined, once it has been quiet a while."""
        payload = {"message": text, "session_id": self.session_id}
        return await self.ask_payload(payload, quiet=quiet, timeout=timeout)

    async def ask_payload(self, payload: Any, quiet: float = 2.0, timeout: float = 60) -> str:
        await self.send(payload)
        parts = [(await asyncio.wait_for(self.received.get(), timeout))["text"]]
        while True:
            try:
                parts.append((await asyncio.wait_for(self.received.get(), quiet))["text"])
            except asyncio.TimeoutError:
                return "\n\n".join(parts)

    async def nothing_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.received.get(), seconds)
        except asyncio.TimeoutError:
            return True
        return False

    async def close(self) -> None:
        await self.client.disconnect()

    async def vote(self, vote: str, answer: str, timeout: float = 30) -> Any:
        """Send a widget vote on `answer`; the server's acknowledgement (True when stored)."""
        payload = {"vote": vote, "answer": answer, "session_id": self.session_id}
        return await self.client.call("feedback", payload, timeout=timeout)
