"""Settings: defaults, the environment, and the generated secret key.

Every key apprentice reads starts with ``APPRENTICE_``. The plugin only fills
in defaults it needs; the standalone app also reads the environment. Every
setting that is a flag, a number, a list or a choice is decoded in one place
(``TYPED``), from the environment and from a host's config alike, and a value
that cannot be read stops the start with a message naming the setting.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import Callable
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
    # Who may show apprentice's pages in a frame (CSP frame-ancestors): a host's portal
    # names its own origin here (apprentice/core/headers.py).
    "APPRENTICE_FRAME_ANCESTORS": "'self'",
    # The paper a portfolio's PDF is laid out for (apprentice/portfolios/pdf.py).
    "APPRENTICE_PDF_PAGE_SIZE": "letter",
    # The issuer named in Open Badges credentials (apprentice/credentials/issuer.py):
    # None means the site name, this app's own root URL, and no contact address.
    "APPRENTICE_ISSUER_NAME": None,
    "APPRENTICE_ISSUER_URL": None,
    "APPRENTICE_ISSUER_EMAIL": None,
    # The public address of apprentice's home page that credentials name (the issuer's
    # profile, keys and status lists, the verify page); None: the address the page that
    # issued them was opened at.
    "APPRENTICE_CREDENTIAL_BASE_URL": None,
    # Private networks (CIDR) the online credential verifier may fetch keys and status
    # lists from, e.g. a consortium's intranet; none by default: public addresses only
    # (apprentice/credentials/fetch.py).
    "APPRENTICE_CREDENTIAL_FETCH_ALLOW": (),
    # Other issuers (their profile URLs, a credential's issuer.id) whose credentials the
    # verifier may call valid once their key is fetched from their own site; any other
    # issuer is "unknown", so its credentials are at best unverified.
    "APPRENTICE_KNOWN_ISSUERS": (),
    # The folder holding the issuer's signing keys (apprentice/credentials/keys.py);
    # None: ``<instance>/apprentice-keys``. Several app servers name one shared folder
    # here, so they sign as one issuer and publish one key set.
    "APPRENTICE_CREDENTIAL_KEYS_DIR": None,
    # Every this many seconds each app process applies the search changes saved on any
    # server to this server's index (apprentice/kb/applier.py); 0: only after its own
    # saves and `flask apprentice index-sync`. None: 2, or 0 in an app with TESTING set
    # (a test that wants the timer sets it).
    "APPRENTICE_INDEX_SYNC_SECONDS": None,
    # A server's search index not seen for this many days is forgotten: the changes it
    # had not applied may be pruned, and it rebuilds if it comes back.
    "APPRENTICE_INDEX_REPLICA_TTL_DAYS": 7,
    # Megabytes of pages one app process keeps per data version (apprentice/core/pagecache.py):
    # a page asked again while nothing it shows has changed is not built again. 0: none.
    # None: 8 with apprentice's own layout, 0 under a host's (which shows the host's data).
    "APPRENTICE_PAGE_CACHE_MB": None,
}

# Settings of the standalone app only (the plugin never reads them); the mail
# settings are read by the reminders command.
STANDALONE_DEFAULTS = {
    "APPRENTICE_MAIL_PORT": 25,
    "APPRENTICE_MAIL_USE_TLS": False,
    "APPRENTICE_TRUSTED_PROXIES": 0,
    "APPRENTICE_SECURE_COOKIES": False,
    # A local sign-in ends after this long without a request, and this long after it began
    # (apprentice/auth/sessions.py).
    "APPRENTICE_SESSION_IDLE_MINUTES": 30,
    "APPRENTICE_SESSION_MAX_HOURS": 12,
    # A password typed in a browser session (signing in, or confirming a sign-off) spares
    # typing it again on a sign-off for this long; 0: asked every time.
    "APPRENTICE_CONFIRM_MINUTES": 10,
}


class ConfigError(ValueError):
    """A setting apprentice cannot read; the message names it and what it must be."""


TRUE = {"true", "1", "yes", "on"}
FALSE = {"false", "0", "no", "off"}


def flag(key: str, value):
    """A yes/no setting: a bool, or true/false, 1/0, yes/no, on/off in any case.

    Never ``bool(text)``: the text "false" is true to Python, which once let
    everyone publish with APPRENTICE_KB_EVERYONE_PUBLISHES=false.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    raise ConfigError(f"{key} must be true or false (or yes/no, on/off, 1/0), got {value!r}")


def whole(lowest: int, highest: int | None = None) -> Callable[[str, object], int]:
    """A whole-number setting from ``lowest`` (to ``highest``)."""

    def decode(key: str, value) -> int:
        number = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                number = None
        if number is None:
            raise ConfigError(f"{key} must be a whole number, got {value!r}")
        if number < lowest or (highest is not None and number > highest):
            within = f"from {lowest} to {highest}" if highest is not None else f"{lowest} or more"
            raise ConfigError(f"{key} must be {within}, got {number}")
        return number

    return decode


