"""One bot message, one delivery: its text, buttons and custom payload kept together.

Rasa's `OutputChannel.send_response` splits a bot message into separate calls (text or
text-with-buttons, then the custom JSON). A clinic system reading a REST reply would then
get a reply's `urgency` as a separate list item, not beside the text it qualifies, and
Rasa 3.6's socket.io output passes a custom payload to `emit()` as keyword arguments,
which fails for `{"urgency": ...}`. The outputs here deliver each bot message whole.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.channels.socketio import SocketIOOutput

URGENCY_KEY = "urgency"


def urgency_of(message: Dict[str, Any]) -> Optional[str]:
    """The urgency a bot message carries in its custom payload, if any."""
    custom = message.get("custom")
    urgency = custom.get(URGENCY_KEY) if isinstance(custom, dict) else None
    return urgency if isinstance(urgency, str) else None


class WholeMessageCollector(CollectingOutputChannel):
    """Rasa's collector (REST, signed webhook), one entry per bot message.

    Each entry is `{"recipient_id", "text", "buttons"?, "custom"?}`.
    """

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        await self._persist_message(
            self._message(
                recipient_id,
                text=message.get("text"),
                image=message.get("image"),
                buttons=message.get("buttons") or None,
                attachment=message.get("attachment"),
                custom=message.get("custom") or None,
            )
        )


class WholeMessageSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, one `bot_uttered` event per bot message.

    The event carries `text`, the buttons as `quick_replies` (as Rasa sends them) and the
    `custom` payload.
    """

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        payload: Dict[str, Any] = {"text": message.get("text") or ""}
        buttons: List[Dict[str, Any]] = message.get("buttons") or []
        if buttons:
            payload["quick_replies"] = [
                {"content_type": "text", "title": b.get("title"), "payload": b.get("payload")}
                for b in buttons
            ]
        if message.get("custom"):
            payload["custom"] = message["custom"]
        await self._send_message(recipient_id, payload)
