"""The supervision level of a sign-off: the mentor chooses it (nothing chosen in advance),
sees which cited entries reached each level, and confirms in words a level above all of
them; the service keeps that rule for every caller."""

from __future__ import annotations

import html
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from apprentice.audit.models import AuditRecord
from apprentice.competencies import services as frameworks
from apprentice.competencies.models import SupervisionLevel
from apprentice.db import db_session
from apprentice.people.services import get_person
from apprentice.training import services
from apprentice.training.models import SignOff
from apprentice.validation import Invalid
from tests.factories import DEFAULT_PASSWORD
from tests.loop import as_person
from tests.support import dates

# How many days before today Jordan assisted, and did it independently (the days
# themselves are read when a test runs: see tests/support/dates.py).
ASSISTED_DAYS_AGO = 12
INDEPENDENT_DAYS_AGO = 5


def short(day: date) -> str:
    """A date as the form writes it: "12 Nov", with the year when not this year's."""
    text = f"{day.day} {day:%b}"
    return text if day.year == dates.today().year else f"{text} {day.year}"


def days_ago(days: int) -> date:
    """The day ``days`` before today, as of now."""
    return dates.today() - timedelta(days=days)


def verified_entry(app, loop, *, activity: SupervisionLevel, day: date) -> int:
    """A verified entry by Jordan for the loop's competency, at ``activity``."""
    with app.app_context():
        entry = services.save_entry(get_person(loop["apprentice"].id), services.EntryDetails(
            occurred_on=day, minutes=40, activity=int(activity), mentor_id=loop["mentor"].id,
            competency_ids=[loop["competency"].id], description=f"At {activity.name}."),
            submit=True)
        services.verify_entries([entry], get_person(loop["mentor"].id))
        return entry.id


@pytest.fixture
def cited(app, loop) -> dict[str, int]:
    """Two verified entries: one where Jordan assisted, a later one done independently."""
    return {"assisted": verified_entry(app, loop, activity=SupervisionLevel.ASSISTED,
                                       day=days_ago(ASSISTED_DAYS_AGO)),
            "independent": verified_entry(app, loop, activity=SupervisionLevel.INDEPENDENT,
                                          day=days_ago(INDEPENDENT_DAYS_AGO))}


def form_url(loop) -> str:
    return f"/sign-offs/new?person={loop['apprentice'].id}&competency={loop['competency'].id}"


def level_radios(page: str) -> list[str]:
    return re.findall(r'<input[^>]*name="level"[^>]*>', page)


def note(page: str, level: SupervisionLevel) -> str:
    """The text next to ``level`` on the form (its options are level-0 .. level-5)."""
    match = re.search(rf'id="level-{int(level) - 1}-note">(.*?)</p>', page, re.S)
    assert match, f"no note next to {level.label}"
    return " ".join(html.unescape(match.group(1)).split())


def level_error(page: str) -> str:
    match = re.search(r'<div class="ap-error" id="level-error">(.*?)</div>', page, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).split()) if match else ""


def sign_offs(app) -> list[SignOff]:
    with app.app_context():
        return list(db_session().scalars(select(SignOff)))


def sign_off_records(app) -> list[dict]:
    with app.app_context():
        return [json.loads(r.details) for r in db_session().scalars(
            select(AuditRecord).where(AuditRecord.action.like("signoff.%"))
            .order_by(AuditRecord.id))]


def post(app, loop, level: SupervisionLevel, entry_ids, **extra):
    """The form as the page offers it (with its hidden fields), sent with these values."""
    mentor = as_person(app, loop["mentor"])
    page = mentor.get(form_url(loop)).get_data(as_text=True)
    token = re.search(r'name="form_token"[^>]*value="([^"]*)"', page)
    hidden = {"form_token": html.unescape(token.group(1))} if token else {}
    return mentor.submit(form_url(loop), {
        **hidden, "level": str(int(level)), "entry_ids": [str(i) for i in entry_ids],
        "password": DEFAULT_PASSWORD, **extra})


# -- the form --------------------------------------------------------------------------------

def test_the_form_chooses_no_level_for_the_mentor(app, loop, cited):
    page = as_person(app, loop["mentor"]).get(form_url(loop)).get_data(as_text=True)
    radios = level_radios(page)
    assert len(radios) == 6
    assert not [r for r in radios if "checked" in r]


def test_a_correction_starts_with_no_level_and_shows_the_old_one_as_text(app, loop, cited):
    with app.app_context():
        first = services.sign_off(get_person(loop["mentor"].id), get_person(loop["apprentice"].id),
                                  frameworks.get_competency(loop["competency"].id),
                                  level=SupervisionLevel.ASSISTED,
                                  entry_ids=[cited["assisted"]])
    page = as_person(app, loop["mentor"]).get(
        f"/sign-offs/new?corrects={first.id}").get_data(as_text=True)
    assert not [r for r in level_radios(page) if "checked" in r]
    assert "(assisted the mentor)" in page
    assert "The sign-off you correct says this." in note(page, SupervisionLevel.ASSISTED)
    assert "you correct" not in note(page, SupervisionLevel.INDEPENDENT)


