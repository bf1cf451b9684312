"""A write with nothing of apprentice in it, on apprentice's stack: the ceiling a form's
save could reach on this machine, measured beside bare Flask (bench/load.py).

A signed-in user checked by Flask-Login's loader with one Core statement, the form's
CSRF token checked by Flask-WTF, six WTForms fields validated, two rows inserted with
SQLAlchemy Core into SQLite (WAL, ``BEGIN IMMEDIATE``, synchronous NORMAL: apprentice's
settings), and a redirect. No permission rule, audit record, form receipt or page.
``MINIMAL_WRITE_DB``: the database file (made on first use); ``MINIMAL_WRITE_SECRET``:
the session's key.
"""

from __future__ import annotations

import os

from flask import Flask, redirect
from flask_login import LoginManager, UserMixin, login_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from sqlalchemy import create_engine, event, text
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange

app = Flask(__name__)
# One key for every worker of the run (bench/load.py makes it): the cookie one signs,
# another reads.
app.config["SECRET_KEY"] = os.environ["MINIMAL_WRITE_SECRET"]
engine = create_engine(f"sqlite:///{os.environ.get('MINIMAL_WRITE_DB', 'minimal.sqlite3')}")


@event.listens_for(engine, "connect")
def _settings(dbapi_connection, _record):
    dbapi_connection.isolation_level = None
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


@event.listens_for(engine, "begin")
def _begin(connection):
    connection.exec_driver_sql("BEGIN IMMEDIATE")


with engine.begin() as setup:
    for table in ("people (id INTEGER PRIMARY KEY, active INTEGER)",
                  "entries (id INTEGER PRIMARY KEY, person INTEGER, mentor INTEGER, day TEXT,"
                  " minutes INTEGER, activity INTEGER, description TEXT)",
                  "entry_competencies (entry INTEGER, competency INTEGER)"):
        setup.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {table}")
    setup.exec_driver_sql("INSERT OR IGNORE INTO people VALUES (1, 1)")

login_manager = LoginManager(app)


class User(UserMixin):
    def __init__(self, user_id: str):
        self.id = user_id


@login_manager.user_loader
def load_user(user_id: str):
    with engine.connect() as connection:
        active = connection.execute(text("SELECT active FROM people WHERE id = :id"),
                                    {"id": int(user_id)}).scalar()
    return User(user_id) if active else None


class EntryForm(FlaskForm):
    occurred_on = DateField(validators=[InputRequired()])
    minutes = IntegerField(validators=[InputRequired(), NumberRange(1, 1440)])
    activity = SelectField(coerce=int, choices=[(level, str(level)) for level in range(1, 7)])
    mentor_id = SelectField(coerce=int, choices=[(2, "Mentor")])
    competency_ids = StringField()
    description = TextAreaField(validators=[InputRequired()])


@app.get("/sign-in")
def sign_in():
    """Signs the (only) user in; answers the form's CSRF token."""
    login_user(User("1"))
    return generate_csrf()


@app.post("/log/new")
def new_entry():
    form = EntryForm()
    if not form.validate_on_submit():
        return str(form.errors), 400
    with engine.begin() as connection:
        entry = connection.execute(text(
            "INSERT INTO entries (person, mentor, day, minutes, activity, description) "
            "VALUES (1, :mentor, :day, :minutes, :activity, :description)"), {
            "mentor": form.mentor_id.data, "day": form.occurred_on.data.isoformat(),
            "minutes": form.minutes.data, "activity": form.activity.data,
            "description": form.description.data}).lastrowid
        connection.execute(text("INSERT INTO entry_competencies VALUES (:entry, :competency)"),
                           {"entry": entry, "competency": int(form.competency_ids.data or 0)})
    return redirect("/log/")
