"""Audit records in words a coordinator reads: one sentence per record, with names.

Every action code the app records has its rule here (one function each, in
``RULES``), so the page, the CSV download and the tests say the same thing.
The names and codes a batch of records mentions are looked up together
(:func:`names_for`: a fixed number of queries per batch, never one per row).
A record whose action is unknown, whose details are odd, or whose people or
objects are gone still reads as a sentence; the raw record stays one click away.

A sentence is a list of parts: plain text, or a :class:`Link` to the page of the
person, entry, sign-off, pairing or programme it names. Which pages exist is the
web layer's business (it passes a function from a link to a URL, or to None).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup, escape
from sqlalchemy import select

from apprentice.audit.models import AuditRecord
from apprentice.competencies.models import (
    LEVEL_LABELS,
    Competency,
    CompetencyArea,
    Framework,
    SupervisionLevel,
)
from apprentice.db import db_session
from apprentice.formatting import duration
from apprentice.people.models import StaffProfile
from apprentice.programmes.models import Enrolment
from apprentice.training.models import LogEntry, Pairing, SignOff

QUOTE_LIMIT = 160  # longer comments and reasons are shortened in the sentence, kept whole raw
IN_CHUNK = 500  # ids per IN (...) list when looking names up


# -- kinds of record: the filter's groups ---------------------------------------------------

@dataclass(frozen=True)
class Kind:
    """A group of action codes (by prefix), as the filter offers it and the table labels it."""

    slug: str
    label: str  # the filter's option
    one: str  # one record's kind, in the table
    prefixes: tuple[str, ...]

    def holds(self, action: str) -> bool:
        return action.startswith(self.prefixes)


KINDS: tuple[Kind, ...] = (
    Kind("sign-offs", "Sign-offs", "Sign-off", ("signoff.",)),
    Kind("entries", "Log entries", "Log entry", ("entry.",)),
    Kind("pairings", "Pairings", "Pairing", ("pairing.",)),
    Kind("programmes", "Programmes (enrolments)", "Programme", ("enrolment.",)),
    Kind("people", "People & roles", "People", ("person.", "role.")),
    Kind("sign-ins", "Sign-ins", "Sign-in", ("signin.",)),
    Kind("procedures", "Procedures & search vocabulary", "Procedures & search",
         ("procedure.", "glossary.")),
    Kind("frameworks", "Frameworks", "Framework", ("framework.",)),
    Kind("statements", "Learning statements", "Learning statement", ("statement.",)),
    Kind("share-links", "Share links", "Share link", ("sharelink.",)),
    Kind("credentials", "Credentials", "Credential", ("credential.",)),
)
# Everything no group above holds (a code added later, a test's own records).
OTHER = Kind("other", "Anything else", "Other", ())
KIND_BY_SLUG = {kind.slug: kind for kind in (*KINDS, OTHER)}


def kind_of(action: str) -> Kind | None:
    return next((kind for kind in KINDS if kind.holds(action)), None)


def kind_label(action: str) -> str:
    """The table's Kind column: the group's name, or the code itself when no group has it."""
    kind = kind_of(action)
    return kind.one if kind else action


# -- sentences --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Link:
    """Words naming something with a page: ``page`` is person, entry, sign_off, pairing,
    enrolment, statement, share_links or credentials (``id``: the person's) or glossary; ``id`` the
    object's id (None for the glossary)."""

    text: str
    page: str
    id: int | None = None


Part = str | Link


class Sentence:
    """What a record says, as parts; ``str()`` is the plain text (the CSV's)."""

    def __init__(self, *parts: Part):
        self.parts: tuple[Part, ...] = tuple(p for p in parts if p != "")

    def __str__(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    def __repr__(self) -> str:
        return f"Sentence({str(self)!r})"

    def html(self, url: Callable[[Link], str | None]) -> Markup:
        """The sentence as HTML, each link a link where ``url`` gives it a page."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(escape(part))
                continue
            href = url(part)
            out.append(Markup('<a href="{}">{}</a>').format(href, part.text) if href
                       else escape(part.text))
        return Markup("").join(out)


# -- looking names up for a batch of records ---------------------------------------------------

@dataclass(frozen=True)
class EntryFacts:
    person_id: int
    occurred_on: date


@dataclass(frozen=True)
class SignOffFacts:
    person_id: int
    competency_id: int


@dataclass(frozen=True)
class PairingFacts:
    apprentice_id: int
    mentor_id: int


@dataclass(frozen=True)
class EnrolmentFacts:
    person_id: int
    framework_id: int


@dataclass
class Names:
    """What a batch of records names, by id (absent: no longer on record)."""

    people: dict[int, str] = field(default_factory=dict)
    competencies: dict[int, str] = field(default_factory=dict)  # codes
    areas: dict[int, str] = field(default_factory=dict)
    frameworks: dict[int, str] = field(default_factory=dict)
    entries: dict[int, EntryFacts] = field(default_factory=dict)
    sign_offs: dict[int, SignOffFacts] = field(default_factory=dict)
    pairings: dict[int, PairingFacts] = field(default_factory=dict)
    enrolments: dict[int, EnrolmentFacts] = field(default_factory=dict)


def details_of(record: AuditRecord) -> dict:
    """A record's details as a dict ({} when they are not a JSON object)."""
    try:
        details = json.loads(record.details or "{}")
    except (TypeError, ValueError):
        return {}
    return details if isinstance(details, dict) else {}


MAX_ID = 2**63 - 1  # a larger number cannot be sent to the database in a lookup


def _int(value) -> int | None:
    """An id or amount from the details, or None for anything else (text such as "²" or
    4,000 digits, which ``int`` refuses, or a number no database column holds)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value) if len(value) <= 19 else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if -MAX_ID <= value <= MAX_ID else None


def _ints(value) -> list[int]:
    if not isinstance(value, list):
        return []
    return [number for number in map(_int, value) if number is not None]


def _object(record: AuditRecord, type_name: str) -> int | None:
    return record.object_id if record.object_type == type_name else None


def _rows(columns, id_column, ids: set[int]):
    """Rows of ``columns`` for ``ids``, a few hundred ids per query."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), IN_CHUNK):
        yield from db_session().execute(
            select(*columns).where(id_column.in_(ordered[start:start + IN_CHUNK])))


def names_for(records: Iterable[AuditRecord]) -> Names:
    """Look up, in bulk, every name and code ``records`` mention."""
    people: set[int] = set()
    competencies: set[int] = set()
    areas: set[int] = set()
    frameworks: set[int] = set()
    entries: set[int] = set()
    sign_offs: set[int] = set()
    pairings: set[int] = set()
    enrolments: set[int] = set()
    for record in records:
        details = details_of(record)
        people.update(n for n in (record.actor_id, _object(record, "StaffProfile"),
                                  *(_int(details.get(k)) for k in ("person", "apprentice",
                                                                   "mentor"))) if n)
        competencies.update(_ints(details.get("competencies")))
        competencies.update(n for n in [_int(details.get("competency"))] if n)
        for key in ("areas", "electives"):
            areas.update(_ints(details.get(key)))
        for key in ("before", "after"):
            if isinstance(details.get(key), dict):
                areas.update(_ints(details[key].get("areas")))
        frameworks.update(n for n in [_int(details.get("framework"))] if n)
        for ids, type_name in ((entries, "LogEntry"), (sign_offs, "SignOff"),
                               (pairings, "Pairing"), (enrolments, "Enrolment")):
            ids.update(n for n in [_object(record, type_name)] if n)
        sign_offs.update(n for n in [_int(details.get("corrects"))] if n)

    names = Names()
    for id_, person_id, day in _rows((LogEntry.id, LogEntry.person_id, LogEntry.occurred_on),
                                     LogEntry.id, entries):
        names.entries[id_] = EntryFacts(person_id, day)
        people.add(person_id)
    for id_, person_id, competency_id in _rows(
            (SignOff.id, SignOff.person_id, SignOff.competency_id), SignOff.id, sign_offs):
        names.sign_offs[id_] = SignOffFacts(person_id, competency_id)
        people.add(person_id)
        competencies.add(competency_id)
    for id_, apprentice_id, mentor_id in _rows(
            (Pairing.id, Pairing.apprentice_id, Pairing.mentor_id), Pairing.id, pairings):
        names.pairings[id_] = PairingFacts(apprentice_id, mentor_id)
        people.update((apprentice_id, mentor_id))
    for id_, person_id, framework_id in _rows(
            (Enrolment.id, Enrolment.person_id, Enrolment.framework_id), Enrolment.id,
            enrolments):
        names.enrolments[id_] = EnrolmentFacts(person_id, framework_id)
        people.add(person_id)
        frameworks.add(framework_id)
    names.people = dict(_rows((StaffProfile.id, StaffProfile.name), StaffProfile.id, people))
    names.competencies = dict(_rows((Competency.id, Competency.code), Competency.id,
                                    competencies))
    names.areas = dict(_rows((CompetencyArea.id, CompetencyArea.name), CompetencyArea.id, areas))
    names.frameworks = dict(_rows((Framework.id, Framework.name), Framework.id, frameworks))
    return names


# -- words shared by the rules -----------------------------------------------------------------

def _and(items: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _day(value) -> str:
    """A date as people write it ("5 January 2026"); anything else as it was stored."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    return str(value)


def _quoted(text) -> str:
    """Someone's own words, in quotes, shortened when long."""
    text = " ".join(str(text or "").split())
    if len(text) > QUOTE_LIMIT:
        text = text[:QUOTE_LIMIT - 1].rstrip() + "…"
    return f"'{text}'"


def _gone(what: str, id_) -> str:
    """Something a record names that is not (or no longer) on record."""
    return f"{what} #{id_} (not found)" if id_ is not None else f"an unnamed {what}"


def _level(value) -> str:
    try:
        return f"'{LEVEL_LABELS[SupervisionLevel(_int(value))].lower()}'"
    except ValueError:
        return "an unrecorded level" if value is None else f"level {value}"


class _Said:
    """One record, its details and the batch's names: the pieces the rules put together."""

    def __init__(self, record: AuditRecord, details: dict, names: Names):
        self.record = record
        self.details = details
        self.names = names

    def actor(self) -> Part:
        """Who did it: the name as recorded then, linked to their page."""
        record = self.record
        name = record.actor_name or self.names.people.get(record.actor_id or 0, "")
        if not name:
            return "Someone"
        return Link(name, "person", record.actor_id) if record.actor_id else name

    def person(self, person_id) -> Part:
        person_id = _int(person_id)
        if person_id is None:
            return "someone"
        name = self.names.people.get(person_id)
        return Link(name, "person", person_id) if name else _gone("person", person_id)

    def detail_person(self, key: str) -> Part:
        return self.person(self.details.get(key))

    def code(self, competency_id) -> str:
        competency_id = _int(competency_id)
        return self.names.competencies.get(competency_id or 0) or f"competency #{competency_id}"

    def codes(self, ids: list[int]) -> str:
        return _and([self.code(i) for i in ids])

    def areas(self, ids) -> str:
        ids = _ints(ids)
        if not ids:
            return "all areas"
        return _and([self.names.areas.get(i, f"area #{i}") for i in ids])

    def obj(self) -> int | None:
        return self.record.object_id

    def entry(self) -> tuple[Part, Part]:
        """The entry a record is about: (its apprentice, a link to it by its date)."""
        facts = self.names.entries.get(self.obj() or 0)
        person = self.details.get("person", facts.person_id if facts else None)
        if facts is None:
            return self.person(person), _gone("entry", self.obj())
        return self.person(person), Link(f"entry of {_day(facts.occurred_on)}", "entry",
                                         self.obj())

    def sign_off(self, sign_off_id=None, text: str | None = None) -> tuple[Part, Part]:
        """A sign-off: (its apprentice, a link to it named by its competency's code)."""
        sign_off_id = _int(sign_off_id) if sign_off_id is not None else self.obj()
        facts = self.names.sign_offs.get(sign_off_id or 0)
        person = self.details.get("person", facts.person_id if facts else None)
        if facts is None:
            return self.person(person), text or _gone("sign-off", sign_off_id)
        return self.person(person), Link(text or self.code(facts.competency_id), "sign_off",
                                         sign_off_id)

    def pairing(self, text: str = "a pairing") -> tuple[Part, Part, Part]:
        """A pairing: (a link to it, its apprentice, its mentor)."""
        facts = self.names.pairings.get(self.obj() or 0)
        apprentice = self.details.get("apprentice", facts.apprentice_id if facts else None)
        mentor = self.details.get("mentor", facts.mentor_id if facts else None)
        link: Part = Link(text, "pairing", self.obj()) if facts else text
        return link, self.person(apprentice), self.person(mentor)

    def enrolment(self) -> tuple[Part, Part]:
        """A programme: (its apprentice, a link to it named by its framework)."""
        facts = self.names.enrolments.get(self.obj() or 0)
        person = self.details.get("person", facts.person_id if facts else None)
        framework_id = _int(self.details.get("framework")) or (
            facts.framework_id if facts else None)
        name = self.names.frameworks.get(framework_id or 0) or "a programme"
        link: Part = Link(name, "enrolment", self.obj()) if facts else name
        return self.person(person), link


# -- the rules, one per action code --------------------------------------------------------------

def _sign_off_created(s: _Said) -> Sentence:
    person, signed = s.sign_off(text=s.details.get("code") or None)
    evidence = _count(len(_ints(s.details.get("evidence"))), "entry", "entries")
    return Sentence(s.actor(), " signed off ", signed, " for ", person, " at ",
                    _level(s.details.get("level")), ", citing ", evidence)


def _sign_off_corrected(s: _Said) -> Sentence:
    person, signed = s.sign_off(text=s.details.get("code") or None)
    evidence = _count(len(_ints(s.details.get("evidence"))), "entry", "entries")
    _, earlier = s.sign_off(s.details.get("corrects"), text="an earlier sign-off")
    return Sentence(s.actor(), " corrected ", earlier, " of ", signed, " for ", person,
                    ": now at ", _level(s.details.get("level")), ", citing ", evidence)


def _sign_off_revoked(s: _Said) -> Sentence:
    person, signed = s.sign_off()
    what = " revoked the sign-off of " if isinstance(signed, Link) else " revoked "
    return Sentence(s.actor(), what, signed, " for ", person, ": ",
                    _quoted(s.details.get("reason")))


def _entry_sent(again: bool) -> Callable[[_Said], Sentence]:
    def rule(s: _Said) -> Sentence:
        competencies = _ints(s.details.get("competencies"))
        what = [s.code(competencies[0]) if len(competencies) == 1
                else _count(len(competencies), "competency", "competencies")]
        procedures = _ints(s.details.get("procedures"))
        if procedures:
            what.append(_count(len(procedures), "procedure", "procedures"))
        what.append(duration(_int(s.details.get("minutes")) or 0))
        facts = s.names.entries.get(s.obj() or 0)
        words = "a corrected entry" if again else "an entry"
        entry: Part = Link(words, "entry", s.obj()) if facts else words
        return Sentence(s.actor(), " sent ", entry, " back" if again else "",
                        " for review to ", s.detail_person("mentor"), f" ({', '.join(what)})")
    return rule


def _entry_verified(s: _Said) -> Sentence:
    person, entry = s.entry()
    return Sentence(s.actor(), " verified ", person, "'s ", entry)


def _entry_returned(s: _Said) -> Sentence:
    person, entry = s.entry()
    return Sentence(s.actor(), " returned ", person, "'s ", entry, " to fix: ",
                    _quoted(s.details.get("comment")))


def _entry_unlocked(s: _Said) -> Sentence:
    person, entry = s.entry()
    return Sentence(s.actor(), " unlocked ", person, "'s verified ", entry, ": ",
                    _quoted(s.details.get("reason")))


def _pairing_created(s: _Said) -> Sentence:
    pairing, apprentice, mentor = s.pairing()
    ends = s.details.get("ends_on")
    return Sentence(s.actor(), " made ", pairing, " of ", apprentice, " with mentor ", mentor,
                    " for ", s.areas(s.details.get("areas")), ", from ",
                    _day(s.details.get("starts_on")), f" until {_day(ends)}" if ends else "")


def _pairing_changed(s: _Said) -> Sentence:
    link, apprentice, mentor = s.pairing("the pairing")
    before = s.details.get("before") if isinstance(s.details.get("before"), dict) else {}
    after = s.details.get("after") if isinstance(s.details.get("after"), dict) else {}
    changes = []
    if before.get("ends_on") != after.get("ends_on"):
        if not after.get("ends_on"):
            changes.append(f"no end date now (was {_day(before['ends_on'])})")
        elif not before.get("ends_on"):
            changes.append(f"it ends on {_day(after['ends_on'])}")
        else:
            changes.append(f"it ends on {_day(after['ends_on'])} "
                           f"(was {_day(before['ends_on'])})")
    if _ints(before.get("areas")) != _ints(after.get("areas")):
        changes.append(f"areas now {s.areas(after.get('areas'))} "
                       f"(were {s.areas(before.get('areas'))})")
    return Sentence(s.actor(), " changed ", link, " of ", apprentice, " with mentor ", mentor,
                    ": ", "; ".join(changes) or "nothing changed")


def _enrolment_created(s: _Said) -> Sentence:
    person, programme = s.enrolment()
    electives = _ints(s.details.get("electives"))
    chosen = f", electives {s.areas(electives)}" if electives else ""
    return Sentence(s.actor(), " enrolled ", person, " on ", programme, ", from ",
                    _day(s.details.get("start")), " with a target of ",
                    _day(s.details.get("target")), chosen)


def _enrolment_electives(s: _Said) -> Sentence:
    person, programme = s.enrolment()
    electives = _ints(s.details.get("electives"))
    return Sentence(s.actor(), " set ", person, "'s electives on ", programme, ": ",
                    s.areas(electives) if electives else "none")


def _enrolment_target(s: _Said) -> Sentence:
    person, programme = s.enrolment()
    return Sentence(s.actor(), " moved ", person, "'s target date on ", programme, " from ",
                    _day(s.details.get("before")), " to ", _day(s.details.get("after")))


def _enrolment_completed(s: _Said) -> Sentence:
    person, programme = s.enrolment()
    return Sentence(s.actor(), " marked ", person, "'s programme ", programme, " as completed")


def _enrolment_withdrawn(s: _Said) -> Sentence:
    person, programme = s.enrolment()
    return Sentence(s.actor(), " withdrew ", person, " from ", programme)


def _role(granted: bool) -> Callable[[_Said], Sentence]:
    def rule(s: _Said) -> Sentence:
        role = s.details.get("role")
        role = f"the {role} role" if role else "a role"
        person = s.person(s.obj())
        if granted:
            return Sentence(s.actor(), " gave ", person, f" {role}")
        return Sentence(s.actor(), f" took {role} from ", person)
    return rule


def _person_active(active: bool) -> Callable[[_Said], Sentence]:
    def rule(s: _Said) -> Sentence:
        return Sentence(s.actor(), " reactivated " if active else " deactivated ",
                        s.person(s.obj()), "'s account")
    return rule


def _sign_in(throttled: bool) -> Callable[[_Said], Sentence]:
    def rule(s: _Said) -> Sentence:
        where = f"Someone at {s.details.get('address') or 'an unknown address'}"
        email = str(s.details.get("email") or "")
        if s.obj() is None:
            account: tuple[Part, ...] = (f"{email}, which is no one's e-mail",)
        else:
            account = (s.person(s.obj()), f" ({email})")
        if throttled:
            return Sentence(where, " was refused a sign-in as ", *account,
                            ", after too many failed attempts")
        return Sentence(where, " failed to sign in as ", *account,
                        "" if s.obj() is None else ": wrong password")
    return rule


GLOSSARY = Link("search vocabulary", "glossary")


def _groups(s: _Said) -> str:
    groups = _int(s.details.get("groups"))
    return f" ({_count(groups, 'group', 'groups')} of words)" if groups is not None else ""


def _glossary_saved(s: _Said) -> Sentence:
    summary = s.details.get("summary")
    return Sentence(s.actor(), " saved a new ", GLOSSARY, _groups(s),
                    f": {_quoted(summary)}" if summary else "")


def _glossary_restored(s: _Said) -> Sentence:
    return Sentence(s.actor(), f" put version {s.details.get('restored')} of the ", GLOSSARY,
                    " back in use", _groups(s))


def _glossary_reset(s: _Said) -> Sentence:
    return Sentence(s.actor(), " reset the ", GLOSSARY, " to the list shipped with apprentice",
                    _groups(s))


def _statement_saved(s: _Said) -> Sentence:
    """"Jordan Lee saved revision 2 of their learning statement (312 words)"."""
    person_id = _int(s.details.get("person"))
    number = _int(s.details.get("number"))
    words = _int(s.details.get("words"))
    statement: Part = (Link("learning statement", "statement", person_id)
                       if person_id in s.names.people else "learning statement")
    whose: tuple[Part, ...] = (("their ",) if person_id is not None
                               and person_id == s.record.actor_id
                               else (s.person(person_id), "'s "))
    return Sentence(s.actor(), f" saved revision {number} of " if number else " saved ",
                    *whose, statement,
                    f" ({_count(words, 'word', 'words')})" if words is not None else "")


def _share_link(s: _Said) -> tuple[Part, ...]:
    """"their share link" or "Jordan Lee's share link", linked to the person's links."""
    person_id = _int(s.details.get("person"))
    link: Part = (Link("share link", "share_links", person_id)
                  if person_id in s.names.people else "share link")
    if person_id is not None and person_id == s.record.actor_id:
        return ("their ", link)
    return (s.person(person_id), "'s ", link)


def _share_link_created(s: _Said) -> Sentence:
    """"Jordan Lee made their share link for 'Riverside Library hiring panel' (signed-off
    competencies only), working until 31 December 2026"."""
    shows = (" (signed-off competencies only)" if s.details.get("signed_only") is True
             else " (the whole portfolio)" if s.details.get("signed_only") is False else "")
    expires = s.details.get("expires")
    return Sentence(s.actor(), " made ", *_share_link(s), " for ",
                    _quoted(s.details.get("label")), shows,
                    f", working until {_day(expires)}" if expires else "")


def _share_link_revoked(s: _Said) -> Sentence:
    """"Carmen Ortiz revoked Jordan Lee's share link for 'Riverside Library hiring panel'"."""
    return Sentence(s.actor(), " revoked ", *_share_link(s), " for ",
                    _quoted(s.details.get("label")))


def _credential(s: _Said) -> tuple[Part, ...]:
    """"Jordan Lee's credential 'Access Services (...)'", linked to their Credentials
    page, and its id (urn:uuid), which is what a verifier reports."""
    person_id = _int(s.details.get("person"))
    link: Part = (Link("credential", "credentials", person_id)
                  if person_id in s.names.people else "credential")
    credential_id = str(s.details.get("credential") or "")
    return (s.person(person_id), "'s ", link, " ", _quoted(s.details.get("name")),
            f" ({credential_id[:45]})" if credential_id else "")


def _credential_issued(s: _Said) -> Sentence:
    """"Carmen Ortiz issued Jordan Lee's credential 'Access Services (Library Support
    Staff Competencies)' (urn:uuid:...)"."""
    return Sentence(s.actor(), " issued ", *_credential(s))


def _credential_revoked(s: _Said) -> Sentence:
    """"Carmen Ortiz revoked Jordan Lee's credential '...' (urn:uuid:...): 'Issued to
    the wrong person.'"."""
    return Sentence(s.actor(), " revoked ", *_credential(s), ": ",
                    _quoted(s.details.get("reason")))


RULES: dict[str, Callable[[_Said], Sentence]] = {
    "signoff.created": _sign_off_created,
    "signoff.corrected": _sign_off_corrected,
    "signoff.revoked": _sign_off_revoked,
    "entry.submitted": _entry_sent(again=False),
    "entry.resubmitted": _entry_sent(again=True),
    "entry.verified": _entry_verified,
    "entry.returned": _entry_returned,
    "entry.unlocked": _entry_unlocked,
    "pairing.created": _pairing_created,
    "pairing.changed": _pairing_changed,
    "enrolment.created": _enrolment_created,
    "enrolment.electives": _enrolment_electives,
    "enrolment.target": _enrolment_target,
    "enrolment.completed": _enrolment_completed,
    "enrolment.withdrawn": _enrolment_withdrawn,
    "role.granted": _role(granted=True),
    "role.removed": _role(granted=False),
    "person.deactivated": _person_active(active=False),
    "person.reactivated": _person_active(active=True),
    "signin.failed": _sign_in(throttled=False),
    "signin.throttled": _sign_in(throttled=True),
    "glossary.saved": _glossary_saved,
    "glossary.restored": _glossary_restored,
    "glossary.reset": _glossary_reset,
    "statement.saved": _statement_saved,
    "sharelink.created": _share_link_created,
    "sharelink.revoked": _share_link_revoked,
    "credential.issued": _credential_issued,
    "credential.revoked": _credential_revoked,
}


def _plainly(s: _Said) -> Sentence:
    """A record no rule knows (or one too odd for its rule): who, the code, and the object."""
    record = s.record
    about = ""
    if record.object_type:
        about = f" on {record.object_type}"
        about += f" #{record.object_id}" if record.object_id is not None else ""
    actor = s.actor()
    lead: tuple[Part, ...] = ("Recorded",) if actor == "Someone" else (
        "Recorded by ", actor, ":")
    return Sentence(*lead, f" '{record.action}'", about)


def describe(record: AuditRecord, names: Names) -> Sentence:
    """The sentence for one record; never fails, whatever the record holds."""
    said = _Said(record, details_of(record), names)
    rule = RULES.get(record.action)
    if rule is not None:
        try:
            return rule(said)
        except (AttributeError, KeyError, LookupError, TypeError, ValueError):
            pass  # details in a shape the rule does not know: said plainly below
    return _plainly(said)


def describe_all(records: list[AuditRecord]) -> list[tuple[AuditRecord, Sentence]]:
    """Each record with its sentence, the names looked up once for them all."""
    names = names_for(records)
    return [(record, describe(record, names)) for record in records]


def raw(record: AuditRecord) -> str:
    """The whole record as stored (details parsed), for the page's "raw record"."""
    return json.dumps({
        "id": record.id,
        "at": record.at.isoformat() if record.at else None,
        "actor_id": record.actor_id,
        "actor_name": record.actor_name,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "details": details_of(record) or record.details,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }, indent=2, ensure_ascii=False, default=str)
