"""Audit records in words (apprentice/audit/describe.py): every action code the app
records reads as a sentence with names, looked up in bulk; odd, unknown or orphaned
records still read as a sentence."""

from __future__ import annotations

import ast
import pathlib
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import apprentice
from apprentice.audit import describe
from apprentice.audit.describe import Link, Names, Sentence
from apprentice.audit.models import AuditRecord
from apprentice.audit.services import canonical
from apprentice.db import db_session
from tests.factories import sql_statements
from tests.support.audit_activity import ADDRESS, every_kind_of_record


@pytest.fixture
def activity(app, make_person, coordinator):
    return every_kind_of_record(app, make_person, coordinator)


def trail(app) -> list[tuple[AuditRecord, Sentence]]:
    with app.app_context():
        return describe.describe_all(list(db_session().scalars(
            select(AuditRecord).order_by(AuditRecord.id))))


def first_of(described, action: str) -> Sentence:
    return next(sentence for record, sentence in described if record.action == action)


def day(value) -> str:
    return f"{value.day} {value:%B %Y}"


# -- every code the app records ----------------------------------------------------------------

def test_every_code_the_app_records_reads_as_its_own_sentence(app, activity):
    described = trail(app)
    assert {record.action for record, _ in described} == set(describe.RULES)
    for record, sentence in described:
        text = str(sentence)
        assert not text.startswith("Recorded"), (record.action, text)  # not the fallback
        assert "not found" not in text and "{" not in text, (record.action, text)


CODE = re.compile(r"[a-z]+\.[a-z_-]+")


def _codes_in_source() -> set[str]:
    """Every action code written as a string in a call to audit.record, or passed to the
    helpers that call it with a code of their own (sign-in failures, glossary saves)."""
    codes = set()
    root = pathlib.Path(apprentice.__file__).parent
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name not in ("record", "_audit_failure", "_write"):
                continue
            for arg in node.args:
                codes.update(_strings(arg))
    return codes


def _strings(node) -> set[str]:
    """Code-like strings in an expression ("a.b"; an f-string as its prefix and "*")."""
    if isinstance(node, ast.JoinedStr):  # f"enrolment.{status.value}"
        prefix = node.values[0].value if isinstance(node.values[0], ast.Constant) else ""
        return {prefix + "*"} if CODE.fullmatch(prefix + "x") else set()
    if isinstance(node, ast.Constant):
        value = node.value
        return {value} if isinstance(value, str) and CODE.fullmatch(value) else set()
    return set().union(*(_strings(child) for child in ast.iter_child_nodes(node)))


def test_every_code_in_the_source_has_a_rule():
    codes = _codes_in_source()
    assert "signoff.created" in codes and "signin.throttled" in codes  # the scan finds them
    for code in codes:
        if code.endswith("*"):
            assert any(rule.startswith(code[:-1]) for rule in describe.RULES), code
        else:
            assert code in describe.RULES, f"{code} has no sentence in audit/describe.py"


