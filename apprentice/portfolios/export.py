"""A portfolio as files: JSON (the whole record, versioned by a JSON Schema shipped in
``schema/``) and CSV (entries and sign-offs, no cell a spreadsheet runs as a formula).

The schema is the JSON's documentation: each field's description says what it holds.
A change that drops or renames a field is a new schema version (a new file beside the
old one, ``SCHEMA_VERSION`` raised); adding an optional field is not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from functools import cache
from pathlib import Path

from apprentice import csvsafe
from apprentice.core.downloads import file_slug
from apprentice.portfolios.services import Portfolio, PortfolioProgramme, StatementPart
from apprentice.records.record import CompetencyRecord, SignOffRecord

SCHEMA_VERSION = 1
SCHEMA_DIR = Path(__file__).resolve().parent / "schema"


@cache
def schema_text(version: int = SCHEMA_VERSION) -> str:
    """The JSON Schema of ``version``, as shipped (FileNotFoundError: no such version)."""
    return (SCHEMA_DIR / f"portfolio-v{version}.schema.json").read_text(encoding="utf-8")


def schema_id(version: int = SCHEMA_VERSION) -> str:
    return json.loads(schema_text(version))["$id"]


def filename(portfolio: Portfolio, extension: str) -> str:
    """``portfolio-jordan-lee-2026-12-01.pdf``: ASCII only, so every browser and file
    system keeps it as it is."""
    slug = file_slug(portfolio.person.name) or f"person-{portfolio.person.id}"
    signed = "-signed-off" if portfolio.signed_only else ""
    return f"portfolio-{slug}{signed}-{portfolio.as_of.isoformat()}.{extension}"


# -- JSON ---------------------------------------------------------------------------------

def _when(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _part(part: StatementPart) -> dict:
    return {"area_id": part.area_id, "title": part.title, "markdown": part.markdown,
            "html": str(part.html)}


def _sign_off(s: SignOffRecord) -> dict:
    return {
        "id": s.id, "competency_id": s.competency.id, "competency_code": s.competency.code,
        "competency_statement": s.competency.statement, "area_id": s.competency.area_id,
        "level": int(s.level), "level_label": s.level.label,
        "mentor": s.mentor.name, "signed_at": _when(s.signed_at), "comment": s.comment,
        "stands": s.stands, "corrects_id": s.corrects_id, "corrected_by_id": s.corrected_by,
        "revocation": None if s.revocation is None else {
            "reason": s.revocation.reason, "revoked_by": s.revocation.revoked_by.name,
            "revoked_at": _when(s.revocation.revoked_at)},
        "cited_entries": [{"id": e.id, "date": _when(e.occurred_on),
                           "description": e.description, "minutes": e.minutes}
                          for e in s.cited],
    }


def _competency(c: CompetencyRecord) -> dict:
    return {"id": c.id, "code": c.code, "statement": c.statement, "status": str(c.status),
            "status_label": c.status.label,
            "standing_sign_off_id": c.standing.id if c.standing else None}


def _programme(programme: PortfolioProgramme) -> dict:
    e = programme.enrolment
    return {
        "id": e.id, "framework": e.framework_name, "status": e.status,
        "start_date": _when(e.start_date), "target_date": _when(e.target_date),
        "finished_at": _when(e.finished_at), "electives": list(e.electives),
        "percent": e.progress.percent, "complete": e.progress.complete,
        "areas": [{
            "id": a.area.id, "name": a.area.name, "required": a.area.required,
            "complete": a.area.progress.complete, "signed_off": a.signed_off,
            "competency_count": len(a.area.competencies),
            "hours": {"planned_minutes": a.area.hours.planned_minutes,
                      "logged_minutes": a.area.hours.logged_minutes,
                      "verified_minutes": a.area.hours.verified_minutes},
            "competencies": [_competency(c) for c in a.competencies],
        } for a in programme.areas],
    }


def to_json(portfolio: Portfolio) -> dict:
    """The whole record as a JSON object (see the schema for every field)."""
    p = portfolio
    return {
        "schema": schema_id(),
        "schema_version": SCHEMA_VERSION,
        "as_of": _when(p.as_of),
        "signed_only": p.signed_only,
        "produced_by": p.site_name,
        "person": {"id": p.person.id, "name": p.person.name, "job_title": p.job_title,
                   "library": p.library},
        "areas_limited_to": None if p.limited_to is None else list(p.limited_to),
        "programmes": [_programme(programme) for programme in p.programmes],
        "sign_offs": [_sign_off(s) for s in p.sign_offs],
        "entries": None if p.entries is None else [{
            "id": e.id, "date": _when(e.occurred_on), "minutes": e.minutes,
            "activity": e.activity, "description": e.description, "verified": e.verified,
            "competency_codes": [p.competency_codes.get(cid, "") for cid in e.competency_ids],
        } for e in p.entries],
        "statement": None if p.statement is None else {
            "revision": p.statement.revision, "saved_at": _when(p.statement.saved_at),
            "overall": _part(p.statement.overall),
            "areas": [_part(part) for part in p.statement.areas]},
        "newest_sign_off_hash": p.newest_sign_off_hash,
    }


# -- CSV ----------------------------------------------------------------------------------

CSV_COLUMNS = ("record", "id", "date", "competencies", "minutes", "activity or level",
               "mentor", "status", "description or comment", "cites or corrects")


def _status(s: SignOffRecord) -> str:
    if s.revocation is not None:
        return (f"revoked {s.revocation.revoked_at:%Y-%m-%d} by {s.revocation.revoked_by.name}:"
                f" {s.revocation.reason}")
    if s.corrected_by is not None:
        return f"corrected by sign-off {s.corrected_by}"
    return "stands" if s.stands else "does not stand"


def csv_lines(portfolio: Portfolio) -> Iterator[str]:
    """The entries (newest first), then every sign-off, a line at a time (a header first)."""
    def rows():
        codes = portfolio.competency_codes
        for e in portfolio.entries or ():
            yield ("entry", e.id, e.occurred_on.isoformat(),
                   " ".join(codes.get(cid, "") for cid in e.competency_ids), e.minutes,
                   e.activity, "", "verified" if e.verified else "waiting for review",
                   e.description, "")
        for s in portfolio.sign_offs:
            cites = " ".join(f"entry {c.id}" for c in s.cited)
            if s.corrects_id is not None:
                cites = f"corrects sign-off {s.corrects_id}; {cites}".rstrip("; ")
            yield ("sign-off", s.id, s.signed_at.isoformat(), s.competency.code, "",
                   s.level.label, s.mentor.name, _status(s), s.comment, cites)

    return csvsafe.csv_lines(CSV_COLUMNS, rows())
