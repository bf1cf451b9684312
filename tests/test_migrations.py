"""Migrations: empty -> head -> base -> head, and models agree with migrations,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from apprentice import migrate
from apprentice.db import make_engine
from apprentice.migrate import VERSION_TABLE


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def apprentice_tables(engine) -> set[str]:
    return {name for name in inspect(engine).get_table_names() if name.startswith("apprentice_")}


def test_round_trip_and_models_match_migrations(empty_database):
    engine = empty_database
    assert migrate.current_revision(engine) is None

    migrate.upgrade(engine)
    tables = apprentice_tables(engine)
    assert {"apprentice_staff", "apprentice_staff_roles", VERSION_TABLE} <= tables
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert migrate.differences(engine) == []

    migrate.downgrade(engine, "base")
    assert apprentice_tables(engine) == {VERSION_TABLE}
    assert migrate.current_revision(engine) is None

    migrate.upgrade(engine)
    assert apprentice_tables(engine) == tables
    assert migrate.differences(engine) == []


def test_differences_notice_a_model_the_migrations_lack(empty_database):
    """The agreement check can fail: a table missing from the database is reported."""
    engine = empty_database
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE apprentice_sign_in_failures")
    found = migrate.differences(engine)
    assert any(diff[0] == "add_table" and diff[1].name == "apprentice_sign_in_failures"
               for diff in found)


def test_host_tables_are_invisible_to_apprentice(empty_database):
    engine = empty_database
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE intranet_news (id INTEGER PRIMARY KEY)")
    migrate.upgrade(engine)
    assert migrate.differences(engine) == []
    migrate.downgrade(engine, "base")
    assert "intranet_news" in inspect(engine).get_table_names()


def test_the_upgrade_moves_the_waiting_outbox_rows_into_the_log(empty_database):
    engine = empty_database
    migrate.upgrade(engine, "0010")
    with engine.begin() as connection:
        for procedure_id in (7, 3, 7):
            connection.execute(text(
                "INSERT INTO apprentice_index_outbox (procedure_id, queued_at) "
                "VALUES (:id, CURRENT_TIMESTAMP)"), {"id": procedure_id})
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert [tuple(row) for row in connection.execute(text(
            "SELECT id, procedure_id FROM apprentice_index_changes ORDER BY id"))] == [
            (1, 7), (2, 3), (3, 7)]
    migrate.downgrade(engine, "0010")
    with engine.connect() as connection:
        assert list(connection.scalars(text(
            "SELECT procedure_id FROM apprentice_index_outbox ORDER BY id"))) == [7, 3, 7]