def test_records_read_with_names_dates_and_amounts(app, activity):
    a = activity
    described = trail(app)
    programme = a.framework
    expected = {
        "enrolment.created": f"Carmen Ortiz enrolled Jordan Lee on {programme}, from "
                             f"{day(a.start)} with a target of {day(a.first_target)}, "
                             f"electives {a.electives[0]}, {a.electives[1]} and {a.electives[2]}",
        "enrolment.electives": f"Carmen Ortiz set Jordan Lee's electives on {programme}: "
                               f"{a.chosen[0]}, {a.chosen[1]} and {a.chosen[2]}",
        "enrolment.target": f"Carmen Ortiz moved Jordan Lee's target date on {programme} from "
                            f"{day(a.first_target)} to {day(a.target)}",
        "pairing.created": "Carmen Ortiz made a pairing of Jordan Lee with mentor Marian "
                           f"Okafor for all areas, from {day(a.start)}",
        "pairing.changed": "Carmen Ortiz changed the pairing of Jordan Lee with mentor Marian "
                           f"Okafor: it ends on {day(a.ends)}",
        "entry.submitted": f"Jordan Lee sent an entry for review to Marian Okafor "
                           f"({a.code}, 1 h 30 min)",
        "entry.resubmitted": "Jordan Lee sent a corrected entry back for review to Marian "
                             f"Okafor ({a.code}, 1 h)",
        "signoff.created": f"Marian Okafor signed off {a.code} for Jordan Lee at "
                           "'does it independently', citing 1 entry",
        "signoff.corrected": f"Marian Okafor corrected an earlier sign-off of {a.code} for "
                             "Jordan Lee: now at 'does it independently', citing 2 entries",
        "signoff.revoked": f"Carmen Ortiz revoked the sign-off of {a.code} for Jordan Lee: "
                           "'Signed too early.'",
        "role.removed": "Carmen Ortiz took the apprentice role from Sam Lee",
        "person.deactivated": "Carmen Ortiz deactivated Sam Lee's account",
        "person.reactivated": "Carmen Ortiz reactivated Sam Lee's account",
        "signin.failed": f"Someone at {ADDRESS} failed to sign in as nobody@library.example, "
                         "which is no one's e-mail",
        "signin.throttled": f"Someone at {ADDRESS} was refused a sign-in as Jordan Lee "
                            "(jordan@library.example), after too many failed attempts",
        "glossary.saved": "Carmen Ortiz saved a new search vocabulary (1 group of words): "
                          "'Words for the ferry desk'",
        "glossary.restored": "Carmen Ortiz put version 1 of the search vocabulary back in use "
                             "(1 group of words)",
        "enrolment.completed": f"Carmen Ortiz marked Jordan Lee's programme {programme} as "
                               "completed",
        "enrolment.withdrawn": f"Carmen Ortiz withdrew Jordan Lee from {programme}",
    }
    with app.app_context():
        from apprentice.training.services import get_entry

        logged = day(get_entry(a.entries[2]).occurred_on)
    expected["entry.returned"] = (f"Marian Okafor returned Jordan Lee's entry of {logged} to "
                                  "fix: 'Which branch was this?'")
    expected["entry.verified"] = f"Marian Okafor verified Jordan Lee's entry of {logged}"
    expected["entry.unlocked"] = (f"Carmen Ortiz unlocked Jordan Lee's verified entry of "
                                  f"{logged}: 'The date was wrong.'")
    for action, sentence in expected.items():
        assert str(first_of(described, action)) == sentence
    # The second entry practised four competencies; a known account's failure says so.
    submitted = [str(s) for r, s in described if r.action == "entry.submitted"]
    assert submitted[1] == "Jordan Lee sent an entry for review to Marian Okafor " \
                           "(4 competencies, 45 min)"
    failed = [str(s) for r, s in described if r.action == "signin.failed"]
    assert failed[1] == (f"Someone at {ADDRESS} failed to sign in as Jordan Lee "
                         "(jordan@library.example): wrong password")
    granted = [str(s) for r, s in described if r.action == "role.granted"]
    assert "Carmen Ortiz gave Sam Lee the mentor role" in granted
    assert "Someone gave Jordan Lee the apprentice role" in granted  # made with no one named
    assert str(first_of(described, "glossary.reset")).startswith(
        "Carmen Ortiz reset the search vocabulary to the list shipped with apprentice (")


def test_sentences_link_the_people_and_things_they_name(app, activity):
    a = activity
    described = trail(app)
    assert first_of(described, "signoff.created").parts == (
        Link("Marian Okafor", "person", a.mentor), " signed off ",
        Link(a.code, "sign_off", a.sign_offs[0]), " for ",
        Link("Jordan Lee", "person", a.apprentice), " at ", "'does it independently'",
        ", citing ", "1 entry")
    corrected = first_of(described, "signoff.corrected").parts
    assert Link("an earlier sign-off", "sign_off", a.sign_offs[0]) in corrected
    assert Link(a.code, "sign_off", a.sign_offs[1]) in corrected
    verified = first_of(described, "entry.verified").parts
    assert [p.page for p in verified if isinstance(p, Link)] == ["person", "person", "entry"]
    assert verified[-1].id == a.entries[0]
    assert Link("a pairing", "pairing", a.pairing) in first_of(described,
                                                               "pairing.created").parts
    assert Link(a.framework, "enrolment", a.enrolments[0]) in first_of(
        described, "enrolment.target").parts
    assert Link("search vocabulary", "glossary") in first_of(described, "glossary.saved").parts
    # Sign-in records name no actor, and link the account tried.
    throttled = first_of(described, "signin.throttled").parts
    assert [p for p in throttled if isinstance(p, Link)] == [
        Link("Jordan Lee", "person", a.apprentice)]


def test_names_are_looked_up_in_bulk_not_per_record(app, activity):
    with app.app_context():
        records = list(db_session().scalars(select(AuditRecord).order_by(AuditRecord.id)))
        with sql_statements(app) as few:
            describe.describe_all(records[:3])
        with sql_statements(app) as all_of_them:
            described = describe.describe_all(records)
    assert len(records) > 30
    # One query per kind of thing named (entries, sign-offs, pairings, programmes, people,
    # competencies, areas, frameworks), however many records there are.
    assert len(all_of_them) <= 8
    assert len(few) <= len(all_of_them)
    assert len(described) == len(records)


# -- records no rule knows, objects gone, odd details (no database needed) ---------------------

def record(action, details=None, *, actor_id=None, actor_name="", object_type="",
           object_id=None, raw=None) -> AuditRecord:
    return AuditRecord(id=7, at=datetime(2026, 6, 15, 9, 30, tzinfo=UTC), actor_id=actor_id,
                       actor_name=actor_name, action=action, object_type=object_type,
                       object_id=object_id,
                       details=raw if raw is not None else canonical(details or {}),
                       prev_hash="0" * 64, hash="1" * 64)


