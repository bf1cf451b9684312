"""A small library intranet that mounts apprentice under ``/training``.

It stands for any existing Flask intranet: its own database (Flask-SQLAlchemy),
its own ``User`` model and sign-in page (Flask-Login), its own layout and its
own Alembic migrations. apprentice borrows all of these and owns none:

* sign-in: apprentice maps the signed-in intranet user to a staff profile by
  e-mail (``APPRENTICE_AUTH = "host"``, the default when mounted);
* database: apprentice uses the intranet's engine, in its own tables
  (``apprentice_*``) and its own Alembic version table;
* layout: apprentice pages extend ``intranet_base.html``.

Run it (see README.md)::

    flask --app examples/intranet/intranet.py init-db
    flask --app examples/intranet/intranet.py apprentice db upgrade
    flask --app examples/intranet/intranet.py run
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import click
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from flask import Flask, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from apprentice import Apprentice

HERE = Path(__file__).resolve().parent
MIGRATIONS = HERE / "migrations"

db = SQLAlchemy()
login_manager = LoginManager()

NEWS = [
    ("Summer reading challenge starts 1 July", "Posters are in the staff room."),
    ("New self-service kiosks at Riverside branch", "Training sessions next week."),
]


class User(UserMixin, db.Model):
    """An intranet account. apprentice knows nothing of it but ``email`` and ``name``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def find_user(email: str) -> User | None:
    """Addresses are kept as typed; people may type them in any case."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


# -- the intranet's own migrations ---------------------------------------------

def include_name(name, type_, _parent_names) -> bool:
    """The intranet's Alembic never sees apprentice's tables (nor drops them)."""
    if type_ == "table":
        return not (name or "").startswith("apprentice_")
    return True


def migration_options() -> dict:
    """Shared by ``migrations/env.py`` and :func:`migration_differences`."""
    return {"include_name": include_name, "render_as_batch": True, "compare_type": True}


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes.update(
        connection=connection, target_metadata=db.metadata, options=migration_options()
    )
    return cfg


def upgrade_database(engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def migration_differences(engine) -> list:
    """What the intranet's autogenerate would change: empty when models and migrations agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=migration_options())
        return compare_metadata(context, db.metadata)


# -- the app --------------------------------------------------------------------

def _secret_key(folder: Path) -> str:
    """A development secret kept in the instance folder (set INTRANET_SECRET_KEY in production)."""
    path = folder / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _safe_next(target: str | None) -> str | None:
    """A path on this site, or None: never an open redirect."""
    if not target or "\\" in target or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return target


def create_app(config: dict | None = None) -> Flask:
    """The intranet. ``config`` overrides ``INTRANET_*`` environment settings.

    ``INTRANET_INSTANCE_PATH`` (in ``config`` or the environment) moves the
    instance folder, which holds the default SQLite database.
    """
    config = dict(config or {})
    instance = config.pop("INTRANET_INSTANCE_PATH", None) or os.environ.get(
        "INTRANET_INSTANCE_PATH"
    )
    app = Flask(__name__, instance_path=str(Path(instance).resolve()) if instance else None)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_prefixed_env("INTRANET")  # e.g. INTRANET_SQLALCHEMY_DATABASE_URI
    app.config.update(config)
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI", f"sqlite:///{Path(app.instance_path) / 'intranet.sqlite3'}"
    )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")

    db.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "login"

    # apprentice: same database, the intranet's layout. It borrows the intranet's
    # engine unless told to open its own (APPRENTICE_DATABASE_URL, e.g. the same URL).
    if not app.config.get("APPRENTICE_DATABASE_URL"):
        app.config.setdefault("APPRENTICE_ENGINE", lambda: db.engine)
    app.config.setdefault("APPRENTICE_BASE_TEMPLATE", "intranet_base.html")
    app.config.setdefault("APPRENTICE_SITE_NAME", "Training")
    # apprentice's own files (its search index) in a folder of their own.
    app.config.setdefault("APPRENTICE_INSTANCE_PATH", str(Path(app.instance_path) / "apprentice"))
    Path(app.config["APPRENTICE_INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)
    Apprentice(app, url_prefix="/training")

    register_routes(app)
    register_commands(app)
    return app


def register_routes(app: Flask) -> None:
    @app.route("/")
    def home():
        return render_template("home.html", news=NEWS)

    @app.route("/login", methods=["GET", "POST"])
    def login():
        # A plain form to keep the example short; a real intranet also protects
        # it against CSRF (apprentice's own forms are protected by apprentice).
        target = _safe_next(request.values.get("next")) or url_for("home")
        if current_user.is_authenticated:
            return redirect(target)
        status = 200
        if request.method == "POST":
            user = find_user(request.form.get("email", ""))
            if user is not None and user.check_password(request.form.get("password", "")):
                login_user(user)
                return redirect(target)
            flash("Unknown e-mail address or wrong password.", "error")
            status = 401
        return render_template("login.html", next=request.values.get("next", "")), status

    @app.route("/logout", methods=["POST"])
    def logout():
        logout_user()
        flash("You are logged out.", "info")
        return redirect(url_for("home"))


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create or upgrade the intranet's own tables (its Alembic migrations)."""
        upgrade_database(db.engine)
        click.echo("Intranet database is up to date.")

    @app.cli.command("add-user")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.password_option()
    def add_user(email: str, name: str, password: str) -> None:
        """Add an intranet account."""
        user = User(email=email.strip(), name=name)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        click.echo(f"Added intranet user {user.name} <{user.email}>.")
