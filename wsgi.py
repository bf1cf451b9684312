"""The standalone app for ``flask --app wsgi`` and ``gunicorn -w 4 wsgi:app``."""

from apprentice import create_app

app = create_app()
