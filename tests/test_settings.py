"""Clinic settings: environment over file over placeholders."""

from __future__ import annotations

import os

import pytest

from bot.core.settings import (
    ClinicSettings,
    SettingsError,
    current_settings,
    describe,
    load_settings,
)
from tests.conftest import write


def test_placeholders_when_nothing_is_configured(tmp_path) -> None:
    settings = load_settings(environ={"CLINIC_CONFIG": ""})
    assert settings == ClinicSettings()
    assert "phone number on your appointment letter" in settings.contact_line()


def test_file_then_environment(tmp_path) -> None:
    path = write(tmp_path, "clinic.yml", "name: Lakeside Spine\nphone: 555-0199\nhours: Mon-Fri\n")
    settings = load_settings(environ={"CLINIC_PHONE": "555-0111"}, config_file=path)
    assert settings.name == "Lakeside Spine"
    assert settings.phone == "555-0111"
    assert settings.contact_line() == "You can reach Lakeside Spine at 555-0111 (Mon-Fri)."


def test_config_file_from_environment(tmp_path) -> None:
    path = write(tmp_path, "c.yml", "name: Hill Clinic\n")
    assert load_settings(environ={"CLINIC_CONFIG": str(path)}).name == "Hill Clinic"


def test_unknown_setting_is_an_error(tmp_path) -> None:
    path = write(tmp_path, "clinic.yml", "nmae: typo\n")
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings(environ={}, config_file=path)


def test_a_named_settings_file_that_cannot_be_read_is_an_error(tmp_path) -> None:
    missing = tmp_path / "clinc.yml"
    with pytest.raises(SettingsError, match="CLINIC_CONFIG=.*clinc.yml: cannot be read"):
        load_settings(environ={"CLINIC_CONFIG": str(missing)})


def test_an_empty_clinic_config_means_no_file(tmp_path) -> None:
    settings = load_settings(environ={"CLINIC_CONFIG": "", "CLINIC_NAME": "Env Clinic"})
    assert settings.name == "Env Clinic" and settings.phone == ClinicSettings().phone


def test_start_up_line_says_which_clinic_and_from_where(tmp_path) -> None:
    path = write(tmp_path, "c.yml", "name: Hill Clinic\nphone: 555-0100\n")
    environ = {"CLINIC_CONFIG": str(path)}
    line = describe(load_settings(environ=environ), environ)
    assert (
        line == f"clinic: Hill Clinic; phone: 555-0100; settings from {path} and CLINIC_* variables"
    )
    placeholder = describe(ClinicSettings(), {"CLINIC_CONFIG": ""})
    assert "placeholder" in placeholder and "no settings file" in placeholder


def test_current_settings_follow_edits_and_keep_the_last_good(monkeypatch, tmp_path) -> None:
    """Every process reads settings this way: an edit needs no restart, a typo breaks nothing."""
    path = write(tmp_path, "clinic.yml", "name: First Clinic\n")
    monkeypatch.setenv("CLINIC_CONFIG", str(path))
    monkeypatch.delenv("CLINIC_NAME", raising=False)
    assert current_settings().name == "First Clinic"

    def edit(text: str, second: int) -> None:
        path.write_text(text, encoding="utf-8")
        os.utime(path, ns=(second * 10**9, second * 10**9))

    edit("name: Second Clinic\n", 1)
    assert current_settings().name == "Second Clinic"
    edit("name: [unclosed\n", 2)
    assert current_settings().name == "Second Clinic"  # the broken edit is not served
    edit("name: Third Clinic\n", 3)
    assert current_settings().name == "Third Clinic"
    monkeypatch.setenv("CLINIC_NAME", "From The Environment")
    assert current_settings().name == "From The Environment"  # environment over file


def test_current_settings_raise_when_never_readable(monkeypatch, tmp_path) -> None:
    path = write(tmp_path, "clinic.yml", "name: [unclosed\n")
    monkeypatch.setenv("CLINIC_CONFIG", str(path))
    with pytest.raises(SettingsError):
        current_settings()
