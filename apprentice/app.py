"""The standalone app: a small host that signs people in and mounts the plugin.

It does only what a library intranet would do around apprentice: settings,
a secret key, Flask-Login, error pages for URLs outside any blueprint.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from flask import Flask, send_from_directory
from flask_login import LoginManager
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from apprentice import config as settings
from apprentice.auth.services import load_user
from apprentice.core.headers import add_security_headers
from apprentice.extension import Apprentice


def create_app(config: dict | None = None) -> Flask:
    """Build the standalone app. ``config`` overrides the environment's ``APPRENTICE_*``."""
    overrides = {**settings.environment_settings(), **(config or {})}
    instance = overrides.get("APPRENTICE_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    app = Flask("apprentice", instance_path=str(Path(instance).resolve()), static_folder=None)
    app.config.update(APPRENTICE_AUTH="local", APPRENTICE_INSTANCE_PATH=app.instance_path,
                      **settings.STANDALONE_DEFAULTS)
    app.config.update(overrides)
    settings.decode_settings(app.config)  # "false" given in ``config`` is False too
    app.config["SECRET_KEY"] = (
        app.config.get("SECRET_KEY")
        or app.config.get("APPRENTICE_SECRET_KEY")
        or settings.load_or_create_secret(Path(app.instance_path))
    )
    secure = app.config["APPRENTICE_SECURE_COOKIES"]
    # Flask has its own defaults for the session cookie (not secure, no SameSite), so
    # ``setdefault`` never changed them: set each one unless ``config`` named it.
    for key, value in {"SESSION_COOKIE_SECURE": secure, "REMEMBER_COOKIE_SECURE": secure,
                       "SESSION_COOKIE_SAMESITE": "Lax", "SESSION_COOKIE_HTTPONLY": True,
                       "REMEMBER_COOKIE_SAMESITE": "Lax",
                       "REMEMBER_COOKIE_HTTPONLY": True,
                       # "Keep me signed in" lasts no longer than a session may.
                       "REMEMBER_COOKIE_DURATION": timedelta(
                           hours=app.config["APPRENTICE_SESSION_MAX_HOURS"])}.items():
        if key not in overrides:
            app.config[key] = value

    proxies = app.config["APPRENTICE_TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    login = LoginManager(app)
    login.user_loader(load_user)
    login.login_view = "apprentice.auth.sign_in"
    login.login_message = "Please sign in to continue."
    login.login_message_category = "info"

    Apprentice(app, url_prefix="")

    # URLs that match no page still get the friendly layout, the way apprentice's own get it.
    from apprentice.web import http_error_page

    app.register_error_handler(HTTPException, http_error_page)
    # Browsers and bookmark tools ask the site's root for its icon. The standalone app is
    # the host here; the plugin itself adds no route outside its own prefix.
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    # Security headers on every response (the blueprint's own hook misses URLs that
    # match no page); HSTS too, as the host, when the request came over HTTPS.
    app.after_request(standalone_security_headers)
    return app


def standalone_security_headers(response):
    """apprentice's security headers, HSTS included (apprentice/core/headers.py)."""
    return add_security_headers(response, hsts=True)


def favicon():
    """apprentice's icon at /favicon.ico (pages link to it under the plugin's prefix too)."""
    from apprentice.web import bp

    return send_from_directory(bp.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon")