def one_of(*choices: str) -> Callable[[str, object], str]:
    """A setting that names one of ``choices`` (any case)."""

    def decode(key: str, value) -> str:
        if isinstance(value, str) and value.strip().lower() in choices:
            return value.strip().lower()
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, got {value!r}")

    return decode


def roles(key: str, value) -> list[str]:
    """Role names: a list, or text as ``mentor,coordinator`` or ``["mentor"]``."""
    from apprentice.people.models import Role  # here: config imports no model when loaded

    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ConfigError(f"{key} must be a list of roles, got {text!r}") from None
        else:
            value = [name.strip() for name in text.split(",") if name.strip()]
    if not isinstance(value, list | tuple | set | frozenset):
        raise ConfigError(f"{key} must be a list of roles, got {value!r}")
    known = {role.value for role in Role}
    unknown = [name for name in value if str(name).strip().lower() not in known]
    if unknown:
        raise ConfigError(f"{key} holds {', '.join(map(repr, unknown))}: roles are "
                          f"{', '.join(sorted(known))}")
    return [str(name).strip().lower() for name in value]


def frame_sources(key: str, value) -> str:
    """CSP sources for frame-ancestors: ``'self' https://portal.library.example``;
    ``self`` and ``none`` may be written without their quotes. Nothing that could end
    the directive (``;``, ``,``, a line break) gets into the header."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must list CSP sources such as 'self', got {value!r}")
    if any(char in value for char in ";,") or not value.isprintable():
        raise ConfigError(f"{key} must list CSP sources separated by spaces (no ';' or ','), "
                          f"got {value!r}")
    keywords = {"self": "'self'", "none": "'none'"}
    return " ".join(keywords.get(source.lower(), source) for source in value.split())


def display_name(key: str, value) -> str:
    """A name shown to others (the issuer's, in every credential): one line of text."""
    if isinstance(value, str) and value.strip() and value.isprintable() \
            and len(value.strip()) <= 200:
        return value.strip()
    raise ConfigError(f"{key} must be a name on one line (up to 200 characters), "
                      f"got {value!r}")


def email_address(key: str, value) -> str:
    """An e-mail address (a contact published in the issuer's profile), normalised."""
    from email_validator import EmailNotValidError, validate_email

    if isinstance(value, str):
        try:
            return validate_email(value.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            pass
    raise ConfigError(f"{key} must be an e-mail address such as badges@library.example, "
                      f"got {value!r}")


def web_url(key: str, value) -> str:
    """An absolute http(s) URL with a host: it is published in credentials, where a
    relative path or a ``javascript:`` link would mean nothing or worse."""
    from urllib.parse import urlsplit

    text = value.strip() if isinstance(value, str) else ""
    if text.isprintable() and " " not in text:
        try:
            parts = urlsplit(text)
            # ``port`` raises ValueError for a port that is not a number.
            if parts.scheme.lower() in ("http", "https") and parts.hostname \
                    and parts.port != 0 and parts.username is None and parts.password is None:
                return text
        except ValueError:  # a port that is not a number, a broken IPv6 address
            pass
    raise ConfigError(f"{key} must be an http:// or https:// address such as "
                      f"https://library.example/, got {value!r}")


def networks(key: str, value) -> tuple[str, ...]:
    """IP networks in CIDR form: a list, or text as ``10.20.0.0/16, fd00::/8``."""
    import ipaddress

    if isinstance(value, str):
        value = [part.strip() for part in value.replace(",", " ").split() if part.strip()]
    if not isinstance(value, list | tuple | set | frozenset):
        raise ConfigError(f"{key} must list networks such as 10.20.0.0/16, got {value!r}")
    found = []
    for item in value:
        try:
            found.append(str(ipaddress.ip_network(str(item).strip(), strict=False)))
        except ValueError:
            raise ConfigError(f"{key} holds {item!r}, which is not a network such as "
                              f"10.20.0.0/16") from None
    return tuple(found)


def web_urls(key: str, value) -> tuple[str, ...]:
    """Several http(s) URLs: a list, or text separated by commas or spaces."""
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list | tuple | set | frozenset):
        raise ConfigError(f"{key} must list addresses such as "
                          f"https://library.example/issuer, got {value!r}")
    return tuple(web_url(key, item) for item in value)


def absolute_folder(key: str, value) -> str:
    """A folder given by its absolute path: a relative one would name another folder for
    each working directory (gunicorn's, a command's), so the two would disagree."""
    if isinstance(value, str | os.PathLike) and os.path.isabs(value) \
            and str(value).isprintable():
        return str(value)
    raise ConfigError(f"{key} must be an absolute path such as /srv/apprentice/keys, "
                      f"got {value!r}")


MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def model_folder(key: str, value) -> str:
    """``off`` (or no, false, none, 0), or the absolute path of a folder holding a
    sentence-transformers model's files: a wrong path stops the start, where it would
    otherwise leave search by words without a word said."""
    if isinstance(value, bool) and not value:
        return "off"
    if isinstance(value, str) and value.strip().lower() in FALSE | {"none"}:
        return "off"
    folder = absolute_folder(key, value)
    missing = [name for name in MODEL_FILES if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        raise ConfigError(f"{key} must be off or a folder holding a sentence-transformers "
                          f"model ({', '.join(MODEL_FILES)}); {folder} has no "
                          f"{', '.join(missing)}")
    return folder


def code_only(key: str, value):
    """A setting only Python code can give (an engine, a function), never text."""
    if isinstance(value, str):
        raise ConfigError(f"{key} is set in a host app's Python config (an object, not "
                          f"text), got {value!r}")
    return value


# Every setting that is not plain text, with how to read it. Text settings (URLs,
# paths, names, the secret key) are left as they are.
TYPED: dict[str, Callable] = {
    "APPRENTICE_AUTH": one_of("local", "host"),
    "APPRENTICE_HOST_USER_MAPPER": code_only,
    "APPRENTICE_ENGINE": code_only,
    "APPRENTICE_HOST_DEFAULT_ROLES": roles,
    "APPRENTICE_PASSWORD_MIN_LENGTH": whole(1),
    "APPRENTICE_SIGN_IN_WINDOW_MINUTES": whole(1),
    "APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT": whole(1),
    "APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ADDRESS": whole(1),
    "APPRENTICE_PAGE_SIZE": whole(1),
    "APPRENTICE_MAX_UPLOAD_BYTES": whole(1),
    "APPRENTICE_CSRF_ENABLED": flag,
    "APPRENTICE_FRAME_ANCESTORS": frame_sources,
    "APPRENTICE_PDF_PAGE_SIZE": one_of("letter", "a4"),
    "APPRENTICE_ISSUER_NAME": display_name,
    "APPRENTICE_ISSUER_URL": web_url,
    "APPRENTICE_ISSUER_EMAIL": email_address,
    "APPRENTICE_CREDENTIAL_BASE_URL": web_url,
    "APPRENTICE_CREDENTIAL_FETCH_ALLOW": networks,
    "APPRENTICE_KNOWN_ISSUERS": web_urls,
    "APPRENTICE_CREDENTIAL_KEYS_DIR": absolute_folder,
    "APPRENTICE_INDEX_SYNC_SECONDS": whole(0),
    "APPRENTICE_INDEX_REPLICA_TTL_DAYS": whole(1),
    "APPRENTICE_PAGE_CACHE_MB": whole(0),
    "APPRENTICE_SEARCH_MODEL": model_folder,
    "APPRENTICE_KB_EVERYONE_PUBLISHES": flag,
    "APPRENTICE_MAIL_PORT": whole(1, 65535),
    "APPRENTICE_MAIL_USE_TLS": flag,
    "APPRENTICE_TRUSTED_PROXIES": whole(0),
    "APPRENTICE_SECURE_COOKIES": flag,
    "APPRENTICE_SESSION_IDLE_MINUTES": whole(1),
    "APPRENTICE_SESSION_MAX_HOURS": whole(1),
    "APPRENTICE_CONFIRM_MINUTES": whole(0),
}


def decode_settings(config) -> None:
    """Read every typed setting present in ``config`` (a Flask config or a dict) in
    place, so ``"false"`` becomes False; ConfigError for a value that cannot be read.
    None means "not set" and is left for the default."""
    for key, decode in TYPED.items():
        if config.get(key) is not None:
            config[key] = decode(key, config[key])


def apply_defaults(config) -> None:
    """Fill in apprentice's defaults without touching what the host set, and read the
    host's typed settings (a host may have copied ``"false"`` from its environment)."""
    for key, value in DEFAULTS.items():
        config.setdefault(key, value)
    decode_settings(config)


def environment_settings(environ=os.environ) -> dict:
    """``APPRENTICE_*`` variables. The typed ones (``TYPED``) are decoded: ``7``,
    ``false``/``no``/``off``, ``mentor,coordinator``; every other one, such as a
    secret key made of digits, stays the text it is. A typed variable set empty
    counts as not set; ConfigError when a typed value cannot be read."""
    settings = {key: value for key, value in environ.items()
                if key.startswith("APPRENTICE_") and not (key in TYPED and not value.strip())}
    decode_settings(settings)
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
