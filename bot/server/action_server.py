"""The action server, locked down so that only our Rasa server can use it.

`python -m rasa_sdk` listens on 0.0.0.0, runs any action for anyone who can reach its
port, allows every CORS origin, and answers an action error with the whole request,
i.e. the patient's conversation. This wraps the same rasa_sdk app with:

- a shared secret: every request except GET /health must carry `X-Action-Token` equal
  to `ACTION_SERVER_TOKEN` (Rasa sends it from `endpoints.yml`). Missing header: 401;
  wrong value: 403. Without the variable the server refuses to start: an action server
  that accepts anything is never what a clinic wants, and one that refuses everything
  would only fail later and less clearly.
- loopback by default (`ACTION_HOST`, default 127.0.0.1): Rasa is its only client.
- no CORS: no browser ever needs to call it.
- errors answered with the exception type only, and logged without the exception's
  message (which can quote patient text); see bot/server/logging_privacy.py.
- its own request size limit (`ACTION_REQUEST_MAX_SIZE`, default 32 MiB), not the
  public one: Rasa posts the whole current session (every event, every answer in full)
  on every turn, about 3 KB more per question, so the 64 KiB that guards Rasa's public
  channels (`SANIC_REQUEST_MAX_SIZE`) would refuse a patient's 20th question or so
  and every one after it (docs/reliability.md, "Load").

    ACTION_SERVER_TOKEN=... python -m bot.server.action_server [--port 5055] [--actions actions]
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
import traceback
from typing import List, Mapping, Optional

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.core import environment
from bot.server import logging_privacy

logger = logging.getLogger(__name__)

TOKEN_ENV = "ACTION_SERVER_TOKEN"
TOKEN_HEADER = "X-Action-Token"
HOST_ENV = "ACTION_HOST"
PORT_ENV = "ACTION_PORT"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
DEFAULT_ACTIONS = "actions"
# Shorter secrets are guessable; scripts/serve.sh generates 64 hex characters.
MIN_TOKEN_CHARS = 16
MAX_SIZE_ENV = "ACTION_REQUEST_MAX_SIZE"
# About 10,000 turns of one session; still a bound on what one request can hold in memory.
DEFAULT_REQUEST_MAX_SIZE = 32 * 1024 * 1024
MIN_REQUEST_MAX_SIZE = 1024 * 1024
# Load balancers and `wait_for` poll this without the secret; it reveals nothing.
OPEN_PATHS = frozenset({"/health"})


class ConfigurationError(ValueError):
    """The action server cannot start safely; the text says what to set."""


def token_from_env(environ: Optional[Mapping[str, str]] = None) -> str:
    """The shared secret, or ConfigurationError explaining how to set one."""
    environ = os.environ if environ is None else environ
    token = (environ.get(TOKEN_ENV) or "").strip()
    if not token:
        raise ConfigurationError(
            f"{TOKEN_ENV} is not set. Rasa sends it to the action server in the"
            f" {TOKEN_HEADER} header (endpoints.yml), and the action server refuses"
            " requests without it. `make run` (scripts/serve.sh) generates one; to run"
            f" the servers yourself, export the same value to both, e.g.\n"
            f"  export {TOKEN_ENV}=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigurationError(
            f"{TOKEN_ENV} is shorter than {MIN_TOKEN_CHARS} characters; use a long random"
            " value (python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return token


def request_max_size_from_env(environ: Optional[Mapping[str, str]] = None) -> int:
    """The action server's request body limit in bytes (ConfigurationError if invalid)."""
    try:
        return environment.bounded_int(
            MAX_SIZE_ENV,
            DEFAULT_REQUEST_MAX_SIZE,
            MIN_REQUEST_MAX_SIZE,
            None,
            f"a number of bytes of at least {MIN_REQUEST_MAX_SIZE} (1 MiB): Rasa sends the"
            " whole conversation on every turn",
            environ,
        )
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def token_matches(expected: str, provided: Optional[str]) -> bool:
    """Constant-time comparison, so response times do not reveal the secret."""
    if provided is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), provided.encode("utf-8", "replace"))


def _action_name(request: Request) -> str:
    """The action Rasa asked for (a name from domain.yml, never patient text)."""
    try:
        body = request.json
    except Exception:  # noqa: BLE001 - a broken body is itself the error being reported
        return "?"
    if isinstance(body, dict) and isinstance(body.get("next_action"), str):
        return body["next_action"][:100]
    return "?"


