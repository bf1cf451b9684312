"""Settings are read by their type: "false" is false, a number is a number, and a value
that cannot be read stops the start with a message naming the setting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from apprentice import Apprentice, create_app
from apprentice.config import TYPED, ConfigError
from apprentice.kb import services
from apprentice.people.services import get_person

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """A clean ``APPRENTICE_*`` environment; returns a setter."""
    for key in list(os.environ):
        if key.startswith("APPRENTICE_") and key != "APPRENTICE_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("APPRENTICE_INSTANCE_PATH", str(tmp_path / "instance"))
    return monkeypatch.setenv


@pytest.mark.parametrize(("typed", "expected"), [
    ("false", False), ("False", False), ("0", False), ("no", False), ("OFF", False),
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), (" on ", True),
])
def test_flags_in_the_environment_mean_what_they_say(environment, typed, expected):
    for key in ("APPRENTICE_KB_EVERYONE_PUBLISHES", "APPRENTICE_SECURE_COOKIES",
                "APPRENTICE_MAIL_USE_TLS", "APPRENTICE_CSRF_ENABLED"):
        environment(key, typed)
    app = create_app()
    assert app.config["APPRENTICE_KB_EVERYONE_PUBLISHES"] is expected
    assert app.config["APPRENTICE_SECURE_COOKIES"] is expected
    assert app.config["SESSION_COOKIE_SECURE"] is expected
    assert app.config["APPRENTICE_MAIL_USE_TLS"] is expected
    assert app.config["APPRENTICE_CSRF_ENABLED"] is expected


@pytest.fixture
def everyone_publishes_false(monkeypatch):
    monkeypatch.setenv("APPRENTICE_KB_EVERYONE_PUBLISHES", "false")


def test_everyone_publishes_false_keeps_an_apprentices_page_a_draft(everyone_publishes_false,
                                                                    app, make_person):
    apprentice = make_person(roles=["apprentice"])
    with app.app_context():
        procedure = services.create(services.ProcedureDraft(title="Holds", body="Steps."),
                                    get_person(apprentice.id), publish=True)
        assert procedure.status == "draft"
        assert not services.may_publish(get_person(apprentice.id))


def test_numbers_and_lists_are_decoded(environment):
    environment("APPRENTICE_PAGE_SIZE", "25")
    environment("APPRENTICE_MAX_UPLOAD_BYTES", "5_000_000")
    environment("APPRENTICE_MAIL_PORT", "587")
    environment("APPRENTICE_TRUSTED_PROXIES", "1")
    environment("APPRENTICE_HOST_DEFAULT_ROLES", "Apprentice, mentor")
    environment("APPRENTICE_AUTH", "LOCAL")
    environment("APPRENTICE_SITE_NAME", "123")  # text stays text
    environment("APPRENTICE_MAIL_SERVER", "")
    environment("APPRENTICE_SIGN_IN_WINDOW_MINUTES", "")  # empty: not set, the default
    config = create_app().config
    assert (config["APPRENTICE_PAGE_SIZE"], config["APPRENTICE_MAX_UPLOAD_BYTES"],
            config["APPRENTICE_MAIL_PORT"], config["APPRENTICE_TRUSTED_PROXIES"]) == \
        (25, 5_000_000, 587, 1)
    assert config["APPRENTICE_HOST_DEFAULT_ROLES"] == ["apprentice", "mentor"]
    assert config["APPRENTICE_AUTH"] == "local"
    assert config["APPRENTICE_SITE_NAME"] == "123"
    assert config["APPRENTICE_SIGN_IN_WINDOW_MINUTES"] == 15


@pytest.mark.parametrize(("key", "value", "message"), [
    ("APPRENTICE_PAGE_SIZE", "lots", "APPRENTICE_PAGE_SIZE must be a whole number, got 'lots'"),
    ("APPRENTICE_PAGE_SIZE", "0", "APPRENTICE_PAGE_SIZE must be 1 or more, got 0"),
    ("APPRENTICE_MAX_UPLOAD_BYTES", "20MB",
     "APPRENTICE_MAX_UPLOAD_BYTES must be a whole number, got '20MB'"),
    ("APPRENTICE_KB_EVERYONE_PUBLISHES", "maybe",
     "APPRENTICE_KB_EVERYONE_PUBLISHES must be true or false (or yes/no, on/off, 1/0), "
     "got 'maybe'"),
    ("APPRENTICE_MAIL_PORT", "70000", "APPRENTICE_MAIL_PORT must be from 1 to 65535, got 70000"),
    ("APPRENTICE_TRUSTED_PROXIES", "not-a-number",
     "APPRENTICE_TRUSTED_PROXIES must be a whole number, got 'not-a-number'"),
    ("APPRENTICE_SECURE_COOKIES", "ja", "APPRENTICE_SECURE_COOKIES must be true or false"),
    ("APPRENTICE_CSRF_ENABLED", "disabled", "APPRENTICE_CSRF_ENABLED must be true or false"),
    ("APPRENTICE_AUTH", "ldap", "APPRENTICE_AUTH must be one of local, host, got 'ldap'"),
    ("APPRENTICE_HOST_DEFAULT_ROLES", "wizard",
     "APPRENTICE_HOST_DEFAULT_ROLES holds 'wizard': roles are apprentice, coordinator, mentor"),
    ("APPRENTICE_ENGINE", "sqlite://", "APPRENTICE_ENGINE is set in a host app's Python config"),
    ("APPRENTICE_SEARCH_MODEL", "models/minilm",
     "APPRENTICE_SEARCH_MODEL must be an absolute path"),
    ("APPRENTICE_SEARCH_MODEL", "/srv/no-such-model",
     "/srv/no-such-model has no config.json, model.safetensors, tokenizer.json"),
])
def test_an_unreadable_value_stops_the_start_naming_the_setting(environment, key, value,
                                                                 message):
    environment(key, value)
    with pytest.raises(ConfigError) as refused:
        create_app()
    assert message in str(refused.value)


# Settings that are text (paths, URLs, names, secrets): read as they are.
TEXT = {"APPRENTICE_INSTANCE_PATH", "APPRENTICE_DATABASE_URL", "APPRENTICE_INDEX_DIR",
        "APPRENTICE_SECRET_KEY", "APPRENTICE_BASE_TEMPLATE", "APPRENTICE_SITE_NAME",
        "APPRENTICE_BASE_URL", "APPRENTICE_MAIL_SERVER", "APPRENTICE_MAIL_USERNAME",
        "APPRENTICE_MAIL_PASSWORD", "APPRENTICE_MAIL_FROM"}


def test_every_setting_the_code_reads_is_text_or_in_the_table_of_types():
    read = set()
    for path in (ROOT / "apprentice").rglob("*.py"):
        read |= set(re.findall(r"APPRENTICE_[A-Z][A-Z0-9_]*", path.read_text()))
    assert read - TEXT - set(TYPED) == set(), "give each new setting a type in config.TYPED"
    assert {"APPRENTICE_KB_EVERYONE_PUBLISHES", "APPRENTICE_PAGE_SIZE"} <= set(TYPED)


def host(tmp_path, **config) -> Flask:
    app = Flask("library_intranet", instance_path=str(tmp_path))
    app.config.update(SECRET_KEY="host", **config)
    return app


def test_a_hosts_settings_given_as_text_are_decoded(tmp_path):
    app = host(tmp_path, APPRENTICE_CSRF_ENABLED="false", APPRENTICE_PAGE_SIZE="20",
               APPRENTICE_KB_EVERYONE_PUBLISHES="no")
    Apprentice(app)
    assert app.config["APPRENTICE_CSRF_ENABLED"] is False
    assert app.config["APPRENTICE_PAGE_SIZE"] == 20
    assert app.config["APPRENTICE_KB_EVERYONE_PUBLISHES"] is False


@pytest.mark.parametrize(("config", "message"), [
    ({"APPRENTICE_PAGE_SIZE": 2.5}, "APPRENTICE_PAGE_SIZE must be a whole number, got 2.5"),
    ({"APPRENTICE_PAGE_SIZE": True}, "APPRENTICE_PAGE_SIZE must be a whole number, got True"),
    ({"APPRENTICE_CSRF_ENABLED": "nein"}, "APPRENTICE_CSRF_ENABLED must be true or false"),
    ({"APPRENTICE_HOST_DEFAULT_ROLES": "mentor;coordinator"},
     "APPRENTICE_HOST_DEFAULT_ROLES holds 'mentor;coordinator'"),
])
def test_a_host_setting_of_the_wrong_type_is_refused_when_mounted(tmp_path, config, message):
    with pytest.raises(ConfigError) as refused:
        Apprentice(host(tmp_path, **config))
    assert message in str(refused.value)


def test_the_command_line_says_which_setting_is_wrong_without_a_traceback(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("APPRENTICE_")}
    env.update(APPRENTICE_INSTANCE_PATH=str(tmp_path), APPRENTICE_PAGE_SIZE="lots")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "apprentice", "db", "current"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == ("apprentice cannot start: APPRENTICE_PAGE_SIZE must be a "
                                     "whole number, got 'lots'")