@pytest.mark.parametrize(("made", "sentence"), [
    pytest.param(record("test.append", {"n": 1}, actor_id=3, actor_name="Carmen Ortiz",
                        object_type="Thing", object_id=7),
                 "Recorded by Carmen Ortiz: 'test.append' on Thing #7", id="unknown code"),
    pytest.param(record("report.sent"), "Recorded 'report.sent'", id="unknown, nobody"),
    pytest.param(record("signoff.revoked", {"person": 5, "reason": "Too early."},
                        actor_id=3, actor_name="Carmen Ortiz", object_type="SignOff",
                        object_id=12),
                 "Carmen Ortiz revoked sign-off #12 (not found) for person #5 (not found): "
                 "'Too early.'", id="sign-off gone"),
    pytest.param(record("entry.verified", {"person": 5}, actor_id=2, actor_name="Marian Okafor",
                        object_type="LogEntry", object_id=41),
                 "Marian Okafor verified person #5 (not found)'s entry #41 (not found)",
                 id="entry gone"),
    pytest.param(record("signoff.created", {"code": "ACC-08", "level": 5, "evidence": [1, 2],
                                            "person": 5}, actor_name="Marian Okafor",
                        object_type="SignOff", object_id=12),
                 "Marian Okafor signed off ACC-08 for person #5 (not found) at "
                 "'does it independently', citing 2 entries", id="code kept in the record"),
    pytest.param(record("signoff.created", raw="not json"),
                 "Someone signed off an unnamed sign-off for someone at an unrecorded level, "
                 "citing "
                 "0 entries", id="details not JSON"),
    pytest.param(record("entry.submitted", {"mentor": "x", "minutes": "many",
                                            "competencies": "all"}, actor_name="Jordan Lee"),
                 "Jordan Lee sent an entry for review to someone (0 competencies, 0 min)",
                 id="details of the wrong types"),
    pytest.param(record("pairing.changed", {"before": [], "after": 3}, actor_name="Carmen Ortiz",
                        object_type="Pairing", object_id=4),
                 "Carmen Ortiz changed the pairing of someone with mentor someone: nothing "
                 "changed", id="pairing gone, odd details"),
    pytest.param(record("role.granted", ["not", "a", "dict"], actor_name="Carmen Ortiz",
                        object_type="StaffProfile", object_id=9),
                 "Carmen Ortiz gave person #9 (not found) a role", id="details a list"),
])
def test_odd_unknown_or_orphaned_records_still_read_as_sentences(made, sentence):
    assert str(describe.describe(made, Names())) == sentence


def test_a_long_reason_is_shortened_in_the_sentence_only():
    reason = "word " * 100
    made = record("entry.unlocked", {"person": 5, "reason": reason}, actor_name="Carmen Ortiz",
                  object_type="LogEntry", object_id=41)
    text = str(describe.describe(made, Names()))
    quoted = text.split(": ", 1)[1]
    assert quoted.endswith("…'") and len(quoted) == describe.QUOTE_LIMIT + 2
    assert reason.strip() in describe.raw(made)  # the raw record keeps every word


def test_ids_no_database_could_hold_are_not_looked_up(app):
    """Numbers in the details that ``int`` refuses ("²", 5,000 digits) or no column holds
    (2**70): the bulk look-up skips them rather than failing the whole page."""
    made = [
        record("entry.submitted", {"mentor": "\N{SUPERSCRIPT TWO}", "minutes": "9" * 5000,
                                   "competencies": [2**70, "7"]}, actor_name="Jordan Lee"),
        record("signoff.created", {"person": 2**64, "competency": "9" * 30, "level": 5,
                                   "evidence": [1], "code": "ACC-08"},
               actor_name="Marian Okafor", object_type="SignOff", object_id=12),
    ]
    with app.app_context():
        described = [str(sentence) for _, sentence in describe.describe_all(made)]
    assert described == [
        "Jordan Lee sent an entry for review to someone (competency #7, 0 min)",
        "Marian Okafor signed off ACC-08 for someone at 'does it independently', "
        "citing 1 entry",
    ]


def test_html_escapes_names_and_links_only_pages_that_exist():
    names = Names(people={5: "<b>Jo</b> & Co", 3: "Carmen Ortiz"})
    made = record("person.deactivated", actor_id=3, actor_name="Carmen Ortiz",
                  object_type="StaffProfile", object_id=5)
    sentence = describe.describe(made, names)
    html = sentence.html(lambda link: f"/people/{link.id}/edit" if link.id == 5 else None)
    assert html == ('Carmen Ortiz deactivated <a href="/people/5/edit">&lt;b&gt;Jo&lt;/b&gt; '
                    "&amp; Co</a>&#39;s account")
    assert str(sentence) == "Carmen Ortiz deactivated <b>Jo</b> & Co's account"


@pytest.mark.parametrize(("action", "kind"), [
    pytest.param("signoff.created", "Sign-off", id="sign-off"),
    pytest.param("signin.throttled", "Sign-in", id="sign-in"),
    pytest.param("glossary.reset", "Procedures & search", id="glossary"),
    pytest.param("test.append", "test.append", id="unknown: the code itself"),
])
def test_each_record_has_a_kind(action, kind):
    assert describe.kind_label(action) == kind
