"""The GET / status route every webhook channel offers, written once.

Rasa's own channels answer GET /webhooks/<name>/ with {"status": "ok"}; monitoring and
clinic integrators use it to see that a channel is mounted. Ours say "not configured"
when the channel's secrets are missing, so a half-configured deployment shows up there
instead of as failed patient messages.
"""

from __future__ import annotations

from typing import Callable

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse


def add_status_route(blueprint: Blueprint, configured: Callable[[], bool] = lambda: True) -> None:
    """GET / on `blueprint`: {"status": "ok"}, or "not configured" while `configured()` is False."""

    @blueprint.route("/", methods=["GET"])
    async def status(_: Request) -> HTTPResponse:
        return response.json({"status": "ok" if configured() else "not configured"})
