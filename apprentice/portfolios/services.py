"""A person's portfolio: their record (apprentice.records) as a document someone outside
the app can read, with their learning statement.

Everything comes from :func:`apprentice.records.record_of`, so the portfolio shows the
same sign-offs, hours and progress as every page; nothing here decides which sign-off
stands or how far a programme is. The portfolio only chooses what to show: every
competency or the signed-off ones, and, for a mentor paired for some areas, those areas.
Frozen, like the record: a reader cannot change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select

from apprentice.competencies.models import Competency
from apprentice.db import db_session
from apprentice.kb.rendering import render
from apprentice.people.models import StaffProfile
from apprentice.portfolios import permissions
from apprentice.portfolios.sections import Section, sections_for
from apprentice.programmes import services as programmes
from apprentice.programmes.models import EnrolmentStatus
from apprentice.records import Record, record_of
from apprentice.records.record import (
    AreaRecord,
    CompetencyRecord,
    EnrolmentRecord,
    EntryRecord,
    PersonRef,
    SignOffRecord,
    StatementRecord,
)
from apprentice.training import permissions as training_permissions


@dataclass(frozen=True)
class StatementPart:
    """A piece of the learning statement (Markdown, as the apprentice wrote it)."""

    title: str
    markdown: str
    area_id: int | None = None  # None: the overall statement

    @property
    def html(self) -> Markup:
        """Through the same Markdown sanitiser as the statement page."""
        return render(self.markdown)


@dataclass(frozen=True)
class PortfolioStatement:
    revision: int
    saved_at: datetime
    overall: StatementPart
    areas: tuple[StatementPart, ...]  # the sections in view, in the form's order


@dataclass(frozen=True)
class PortfolioArea:
    """An area as the portfolio shows it: ``competencies`` are every one of the area's,
    or only those signed off (``area.competencies`` always holds them all)."""

    area: AreaRecord
    competencies: tuple[CompetencyRecord, ...]

    @property
    def signed_off(self) -> int:
        """Competencies signed off at the programme's level, as progress counts them."""
        return self.area.progress.signed_off


@dataclass(frozen=True)
class PortfolioProgramme:
    enrolment: EnrolmentRecord
    areas: tuple[PortfolioArea, ...]  # the areas in view, required first


@dataclass(frozen=True)
class Portfolio:
    """A person's record by the end of ``as_of``, as a document."""

    person: PersonRef
    job_title: str
    library: str  # the person's branch, else the site's name
    site_name: str
    as_of: date
    signed_only: bool  # only signed-off competencies are listed
    limited_to: tuple[str, ...] | None  # names of the areas shown, when some are left out
    programmes: tuple[PortfolioProgramme, ...]  # active first, finished ones kept
    statement: PortfolioStatement | None
    sign_offs: tuple[SignOffRecord, ...]  # in view, every one made by then, newest first
    entries: tuple[EntryRecord, ...] | None  # in view, newest first (None: not loaded)
    competency_codes: Mapping[int, str]  # the codes of the competencies entries name
    newest_sign_off_hash: str | None  # None too when some areas are left out
    # What features above portfolios add (the credentials issued): portfolios.sections.
    sections: tuple[Section, ...] = ()


def _competencies_of(record: Record, entries: Iterable[EntryRecord]
                     ) -> dict[int, tuple[str, int]]:
    """Competency id -> (code, area id) for every competency the entries name: from the
    record where it has them, the rest (an older wording, an area since dropped) in one
    query whatever the number of entries."""
    known = {c.id: (c.code, a.id) for e in record.enrolments for a in e.areas
             for c in a.competencies}
    known.update({s.competency.id: (s.competency.code, s.competency.area_id)
                  for s in record.sign_offs})
    missing = {cid for e in entries for cid in e.competency_ids} - set(known)
    if missing:
        known.update({cid: (code, area) for cid, code, area in db_session().execute(
            select(Competency.id, Competency.code, Competency.area_id)
            .where(Competency.id.in_(sorted(missing))))})
    return known


def _statement(statement: StatementRecord | None, areas: frozenset[int] | None,
               ) -> PortfolioStatement | None:
    """The record's learning statement, with the sections of ``areas`` (None: all)."""
    if statement is None:
        return None
    return PortfolioStatement(
        revision=statement.number, saved_at=statement.saved_at,
        overall=StatementPart("Overall", statement.overall),
        areas=tuple(StatementPart(s.area_name, s.body, s.area_id)
                    for s in statement.sections_in(areas)))


