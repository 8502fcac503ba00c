"""Clinic settings: who the patient should contact, and how the clinic is branded.

Values come from environment variables first, then from a YAML file, then from
placeholders that make it obvious nothing was configured. No secret lives here.

The file is `clinic.yml` at the project root when it exists. A path given in
`CLINIC_CONFIG` must exist and be readable: a mistyped path stops start-up with a clear
error instead of silently serving the placeholder clinic. `CLINIC_CONFIG=""` means no
file at all (environment and placeholders only).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

import yaml

from bot.core.paths import PROJECT_ROOT
from bot.core.reloading import Reloading

DEFAULT_CONFIG_FILE = PROJECT_ROOT / "clinic.yml"


class SettingsError(ValueError):
    """The clinic settings file is broken."""


@dataclass(frozen=True)
class ClinicSettings:
    """Contact details and branding of the clinic running the assistant."""

    name: str = "your spine clinic"
    phone: str = "the phone number on your appointment letter"
    email: str = ""
    hours: str = ""
    website: str = ""
    title: str = "Spine procedure questions"
    primary_color: str = "#1f5f8b"
    welcome: str = (
        "Hi! I answer common questions about facet joint injections, medial branch blocks"
        " and radiofrequency ablation."
    )
    # Web pages (scheme://host[:port]) allowed to call the server from a browser (CORS),
    # for REST and socket.io. Empty: same-origin only, which is what a clinic serving the
    # widget from this server needs. Environment: comma-separated CLINIC_ALLOWED_ORIGINS.
    allowed_origins: Tuple[str, ...] = ()

    def contact_line(self) -> str:
        """One sentence telling a patient how to reach a person at the clinic."""
        parts = [f"You can reach {self.name} at {self.phone}"]
        if self.email:
            parts.append(f"or by email at {self.email}")
        sentence = " ".join(parts)
        if self.hours:
            sentence += f" ({self.hours})"
        return sentence + "."


ENV_PREFIX = "CLINIC_"
LIST_SETTINGS = frozenset({"allowed_origins"})
_ORIGIN = re.compile(
    r"^https?://([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:]+\])(:[0-9]{1,5})?$"
)


def parse_origins(value: Any, source: str = "allowed_origins") -> Tuple[str, ...]:
    """Origins from a comma-separated string or a YAML list, checked one by one.

    A wildcard is refused: the point of the setting is an allow-list, and "*" would let
    any web page read patients' answers through their browser. A trailing slash is
    dropped because browsers send the Origin header without one.
    """
    items = value.split(",") if isinstance(value, str) else list(value or [])
    origins = []
    for item in items:
        origin = str(item).strip().rstrip("/")
        if not origin:
            continue
        if not _ORIGIN.match(origin):
            raise SettingsError(
                f"{source}: {origin!r} is not an origin like https://clinic.example.org"
                " (scheme and host, optional port, no path; '*' is not allowed)"
            )
        origins.append(origin)
    return tuple(dict.fromkeys(origins))


def _env_values(environ: Mapping[str, str]) -> Dict[str, Any]:
    values: Dict[str, Any] = {}
    for item in fields(ClinicSettings):
        name = ENV_PREFIX + item.name.upper()
        value = environ.get(name)
        if not value:
            continue
        if item.name in LIST_SETTINGS:
            values[item.name] = parse_origins(value, name)
        else:
            values[item.name] = value.strip()
    return values


def _file_values(path: Optional[Path], required: bool) -> Dict[str, Any]:
    if path is None or (not required and not path.exists()):
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(
            f"CLINIC_CONFIG={path}: cannot be read ({error.strerror}); fix the path, or set"
            " CLINIC_CONFIG= (empty) to use only CLINIC_* variables"
        ) from error
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise SettingsError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(document, Mapping):
        raise SettingsError(f"{path}: must be a mapping of setting names to values")
    known = {item.name for item in fields(ClinicSettings)}
    unknown = set(document) - known
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}")
    values: Dict[str, Any] = {}
    for key, value in document.items():
        if value is None:
            continue
        if key in LIST_SETTINGS:
            values[key] = parse_origins(value, f"{path}: {key}")
        else:
            values[key] = str(value)
    return values


def config_file_in(environ: Mapping[str, str]) -> Tuple[Optional[Path], bool]:
    """The settings file to read and whether it must exist (it was named explicitly)."""
    if "CLINIC_CONFIG" not in environ:
        return DEFAULT_CONFIG_FILE, False
    named = environ["CLINIC_CONFIG"].strip()
    return (Path(named), True) if named else (None, False)


def load_settings(
    environ: Optional[Mapping[str, str]] = None, config_file: Optional[Path] = None
) -> ClinicSettings:
    """Build the settings: environment over file over placeholders."""
    environ = os.environ if environ is None else environ
    required = config_file is not None
    if config_file is None:
        config_file, required = config_file_in(environ)
    values: Dict[str, Any] = _file_values(config_file, required)
    values.update(_env_values(environ))
    return ClinicSettings(**values)


EnvironmentKey = Tuple[Tuple[str, str], ...]


@lru_cache(maxsize=8)
def _reloading(environment: EnvironmentKey) -> Reloading[ClinicSettings]:
    environ = dict(environment)
    path, _ = config_file_in(environ)
    return Reloading(
        lambda: load_settings(environ),
        (path,) if path is not None else (),
        errors=(SettingsError, OSError),
        what="Clinic settings",
    )


def current_settings() -> ClinicSettings:
    """The settings in force, for every process that answers patients.

    Re-read when the settings file changes, like the fact store and the red-flag rules,
    so a clinic's edit reaches the action server and Rasa alike without a restart; a
    broken edit is logged and the last good settings stay. Raises SettingsError only
    when no good version was ever read. The CLINIC_* environment is part of the key.
    """
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(ENV_PREFIX)))
    return _reloading(environment).get()


def describe(settings: ClinicSettings, environ: Optional[Mapping[str, str]] = None) -> str:
    """One start-up line: which clinic is served, and where its settings came from."""
    environ = os.environ if environ is None else environ
    path, _ = config_file_in(environ)
    source = str(path) if path is not None and path.exists() else "no settings file"
    placeholder = settings.name == ClinicSettings().name
    return (
        f"clinic: {settings.name}"
        + (" (placeholder: set CLINIC_NAME or a clinic.yml)" if placeholder else "")
        + f"; phone: {settings.phone}; settings from {source} and CLINIC_* variables"
    )
