"""`make shell`'s printer and prompt, without a terminal (tests/test_shell.py drives one)."""

from __future__ import annotations

import asyncio

from bot.channels import console as our_console
from bot.channels.console import Console

ANSWER = {
    "text": "Most people handle these injections well.\n\nSource: an article.",
    "buttons": [
        {"title": "How long is the recovery?", "payload": "How long is the recovery?"},
        {"title": "What side effects can I expect?", "payload": "side effects please"},
    ],
}


def typed(*answers):
    queue = list(answers)

    async def ask():
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return ask


def test_follow_ups_are_numbered_and_a_number_asks_one(capsys) -> None:
    shell = Console(typed("2"))
    assert asyncio.run(shell.get_user_input(ANSWER)) == "side effects please"
    out = capsys.readouterr().out
    assert "Source: an article." in out and "1. How long is the recovery?" in out
    assert "-> What side effects can I expect?" in out
    # The source line stands alone: nothing is printed on the end of it.
    assert any(line.endswith("Source: an article.\x1b[0m") for line in out.splitlines())


def test_typing_is_the_default_and_odd_numbers_are_text(capsys) -> None:
    shell = Console(typed("does it hurt?", "7"))
    assert asyncio.run(shell.get_user_input(ANSWER)) == "does it hurt?"
    assert asyncio.run(shell.get_user_input(None)) == "7"  # only two were offered


def test_ctrl_c_and_ctrl_d_leave_like_stop() -> None:
    assert asyncio.run(Console(typed(None)).get_user_input(None)) == "/stop"
    assert asyncio.run(Console(typed(KeyboardInterrupt())).get_user_input(ANSWER)) == "/stop"
    assert asyncio.run(Console(typed(EOFError())).get_user_input(None)) == "/stop"


def test_urgent_advice_is_followed_by_a_banner_and_no_raw_json(capsys) -> None:
    Console(typed()).print_bot_output({"text": "Please call 911.", "custom": {"urgency": "crisis"}})
    out = capsys.readouterr().out
    assert "URGENT: call or text 988 now" in out and "Custom json" not in out
    Console(typed()).print_bot_output({"text": "an answer"})
    assert "URGENT" not in capsys.readouterr().out


def test_install_replaces_once_and_only_on_the_measured_rasa() -> None:
    from rasa.core.channels import console

    printer, prompt = console._print_bot_output, console._get_user_input
    try:
        assert our_console.install("3.5.0") == [] and console._get_user_input is prompt
        assert our_console.install()
        installed = console._get_user_input
        assert installed is not prompt and console._print_bot_output is not printer
        assert our_console.install() and console._get_user_input is installed
    finally:
        console._print_bot_output, console._get_user_input = printer, prompt
