"""The standalone factory and its zero-configuration defaults."""

from __future__ import annotations

import os
import stat

from sqlalchemy import text

from apprentice import Apprentice, create_app
from apprentice.config import environment_settings, index_dir
from apprentice.db import db_session


def test_zero_config_keeps_everything_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("APPRENTICE_"):
            monkeypatch.delenv(key)
    app = create_app()
    instance = tmp_path / "instance"
    assert app.instance_path == str(instance)
    assert app.extensions["apprentice"].database.url == f"sqlite:///{instance}/apprentice.sqlite3"
    assert index_dir(app) == instance / "index"
    assert app.config["APPRENTICE_AUTH"] == "local"


def test_instance_path_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("APPRENTICE_INSTANCE_PATH", str(tmp_path / "data"))
    monkeypatch.setenv("APPRENTICE_INDEX_DIR", str(tmp_path / "idx"))
    monkeypatch.setenv("APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT", "7")
    app = create_app()
    assert app.instance_path == str(tmp_path / "data")
    assert index_dir(app) == tmp_path / "idx"
    assert app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT"] == 7
    assert (tmp_path / "data").is_dir()


def test_database_url_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("APPRENTICE_DATABASE_URL", f"sqlite:///{tmp_path}/elsewhere.db")
    app = create_app({"APPRENTICE_INSTANCE_PATH": str(tmp_path / "inst")})
    assert app.extensions["apprentice"].database.url == f"sqlite:///{tmp_path}/elsewhere.db"


def test_environment_values_are_decoded_only_for_typed_settings():
    settings = environment_settings({
        "APPRENTICE_PAGE_SIZE": "12",
        "APPRENTICE_SECURE_COOKIES": "true",
        "APPRENTICE_HOST_DEFAULT_ROLES": '["mentor"]',
        "APPRENTICE_DATABASE_URL": "postgresql://x/y",
        # Text settings stay text even when they look like JSON.
        "APPRENTICE_SECRET_KEY": "20240917123456789",
        "APPRENTICE_SITE_NAME": "true",
        "OTHER": "1",
    })
    assert settings == {
        "APPRENTICE_PAGE_SIZE": 12,
        "APPRENTICE_SECURE_COOKIES": True,
        "APPRENTICE_HOST_DEFAULT_ROLES": ["mentor"],
        "APPRENTICE_DATABASE_URL": "postgresql://x/y",
        "APPRENTICE_SECRET_KEY": "20240917123456789",
        "APPRENTICE_SITE_NAME": "true",
    }  # an unreadable number is refused: tests/test_config.py


def test_a_secret_key_made_of_digits_works(tmp_path, monkeypatch):
    monkeypatch.setenv("APPRENTICE_SECRET_KEY", "20240917123456789")
    app = create_app({"APPRENTICE_INSTANCE_PATH": str(tmp_path)})
    assert app.secret_key == "20240917123456789"
    assert app.test_cli_runner().invoke(args=["apprentice", "db", "upgrade"]).exit_code == 0
    assert app.test_client().get("/sign-in").status_code == 200


def test_secret_key_is_generated_once_kept_private_and_never_fixed(tmp_path, monkeypatch):
    monkeypatch.delenv("APPRENTICE_SECRET_KEY", raising=False)
    first = create_app({"APPRENTICE_INSTANCE_PATH": str(tmp_path / "a")})
    again = create_app({"APPRENTICE_INSTANCE_PATH": str(tmp_path / "a")})
    other = create_app({"APPRENTICE_INSTANCE_PATH": str(tmp_path / "b")})
    assert len(first.secret_key) >= 40
    assert first.secret_key == again.secret_key
    assert first.secret_key != other.secret_key
    mode = stat.S_IMODE((tmp_path / "a" / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_secret_key_from_config_or_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("APPRENTICE_SECRET_KEY", "from-the-environment")
    app = create_app({"APPRENTICE_INSTANCE_PATH": str(tmp_path)})
    assert app.secret_key == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_sqlite_runs_in_wal_mode_with_busy_timeout_and_foreign_keys(tmp_path):
    app = create_app({"APPRENTICE_INSTANCE_PATH": str(tmp_path)})
    with app.app_context():
        session = db_session()
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_extension_keeps_its_state_in_app_extensions_not_on_itself(tmp_path):
    from flask import Flask

    host = Flask(__name__, instance_path=str(tmp_path))
    extension = Apprentice()
    before = dict(vars(extension))
    extension.init_app(host, url_prefix="/training")
    assert vars(extension) == before
    state = host.extensions["apprentice"]
    assert state.url_prefix == "/training"
    assert state.database.url.endswith("apprentice.sqlite3")


def test_wsgi_module_exposes_the_standalone_app(tmp_path, monkeypatch):
    monkeypatch.setenv("APPRENTICE_INSTANCE_PATH", str(tmp_path))
    import importlib

    import wsgi

    importlib.reload(wsgi)
    assert wsgi.app.name == "apprentice"
    assert "apprentice.auth.sign_in" in wsgi.app.view_functions


def test_plugin_can_be_mounted_twice_at_different_prefixes(tmp_path):
    from flask import Flask
    from flask_login import LoginManager

    ext = Apprentice()
    apps = []
    for prefix in ("/training", "/staff/learning"):
        host = Flask(__name__, instance_path=str(tmp_path / prefix.strip("/").replace("/", "-")))
        host.config["SECRET_KEY"] = "host-secret"
        LoginManager(host)
        ext.init_app(host, url_prefix=prefix)
        apps.append(host)
    for host, prefix in zip(apps, ("/training", "/staff/learning"), strict=True):
        with host.test_request_context():
            from flask import url_for

            assert url_for("apprentice.people.index") == f"{prefix}/people/"
            assert url_for("apprentice.static", filename="apprentice.css") == (
                f"{prefix}/assets/apprentice.css"
            )
