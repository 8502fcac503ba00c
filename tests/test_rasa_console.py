"""`make shell` marks urgent advice: the console printer wrapped, everything else as Rasa's."""

from __future__ import annotations

from bot import rasa_console


def test_urgent_advice_is_followed_by_a_banner_and_no_raw_json(capsys) -> None:
    printed = []
    marked = rasa_console._marking(lambda message, *a, **k: printed.append(message))
    marked({"text": "Please call 911.", "custom": {"urgency": "crisis"}})
    assert printed == [{"text": "Please call 911."}]
    out = capsys.readouterr().out
    assert "URGENT: call or text 988 now" in out and "Custom json" not in out


def test_other_messages_go_to_rasa_untouched(capsys) -> None:
    printed = []
    marked = rasa_console._marking(lambda message, *a, **k: printed.append(message))
    message = {"text": "an answer", "buttons": [{"title": "t", "payload": "p"}]}
    marked(message, True, color="x")
    assert printed == [message] and capsys.readouterr().out == ""


def test_install_wraps_once_and_only_on_the_measured_rasa() -> None:
    from rasa.core.channels import console

    original = console._print_bot_output
    try:
        assert rasa_console.install("3.5.0") == []
        assert console._print_bot_output is original
        assert rasa_console.install() == ["urgent advice marked in the shell"]
        wrapped = console._print_bot_output
        assert rasa_console.install() and console._print_bot_output is wrapped
    finally:
        console._print_bot_output = original
