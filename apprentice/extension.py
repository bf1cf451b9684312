"""The Flask extension: ``Apprentice(app, url_prefix="/training")``.

Everything apprentice keeps for an app lives in ``app.extensions["apprentice"]``;
the extension object itself holds no app, so one instance may serve several.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask

from apprentice import config as settings
from apprentice.db import Database, close_db_session


@dataclass
class ApprenticeState:
    """Per-app state, found at ``app.extensions["apprentice"]``."""

    database: Database
    url_prefix: str
    # The database was found at the newest migration (apprentice.migrate.ready_problem).
    schema_ready: bool = False
    # Parts of a portfolio that features above portfolios add (portfolios.sections).
    portfolio_sections: tuple = ()
    # Per-process caches of data that never changes once written, by name (e.g.
    # programmes.shapes' published framework versions): each feature owns its entry.
    caches: dict = field(default_factory=dict)
    # This process's search index applier (apprentice.kb.applier), once a page started it.
    index_applier: object = None


class Apprentice:
    """Mounts every apprentice page into a Flask app, standalone or host."""

    def __init__(self, app: Flask | None = None, url_prefix: str = "/apprentice"):
        self.url_prefix = url_prefix
        if app is not None:
            self.init_app(app, url_prefix=url_prefix)

    def init_app(self, app: Flask, url_prefix: str | None = None) -> None:
        from apprentice import models  # noqa: F401 - every table on the metadata
        from apprentice.credentials.handover import portfolio_section
        from apprentice.kb import search
        from apprentice.web import bp

        prefix = self.url_prefix if url_prefix is None else url_prefix
        prefix = prefix.rstrip("/")
        settings.apply_defaults(app.config)
        settings.instance_path(app).mkdir(parents=True, exist_ok=True)
        settings.index_dir(app).mkdir(parents=True, exist_ok=True)
        url = app.config.get("APPRENTICE_DATABASE_URL")
        engine_source = app.config.get("APPRENTICE_ENGINE")
        if not url and engine_source is None:
            url = settings.default_database_url(app)
        app.extensions["apprentice"] = ApprenticeState(
            database=Database(url, engine_source), url_prefix=prefix,
            portfolio_sections=(portfolio_section,),
        )
        app.teardown_appcontext(close_db_session)
        search.read_english_early()
        app.register_blueprint(bp, url_prefix=prefix or None)
