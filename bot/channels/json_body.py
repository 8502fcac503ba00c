"""Strict parsing of JSON request bodies for the channels that take JSON.

Stock Rasa answers malformed bodies with a 500 or files them under a shared
"default" conversation. Our channels instead raise `BadRequest`, whose text is the
one-line reason sent back with a 400, naming the first problem found.
"""

from __future__ import annotations

import json
from typing import Any, Dict


class BadRequest(ValueError):
    """The body is not a valid message; the text is the one-line reason sent back."""


def json_object(body: bytes, expected: str) -> Dict[str, Any]:
    """Decode `body` as one JSON object; `expected` names its fields for the reason."""
    if not body or not body.strip():
        raise BadRequest(f"body is empty; send a JSON object with {expected}")
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(document, dict):
        raise BadRequest(f"body must be a JSON object with {expected}")
    return document


def string_field(document: Dict[str, Any], name: str, limit: int) -> str:
    """A required, non-blank string field of at most `limit` characters."""
    if document.get(name) is None:
        raise BadRequest(f"missing field '{name}'")
    value = document[name]
    if not isinstance(value, str):
        raise BadRequest(f"field '{name}' must be a string")
    if not value.strip():
        raise BadRequest(f"field '{name}' must not be empty")
    if len(value) > limit:
        raise BadRequest(f"field '{name}' is longer than {limit} characters")
    return value
