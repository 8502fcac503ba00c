"""`rasa shell` (make shell) marks the advice for a warning sign happening now.

The assistant's reply to a present red flag carries `custom: {"urgency": ...}`. Rasa 3.6's
console prints a custom payload as a raw "Custom json:" dump, which a person in a terminal
can easily miss. `install()` wraps the console's printer (`_print_bot_output`, a private
function, hence the version check) so such a message is followed by a bold red banner
saying what to do now, and nothing else changes: every other message goes through Rasa's
own printer untouched.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional

logger = logging.getLogger(__name__)

SUPPORTED_RASA_VERSIONS = frozenset({"3.6.21"})
_MARK = "_spine_faq_console"
BANNERS = {
    "emergency": "URGENT: call 911 or go to the nearest emergency room now.",
    "crisis": "URGENT: call or text 988 now (Suicide & Crisis Lifeline), or 911 if in danger.",
    "infection": "URGENT: call your clinic now (911 if you feel very unwell).",
}
RED_BOLD, RESET = "\033[1;91m", "\033[0m"


def banner(urgency: str) -> str:
    """The line printed under urgent advice in the terminal."""
    return f"{RED_BOLD}!! {BANNERS.get(urgency, BANNERS['emergency'])} !!{RESET}"


def _marking(original: Callable[..., Any]) -> Callable[..., Any]:
    def _print_bot_output(message: Dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        custom = message.get("custom")
        urgency = custom.get("urgency") if isinstance(custom, dict) else None
        if not urgency:
            return original(message, *args, **kwargs)
        rest = {key: value for key, value in message.items() if key != "custom"}
        result = original(rest, *args, **kwargs) if rest else None
        print(banner(str(urgency)), flush=True)
        return result

    setattr(_print_bot_output, _MARK, True)
    return _print_bot_output


def install(rasa_version: Optional[str] = None) -> List[str]:
    """Wrap the console printer once; returns what was installed (empty if unsupported)."""
    import rasa
    from rasa.core.channels import console

    version = rasa_version or rasa.__version__
    if version not in SUPPORTED_RASA_VERSIONS:
        logger.warning("rasa shell: urgent messages not marked on Rasa %s", version)
        return []
    if not getattr(console._print_bot_output, _MARK, False):
        console._print_bot_output = _marking(console._print_bot_output)
    return ["urgent advice marked in the shell"]