def test_each_level_shows_the_cited_entries_that_reached_it(app, loop, cited):
    page = as_person(app, loop["mentor"]).get(form_url(loop)).get_data(as_text=True)
    assisted, independent = days_ago(ASSISTED_DAYS_AGO), days_ago(INDEPENDENT_DAYS_AGO)
    both = f"2 entries reached this: {short(assisted)}, {short(independent)}"
    assert note(page, SupervisionLevel.OBSERVED) == both
    assert note(page, SupervisionLevel.ASSISTED) == both
    assert note(page, SupervisionLevel.MENTOR_AVAILABLE) == (
        f"1 entry reached this: {short(independent)}")
    assert note(page, SupervisionLevel.INDEPENDENT) == (
        f"1 entry reached this: {short(independent)}")
    assert note(page, SupervisionLevel.CAN_TRAIN) == "No entry reached this."
    # Each note is tied to its radio button for screen readers.
    independent = next(r for r in level_radios(page) if 'value="5"' in r)
    assert 'aria-describedby="level-4-note"' in independent


# -- above the evidence -----------------------------------------------------------------------

WORDS = ("None of the entries you cite reached 'does it independently' (the highest: "
         "'assisted the mentor'). If you saw Jordan Lee do this yourself at that level, "
         "tick the box below to confirm.")


def test_a_level_above_every_cited_entry_is_refused_without_confirmation(app, loop, cited):
    response = post(app, loop, SupervisionLevel.INDEPENDENT, [cited["assisted"]])
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert level_error(page) == f"Error: {WORDS}"
    box = re.search(r'<input[^>]*name="confirm_above_evidence"[^>]*>', page)
    assert box and 'type="checkbox"' in box.group(0) and "checked" not in box.group(0)
    label = re.search(r'<label for="confirm_above_evidence">([^<]*)</label>', page)
    assert html.unescape(label.group(1)) == (
        "I saw Jordan Lee do this myself at 'does it independently'.")
    assert sign_offs(app) == [] and sign_off_records(app) == []


def test_with_the_confirmation_it_is_saved_and_the_audit_record_says_so(app, loop, cited):
    response = post(app, loop, SupervisionLevel.INDEPENDENT, [cited["assisted"]],
                    confirm_above_evidence="y")
    assert response.status_code == 302
    [record] = sign_offs(app)
    assert record.level == SupervisionLevel.INDEPENDENT
    [details] = sign_off_records(app)
    assert details["above_evidence"] is True and details["evidence"] == [cited["assisted"]]


@pytest.mark.parametrize(("level", "evidence"), [
    pytest.param(SupervisionLevel.ASSISTED, ["assisted"], id="at the evidence"),
    pytest.param(SupervisionLevel.OBSERVED, ["assisted"], id="below the evidence"),
    pytest.param(SupervisionLevel.INDEPENDENT, ["assisted", "independent"],
                 id="one entry of two reached it"),
])
def test_at_or_below_the_evidence_no_confirmation_is_asked(app, loop, cited, level, evidence):
    page = post(app, loop, level, [cited[name] for name in evidence])
    assert page.status_code == 302
    [record] = sign_offs(app)
    assert record.level == level
    [details] = sign_off_records(app)
    assert "above_evidence" not in details


def test_the_box_is_not_shown_before_it_is_needed(app, loop, cited):
    page = as_person(app, loop["mentor"]).get(form_url(loop)).get_data(as_text=True)
    assert 'name="confirm_above_evidence"' not in page
    refused = post(app, loop, SupervisionLevel.INDEPENDENT, [cited["assisted"]], password="no")
    # A wrong password: the box is offered already, so one more try is enough.
    assert 'name="confirm_above_evidence"' in refused.get_data(as_text=True)
    assert sign_offs(app) == []


# -- the rule lives in the service -------------------------------------------------------------

def test_the_service_refuses_a_level_above_the_evidence_unless_confirmed(app, loop, cited):
    with app.app_context():
        mentor, person = get_person(loop["mentor"].id), get_person(loop["apprentice"].id)
        competency = frameworks.get_competency(loop["competency"].id)
        with pytest.raises(Invalid) as caught:
            services.sign_off(mentor, person, competency, level=SupervisionLevel.CAN_TRAIN,
                              entry_ids=[cited["assisted"], cited["independent"]])
        assert caught.value.errors == {"level": [
            "None of the entries you cite reached 'can train others' (the highest: 'did it "
            "independently'). If you saw Jordan Lee do this yourself at that level, tick the "
            "box below to confirm."]}
        assert db_session().scalar(select(func.count()).select_from(SignOff)) == 0
        services.sign_off(mentor, person, competency, level=SupervisionLevel.CAN_TRAIN,
                          entry_ids=[cited["assisted"]], confirm_above_evidence=True)
    [details] = sign_off_records(app)
    assert details["above_evidence"] is True and details["level"] == 6
