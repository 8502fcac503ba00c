"""Clinic settings: who the patient should contact, and how the clinic is branded.

Values come from environment variables first, then from a YAML file (path in
`CLINIC_CONFIG`, default `clinic.yml` at the project root, optional), then from
placeholders that make it obvious nothing was configured. No secret lives here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

from bot.paths import PROJECT_ROOT

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


def _env_values(environ: Mapping[str, str]) -> Dict[str, str]:
    values = {}
    for item in fields(ClinicSettings):
        value = environ.get(ENV_PREFIX + item.name.upper())
        if value:
            values[item.name] = value.strip()
    return values


def _file_values(path: Path) -> Dict[str, Any]:
    if not path.exists():
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SettingsError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(document, Mapping):
        raise SettingsError(f"{path}: must be a mapping of setting names to values")
    known = {item.name for item in fields(ClinicSettings)}
    unknown = set(document) - known
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {sorted(unknown)}; known: {sorted(known)}")
    return {key: str(value) for key, value in document.items() if value is not None}


def load_settings(
    environ: Optional[Mapping[str, str]] = None, config_file: Optional[Path] = None
) -> ClinicSettings:
    """Build the settings: environment over file over placeholders."""
    environ = os.environ if environ is None else environ
    if config_file is None:
        config_file = Path(environ.get("CLINIC_CONFIG", DEFAULT_CONFIG_FILE))
    values: Dict[str, Any] = _file_values(Path(config_file))
    values.update(_env_values(environ))
    return ClinicSettings(**values)