def error_message(exception: BaseException) -> str:
    """The exception's message if it is one of ours, else a placeholder.

    The project's own errors (bot.core.settings.SettingsError, bot.core.facts.FactStoreError, ...)
    name a file and a field, which is what an operator needs to fix a broken settings
    or fact file. Anything else (a KeyError on a slot value, a library error) may
    quote what the patient wrote.
    """
    if type(exception).__module__.split(".")[0] == "bot":
        return logging_privacy.scrub(str(exception))
    return "(message left out: it may quote the patient)"


def create_app(
    token: str,
    actions: str = DEFAULT_ACTIONS,
    request_max_size: int = DEFAULT_REQUEST_MAX_SIZE,
) -> Sanic:
    """rasa_sdk's app with the shared-secret check, no CORS, private errors, own size limit."""
    from rasa_sdk.endpoint import create_app as create_sdk_app

    if not token:
        raise ConfigurationError(f"{TOKEN_ENV} must not be empty")
    # cors_origins=None: rasa_sdk then allows no origin at all (its default is "*").
    app = create_sdk_app(actions, cors_origins=None)
    # Sanic read SANIC_REQUEST_MAX_SIZE (the public limit, exported for Rasa) from the
    # environment when the app was made; the action server's own limit replaces it.
    app.config.REQUEST_MAX_SIZE = request_max_size

    @app.on_request
    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        provided = request.headers.get(TOKEN_HEADER)
        if provided is None:
            logger.warning("action server: refused %s without %s", request.path, TOKEN_HEADER)
            return response.json({"error": f"missing {TOKEN_HEADER} header"}, status=401)
        if not token_matches(token, provided):
            logger.warning("action server: refused %s with a wrong %s", request.path, TOKEN_HEADER)
            return response.json({"error": f"invalid {TOKEN_HEADER}"}, status=403)
        return None

    # Replaces rasa_sdk's handler, which logs the exception message and sends the request
    # body (the whole tracker) back to Rasa, where it ends up in Rasa's error log.
    @app.exception(Exception)
    async def private_error(request: Request, exception: Exception) -> HTTPResponse:
        name = type(exception).__name__
        frames = "".join(traceback.format_tb(exception.__traceback__)).rstrip()
        logger.error(
            "action server: %s while running action '%s': %s\n%s",
            name,
            _action_name(request),
            error_message(exception),
            frames,
        )
        return response.json({"error": f"action failed ({name})"}, status=500)

    return app


def create_argument_parser() -> argparse.ArgumentParser:
    from rasa_sdk import utils

    parser = argparse.ArgumentParser(
        prog="python -m bot.server.action_server", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--host",
        default=None,
        help=f"interface to listen on (default: ${HOST_ENV} or {DEFAULT_HOST})",
    )
    parser.add_argument(
        "-p", "--port", type=int, default=None, help=f"default: ${PORT_ENV} or {DEFAULT_PORT}"
    )
    parser.add_argument("--actions", default=DEFAULT_ACTIONS, help="package with the actions")
    utils.add_logging_level_option_arguments(parser)
    utils.add_logging_file_arguments(parser)
    return parser


def _port(value: Optional[int], environ: Mapping[str, str]) -> int:
    if value is not None:
        return value
    try:
        return environment.bounded_int(
            PORT_ENV, DEFAULT_PORT, 1, 65535, "a port number (1 to 65535)", environ
        )
    except ValueError as problem:
        raise ConfigurationError(str(problem)) from None


def main(argv: Optional[List[str]] = None) -> int:
    """Check the configuration, then serve until stopped (exit 2 when misconfigured)."""
    from bot.server.quiet_warnings import silence_dependency_deprecations

    silence_dependency_deprecations(preload=())
    args = create_argument_parser().parse_args(argv)
    from bot.core.settings import SettingsError, describe, load_settings

    try:
        token = token_from_env()
        port = _port(args.port, os.environ)
        request_max_size = request_max_size_from_env()
        clinic = describe(load_settings())
    except (ConfigurationError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    host = args.host or os.environ.get(HOST_ENV) or DEFAULT_HOST

    from rasa_sdk import utils
    from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME

    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    logging_privacy.install()

    app = create_app(token, args.actions, request_max_size)
    if host not in ("127.0.0.1", "localhost", "::1"):
        logger.warning(
            "action server: listening on %s, not loopback; only Rasa should reach it", host
        )
    logger.info("action server: http://%s:%s (requests need %s)", host, port, TOKEN_HEADER)
    logger.info("action server: %s", clinic)
    app.run(host, port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
