"""`rasa shell` (make shell) as a patient would want it in a terminal.

Rasa 3.6's console shows follow-up buttons as an arrow-key menu after every answer: typing
a question means first arrowing down to "Type out your own message...", the chosen button
is printed on the end of the answer's "Source:" line, and Ctrl-C while the menu shows
prints an AttributeError traceback and hangs. An urgent reply's `custom` payload is a raw
"Custom json:" dump that is easy to miss. `install()` replaces two private functions of
`rasa.core.channels.console` (through bot/server/rasa_internals.py, version-checked) so that:

- every answer is printed with its follow-ups as a numbered list, and the prompt is always
  a plain text prompt: type a question, or a number (one keystroke and Enter) to ask that
  follow-up;
- Ctrl-C (or Ctrl-D) at the prompt ends the shell cleanly, like `/stop`;
- the advice for a present red flag is followed by a bold red "URGENT:" banner.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

logger = logging.getLogger(__name__)

BANNERS = {
    "emergency": "URGENT: call 911 or go to the nearest emergency room now.",
    "crisis": "URGENT: call or text 988 now (Suicide & Crisis Lifeline), or 911 if in danger.",
    "infection": "URGENT: call your clinic now (911 if you feel very unwell).",
}
RED_BOLD, BLUE, RESET = "\033[1;91m", "\033[94m", "\033[0m"
EXIT_TEXT = "/stop"


def banner(urgency: str) -> str:
    """The line printed under urgent advice in the terminal."""
    return f"{RED_BOLD}!! {BANNERS.get(urgency, BANNERS['emergency'])} !!{RESET}"


def render(message: Dict[str, Any]) -> Tuple[List[str], Tuple[Tuple[str, str], ...]]:
    """The lines to print for one bot message, and its (title, payload) follow-ups."""
    lines = [f"{BLUE}{message['text']}{RESET}"] if message.get("text") else []
    choices = tuple(
        (str(b.get("title") or b.get("payload")), str(b.get("payload") or b.get("title")))
        for b in message.get("buttons") or []
    )
    if choices:
        lines.append(f"{BLUE}Follow-up questions (type a number, or your own question):{RESET}")
        lines += [f"{BLUE}  {n}. {title}{RESET}" for n, (title, _) in enumerate(choices, 1)]
    custom = message.get("custom")
    if isinstance(custom, dict) and custom.get("urgency"):
        lines.append(banner(str(custom["urgency"])))
    return lines, choices


def chosen(typed: str, choices: Sequence[Tuple[str, str]]) -> Optional[Tuple[str, str]]:
    """The follow-up a bare number picks, if it is one of those offered."""
    from bot.channels.plain_text import parse_choice_number

    number = parse_choice_number(typed)
    if number is not None and 1 <= number <= len(choices):
        return choices[number - 1]
    return None


class Console:
    """The shell's printer and prompt; remembers the follow-ups last offered."""

    def __init__(self, ask: Callable[[], Any]) -> None:
        self._ask = ask  # returns an awaitable of the typed text (None on Ctrl-C/Ctrl-D)
        self.choices: Tuple[Tuple[str, str], ...] = ()

    def print_bot_output(self, message: Dict[str, Any], *args: Any, **kwargs: Any) -> None:
        lines, choices = render(message)
        print("\n".join(lines), flush=True)
        if choices:
            self.choices = choices

    async def get_user_input(self, previous_response: Optional[Dict[str, Any]]) -> Optional[str]:
        if previous_response is not None:
            self.choices = ()
            self.print_bot_output(previous_response)
        try:
            typed = await self._ask()
        except (KeyboardInterrupt, EOFError):
            typed = None
        if typed is None:
            return EXIT_TEXT  # Ctrl-C / Ctrl-D: leave as /stop does, no traceback
        typed = typed.strip()
        picked = chosen(typed, self.choices)
        if picked is None:
            return typed
        print(f"{BLUE}-> {picked[0]}{RESET}", flush=True)
        return picked[1]


def _text_prompt() -> Any:
    import questionary
    from prompt_toolkit.styles import Style

    question = questionary.text(
        "", qmark="Your input ->", style=Style([("qmark", "#b373d6"), ("", "#b373d6")])
    )
    return question.ask_async()


def install(rasa_version: Optional[str] = None) -> List[str]:
    """Replace the console's printer and prompt once; returns what was installed."""
    from bot.server import rasa_internals

    shell = Console(_text_prompt)

    def make_get_user_input() -> Callable[..., Any]:
        async def _get_user_input(previous_response: Optional[Dict[str, Any]]) -> Optional[str]:
            return await shell.get_user_input(previous_response)

        return _get_user_input

    if not rasa_internals.replace_console(
        shell.print_bot_output, make_get_user_input, rasa_version
    ):
        logger.warning("rasa shell: left as Rasa ships it (made for Rasa 3.6.21)")
        return []
    return ["shell: numbered follow-ups, typing first, clean Ctrl-C, urgent advice marked"]
