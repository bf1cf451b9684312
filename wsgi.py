"""The standalone app for ``flask --app wsgi`` and ``gunicorn -w 4 wsgi:app``."""

from apprentice import create_app
from apprentice.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:  # a setting that cannot be read: say which, without a traceback
    raise SystemExit(f"apprentice cannot start: {exc}") from None
