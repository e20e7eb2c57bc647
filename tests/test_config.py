"""Settings: one declaration, checked when an edge starts, documented in the README."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from searchsvc import config
from searchsvc.cli import main
from searchsvc.web import create_app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_defaults_then_environment_then_explicit():
    env = {"SEARCHSVC_PORT": "9001", "SEARCHSVC_HOST": "0.0.0.0"}
    settings = config.load({"HOST": "::1"}, environ=env)
    assert settings["PORT"] == 9001
    assert settings["HOST"] == "::1"
    assert settings["WORKERS"] == config.DEFAULTS["WORKERS"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SEARCHSVC_PORT", "abc", "SEARCHSVC_PORT must be a whole number, not 'abc'"),
        ("SEARCHSVC_PORT", "70000", "SEARCHSVC_PORT must be at most 65535, not 70000"),
        ("SEARCHSVC_WORKERS", "0", "SEARCHSVC_WORKERS must be at least 1, not 0"),
        ("SEARCHSVC_REFRESH_INTERVAL", "soon", "SEARCHSVC_REFRESH_INTERVAL must be a number"),
        ("SEARCHSVC_RESULT_CACHE", "1.5", "SEARCHSVC_RESULT_CACHE must be a whole number"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_type(variable, value, message):
    with pytest.raises(config.ConfigError) as caught:
        config.load(environ={variable: value})
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_bad_explicit_value_names_the_setting():
    with pytest.raises(config.ConfigError, match="^PAGE_SIZE must be a whole number"):
        create_app({"PAGE_SIZE": "ten"})


def test_the_cli_reads_settings_when_it_starts_not_at_import():
    # Importing the CLI with a bad setting must work; running it must not.
    code = "import searchsvc.cli, searchsvc.web; print('imported')"
    env = {"SEARCHSVC_PORT": "abc", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "imported", done.stderr


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["stats"]])
def test_a_bad_setting_stops_the_cli_with_one_line(args):
    env = {"SEARCHSVC_PORT": "abc", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "searchsvc", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr == "Error: SEARCHSVC_PORT must be a whole number, not 'abc'\n"


def test_options_default_from_the_settings_in_force(runner, monkeypatch):
    monkeypatch.setenv("SEARCHSVC_PAGE_SIZE", "7")
    monkeypatch.setenv("SEARCHSVC_PORT", "9123")
    assert "[default: 7]" in runner.invoke(main, ["search", "--help"]).output
    assert "[default: 9123]" in runner.invoke(main, ["serve", "--help"]).output


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda s: s.name)
def test_every_setting_has_help_and_is_in_the_readme(setting):
    assert setting.help.strip()
    row = f"| `{setting.variable}` | `{setting.default}` | {setting.help} |"
    assert row in README, f"README's Configuration table lacks or misstates {setting.variable}"
