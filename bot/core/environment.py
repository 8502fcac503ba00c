"""Number settings read from the environment, checked once at start-up, one way.

A bad value stops the server with a message naming the variable, the allowed range and
what was given, instead of a limit silently taking some other value.
"""

from __future__ import annotations

import math
import os
from typing import Mapping, Optional, TypeVar

Number = TypeVar("Number", int, float)


def bounded_number(
    name: str,
    default: Number,
    minimum: Number,
    maximum: Optional[Number],
    requirement: str,
    environ: Optional[Mapping[str, str]] = None,
) -> Number:
    """`name` as a number of `default`'s type in [minimum, maximum], or `default`.

    Raises ValueError "<name> must be <requirement>, got '<value>'" otherwise; unset or
    blank means the default.
    """
    environ = os.environ if environ is None else environ
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    kind = type(default)
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if (
        value is None
        or not math.isfinite(value)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        raise ValueError(f"{name} must be {requirement}, got {raw!r}")
    return value


def bounded_int(
    name: str,
    default: int,
    minimum: int,
    maximum: Optional[int],
    requirement: str,
    environ: Optional[Mapping[str, str]] = None,
) -> int:
    """`name` as an int in [minimum, maximum] (no upper bound if None), or `default`.

    Raises ValueError "<name> must be <requirement>, got '<value>'" otherwise; unset or
    blank means the default.
    """
    return bounded_number(name, int(default), minimum, maximum, requirement, environ)
