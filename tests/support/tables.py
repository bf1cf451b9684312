"""Every apprentice table as a fingerprint, to prove a request changed no row: the access
matrix (tests/support/access_world.py) and hostile input (tests/support/hostile.py)
each say which tables and audit records a refused request may still touch."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from apprentice.db import Base


def snapshot(app, skip: frozenset[str] | set[str] = frozenset(),
             audit_excluding: str | None = None) -> dict[str, tuple[int, str]]:
    """Each apprentice table but ``skip``: its row count and a hash of all its rows in
    primary-key order, read straight from the database (audit records whose action is
    LIKE ``audit_excluding`` left out)."""
    engine = app.extensions["apprentice"].database.engine
    tables = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            query = select(table).order_by(*table.primary_key.columns)
            if table.name == "apprentice_audit" and audit_excluding is not None:
                query = query.where(table.c.action.not_like(audit_excluding))
            rows = connection.execute(query).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            tables[table.name] = (len(rows), digest)
    return tables


def changed_tables(before: dict, after: dict) -> list[str]:
    """The tables whose rows differ between two snapshots, with their counts."""
    return [f"{name} ({before[name][0]} -> {after[name][0]} rows)"
            for name in before if before[name] != after[name]]