def portfolio_of(person_id: int, *, signed_only: bool = False, as_of: date | None = None,
                 areas: Iterable[int] | None = None, entries: bool = True,
                 viewer: StaffProfile | None = None) -> Portfolio | None:
    """``person_id``'s portfolio by the end of ``as_of`` (None: today); None for nobody.

    ``signed_only``: list only competencies with a standing sign-off. ``areas``: only
    these areas' progress, sign-offs, entries and statement sections (the area rule:
    :func:`apprentice.training.permissions.areas_in_view`); None: every area.
    ``entries=False`` leaves the log out (the page and the PDF list only the entries
    sign-offs cite). ``viewer``: who reads it, for the parts other features add
    (:mod:`apprentice.portfolios.sections`); None for a reader without an account (a
    share link), who is offered no download. A fixed number of queries, whatever the
    size of the record.
    """
    record = record_of(person_id, as_of, entries=entries)
    if record is None:
        return None
    in_view = None if areas is None else frozenset(areas)

    def shown(area_id: int) -> bool:
        return in_view is None or area_id in in_view

    programmes = tuple(
        PortfolioProgramme(e, tuple(
            PortfolioArea(a, tuple(c for c in a.competencies
                                   if not signed_only or c.standing is not None))
            for a in e.areas if shown(a.id)))
        for e in record.enrolments)

    logged = record.entries
    competencies = _competencies_of(record, logged or ())
    if logged is not None and in_view is not None:
        # As the apprentice page's timeline: an entry whose competencies all lie in view.
        logged = tuple(e for e in logged if all(
            cid in competencies and shown(competencies[cid][1]) for cid in e.competency_ids))
    return Portfolio(
        person=record.person, job_title=record.job_title,
        library=record.branch or current_app.config["APPRENTICE_SITE_NAME"],
        site_name=current_app.config["APPRENTICE_SITE_NAME"], as_of=record.as_of,
        signed_only=signed_only, limited_to=record.limited_to(in_view), programmes=programmes,
        statement=_statement(record.statement, in_view),
        sign_offs=tuple(s for s in record.sign_offs if shown(s.competency.area_id)),
        entries=logged,
        competency_codes=MappingProxyType({cid: code for cid, (code, _) in
                                           competencies.items()}),
        newest_sign_off_hash=record.newest_sign_off_hash if in_view is None else None,
        sections=sections_for(person_id, viewer, in_view, record.as_of),
    )


def portfolio_for(viewer: StaffProfile, person_id: int, *, signed_only: bool = False,
                  as_of: date | None = None, entries: bool = True,
                  today: date | None = None) -> Portfolio | None:
    """``person_id``'s portfolio as ``viewer`` may see it (cut to the areas their pairing
    covers); None if they may not see it at all, or there is nobody: the caller answers
    404 either way, so nobody learns who exists."""
    today = today or date.today()
    pairings = training_permissions.pairings_between(viewer.id, person_id)
    if not permissions.may_see_portfolio(viewer, person_id, today, pairings):
        return None
    in_view = training_permissions.areas_in_view(viewer, person_id, today, pairings)
    return portfolio_of(person_id, signed_only=signed_only, as_of=as_of, entries=entries,
                        areas=in_view, viewer=viewer)


# -- a programme's certificate ------------------------------------------------------------

@dataclass(frozen=True)
class Certificate:
    """What a "programme complete" certificate states, all from the record."""

    person: PersonRef
    library: str
    site_name: str
    as_of: date
    enrolment: EnrolmentRecord
    areas: tuple[AreaRecord, ...]  # the complete ones: required, then electives
    signed_off: int  # competencies signed off at the programme's level, in those areas
    verified_minutes: int  # in those areas
    mentors: tuple[str, ...]  # who signed the sign-offs that stand for them, by name
    fingerprint: str | None  # the audit hash of the newest sign-off


def certificate_of(viewer: StaffProfile, enrolment_id: int) -> Certificate | None:
    """The certificate of a programme whose rule is met (by the progress engine, as of
    today) and that was not withdrawn; None otherwise, or if ``viewer`` may not see
    the programme: the caller answers 404 either way."""
    enrolment = programmes.get_enrolment(enrolment_id)
    if enrolment is None or not permissions.may_see_certificate(viewer, enrolment):
        return None
    record = record_of(enrolment.person_id, entries=False)
    found = record.enrolment(enrolment_id) if record is not None else None
    if (found is None or not found.progress.complete
            or found.status == EnrolmentStatus.WITHDRAWN.value):
        return None
    complete = tuple(a for a in found.areas if a.progress.complete)
    standing = [c.standing for a in complete for c in a.competencies if c.standing]
    return Certificate(
        person=record.person, library=record.branch or current_app.config[
            "APPRENTICE_SITE_NAME"],
        site_name=current_app.config["APPRENTICE_SITE_NAME"], as_of=record.as_of,
        enrolment=found, areas=complete,
        signed_off=sum(a.progress.signed_off for a in complete),
        verified_minutes=sum(a.hours.verified_minutes for a in complete),
        mentors=tuple(sorted({s.mentor.name for s in standing})),
        fingerprint=record.newest_sign_off_hash,
    )
