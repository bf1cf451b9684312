"""Settings: defaults, the environment, and the generated secret key.

Every key apprentice reads starts with ``APPRENTICE_``. The plugin only fills
in defaults it needs; the standalone app also reads the environment.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

DEFAULTS = {
    # "local": apprentice checks e-mail and password (the standalone app).
    # "host": the host app signs people in with its own Flask-Login user.
    "APPRENTICE_AUTH": "host",
    "APPRENTICE_BASE_TEMPLATE": "apprentice/base.html",
    "APPRENTICE_SITE_NAME": "apprentice",
    "APPRENTICE_HOST_USER_MAPPER": None,
    "APPRENTICE_HOST_DEFAULT_ROLES": (),
    "APPRENTICE_PASSWORD_MIN_LENGTH": 12,
    "APPRENTICE_SIGN_IN_WINDOW_MINUTES": 15,
    "APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT": 5,
    "APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ADDRESS": 20,
    "APPRENTICE_PAGE_SIZE": 50,
    # Bytes one upload (procedures to import) may hold; a larger request gets a 413 page.
    "APPRENTICE_MAX_UPLOAD_BYTES": 20_000_000,
    # Checked on every apprentice POST, whatever the host's own WTF_CSRF_ENABLED says.
    "APPRENTICE_CSRF_ENABLED": True,
}

# Settings of the standalone app only (the plugin never reads them); the mail
# settings are read by the reminders command.
STANDALONE_DEFAULTS = {
    "APPRENTICE_MAIL_PORT": 25,
    "APPRENTICE_MAIL_USE_TLS": False,
    "APPRENTICE_TRUSTED_PROXIES": 0,
    "APPRENTICE_SECURE_COOKIES": False,
}


def apply_defaults(config) -> None:
    """Fill in apprentice's defaults without touching what the host set."""
    for key, value in DEFAULTS.items():
        config.setdefault(key, value)


def environment_settings(environ=os.environ) -> dict:
    """``APPRENTICE_*`` variables. A setting whose default is a number, a flag or a
    list is decoded from JSON (``7``, ``true``, ``["mentor"]``); every other one,
    such as a secret key made of digits, stays the text it is."""
    typed = {
        key: default for key, default in {**DEFAULTS, **STANDALONE_DEFAULTS}.items()
        if isinstance(default, int | float | bool | list | tuple)
    }
    settings = {}
    for key, value in environ.items():
        if not key.startswith("APPRENTICE_"):
            continue
        settings[key] = value
        if key in typed:
            try:
                decoded = json.loads(value)
            except ValueError:
                continue
            if isinstance(decoded, int | float | bool | list):
                settings[key] = decoded
    return settings


def instance_path(app) -> Path:
    """The folder holding the database, the search index and the secret key."""
    return Path(app.config.get("APPRENTICE_INSTANCE_PATH") or app.instance_path)


def default_database_url(app) -> str:
    return f"sqlite:///{instance_path(app) / 'apprentice.sqlite3'}"


def index_dir(app) -> Path:
    return Path(app.config.get("APPRENTICE_INDEX_DIR") or instance_path(app) / "index")


def load_or_create_secret(folder: Path) -> str:
    """The secret kept in ``folder/secret_key``, created once with owner-only access.

    Several worker processes may start at once: the key is written to a
    temporary file and linked into place, so exactly one key ever wins.
    """
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
