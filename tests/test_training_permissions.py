"""The loop's permission predicates (apprentice.training.permissions), asked directly,
and the area rule of pairings for sign-offs seen through the pages.

Jordan's sign-off is in the framework's first area. Marian (paired for every area)
signed it; Samuel is paired with Jordan for the second area only, Nadia for the first
area only, until tomorrow; Unpaired Mentor has no pairing; Carmen coordinates.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from apprentice.competencies import services as frameworks
from apprentice.db import db_session
from apprentice.people.services import get_person
from apprentice.training import permissions, services
from tests.loop import as_person
from tests.support import dates
from tests.support.html import parse


@pytest.fixture
def signed(app, loop, make_person) -> dict:
    """Jordan's verified entry and Marian's sign-off of it, with who is paired for what."""
    today = dates.today()
    with app.app_context():
        framework = frameworks.get_framework(loop["framework"].id)
        first, second = framework.current_areas[:2]
        competency = first.current_competencies[0]
        jordan, marian = get_person(loop["apprentice"].id), get_person(loop["mentor"].id)
        entry = services.save_entry(jordan, services.EntryDetails(
            occurred_on=today - timedelta(days=2), minutes=45, activity=5,
            mentor_id=marian.id, competency_ids=[competency.id],
            description="Closed the branch alone; the cash count balanced."), submit=True)
        services.verify_entries([entry], marian)
        record = services.sign_off(marian, jordan, competency, level=5, entry_ids=[entry.id])
        ids = {"sign_off": record.id, "entry": entry.id, "code": competency.code,
               "first_area": first.id, "second_area": second.id}
    samuel = make_person(name="Samuel Reyes", roles=["mentor"])
    nadia = make_person(name="Nadia Brooks", roles=["mentor"])
    with app.app_context():
        jordan = get_person(loop["apprentice"].id)
        services.create_pairing(jordan, get_person(samuel.id),
                                starts_on=today - timedelta(days=30),
                                area_ids=[ids["second_area"]])
        services.create_pairing(jordan, get_person(nadia.id),
                                starts_on=today - timedelta(days=30),
                                ends_on=today + timedelta(days=1),
                                area_ids=[ids["first_area"]])
    return {**ids, "samuel": samuel, "nadia": nadia}


def people_of(loop, signed) -> dict:
    """Everyone in the story, loaded in the current app context."""
    return {name: get_person(p.id) for name, p in (
        ("jordan", loop["apprentice"]), ("marian", loop["mentor"]),
        ("unpaired", loop["other"]), ("carmen", loop["coordinator"]),
        ("samuel", signed["samuel"]), ("nadia", signed["nadia"]))}


# -- the predicates, asked directly ----------------------------------------------------------

def test_may_view_sign_off_follows_the_area_of_the_competency(app, loop, signed):
    with app.app_context():
        record = services.get_sign_off(signed["sign_off"])
        sees = {name: permissions.may_view_sign_off(person, record)
                for name, person in people_of(loop, signed).items()}
    assert sees == {"jordan": True, "marian": True, "carmen": True, "nadia": True,
                    "samuel": False, "unpaired": False}


def test_may_view_sign_off_needs_a_current_pairing_unless_you_signed_it(app, loop, signed):
    with app.app_context():
        record = services.get_sign_off(signed["sign_off"])
        everyone, today = people_of(loop, signed), dates.today()
        later = today + timedelta(days=3)  # Nadia's pairing ends tomorrow
        assert permissions.may_view_sign_off(everyone["nadia"], record, today=today)
        assert not permissions.may_view_sign_off(everyone["nadia"], record, today=later)
        # Marian's pairing stays current, but she would see her own signature anyway.
        assert permissions.may_view_sign_off(everyone["marian"], record, today=later)
        # The viewer's pairings, passed in (a page asking about many sign-offs).
        assert not permissions.may_view_sign_off(everyone["nadia"], record, today=today,
                                                 mentor_pairings=[])


def test_may_revoke_and_may_correct_the_signer_or_a_coordinator_never_the_apprentice(
        app, loop, signed):
    with app.app_context():
        record = services.get_sign_off(signed["sign_off"])
        everyone = people_of(loop, signed)
        revokes = {name: permissions.may_revoke(p, record) for name, p in everyone.items()}
        corrects = {name: permissions.may_correct(p, record) for name, p in everyone.items()}
        services.revoke(record, everyone["carmen"], "Signed the wrong apprentice.")
        record = services.get_sign_off(signed["sign_off"])
        after = [permissions.may_revoke(everyone["marian"], record),
                 permissions.may_correct(everyone["marian"], record),
                 permissions.may_revoke(everyone["carmen"], record)]
    expected = {"jordan": False, "marian": True, "carmen": True, "nadia": False,
                "samuel": False, "unpaired": False}
    assert revokes == expected and corrects == expected
    assert after == [False, False, False]  # a revoked sign-off is neither revoked nor corrected


def test_a_coordinator_never_revokes_or_unlocks_their_own_record(app, loop, signed, make_person):
    both = make_person(name="Robin Both", roles=["apprentice", "coordinator"])
    with app.app_context():
        record = services.get_sign_off(signed["sign_off"])
        entry = services.get_entry(signed["entry"])
        robin, carmen = get_person(both.id), get_person(loop["coordinator"].id)
        record.person_id = entry.person_id = robin.id  # as if they were Robin's (not saved)
        answers = [permissions.may_revoke(robin, record), permissions.may_correct(robin, record),
                   permissions.may_unlock(robin, entry), permissions.may_revoke(carmen, record),
                   permissions.may_unlock(carmen, entry)]
        db_session().rollback()
    assert answers == [False, False, False, True, True]


def test_may_sign_off_only_in_the_areas_a_current_pairing_covers(app, loop, signed):
    with app.app_context():
        everyone = people_of(loop, signed)
        jordan = everyone["jordan"].id
        first, second = signed["first_area"], signed["second_area"]
        today = dates.today()
        answers = {name: [permissions.may_sign_off(everyone[name], jordan, area, today)
                          for area in (first, second)]
                   for name in ("marian", "samuel", "nadia", "carmen", "unpaired", "jordan")}
    assert answers == {"marian": [True, True], "samuel": [False, True], "nadia": [True, False],
                       "carmen": [False, False], "unpaired": [False, False],
                       "jordan": [False, False]}


def test_may_view_entry_and_may_review_keep_to_the_entrys_areas(app, loop, signed):
    with app.app_context():
        entry = services.get_entry(signed["entry"])
        everyone = people_of(loop, signed)
        views = {name: permissions.may_view_entry(p, entry) for name, p in everyone.items()}
        reviews = {name: permissions.may_review(p, entry) for name, p in everyone.items()}
    assert views == {"jordan": True, "marian": True, "carmen": True, "nadia": True,
                     "samuel": False, "unpaired": False}
    assert reviews == {**views, "jordan": False, "carmen": False}


def test_the_pages_doors_go_by_role_and_only_while_active(app, loop, signed, make_person):
    gone = make_person(name="Gone Mentor", roles=["mentor", "coordinator"], active=False)
    doors = (permissions.may_keep_log, permissions.may_review_entries,
             permissions.may_see_apprentices, permissions.may_manage_pairings,
             permissions.may_unlock_entries)
    with app.app_context():
        everyone = {**people_of(loop, signed), "gone": get_person(gone.id)}
        opens = {name: [door(p) for door in doors] for name, p in everyone.items()}
        nobody = [door(None) for door in doors]
    mentor = [False, True, True, False, False]
    assert opens == {"jordan": [True, False, False, False, False], "marian": mentor,
                     "samuel": mentor, "nadia": mentor, "unpaired": mentor,
                     "carmen": [False, False, True, True, True],
                     "gone": [False] * 5}
    assert nobody == [False] * 5


# -- the finding, through the pages ----------------------------------------------------------

def test_a_mentor_paired_for_another_area_cannot_open_the_sign_off(app, loop, signed):
    url = f"/sign-offs/{signed['sign_off']}"
    answers = {name: as_person(app, person).get(url) for name, person in (
        ("samuel", signed["samuel"]), ("unpaired", loop["other"]), ("nadia", signed["nadia"]),
        ("marian", loop["mentor"]), ("jordan", loop["apprentice"]),
        ("carmen", loop["coordinator"]))}
    assert {name: r.status_code for name, r in answers.items()} == {
        "samuel": 404, "unpaired": 404, "nadia": 200, "marian": 200, "jordan": 200,
        "carmen": 200}
    assert "the cash count balanced" not in answers["samuel"].get_data(as_text=True)
    assert "the cash count balanced" in answers["nadia"].get_data(as_text=True)


def test_the_sign_off_page_offers_revoke_and_correct_to_those_who_may(app, loop, signed):
    url = f"/sign-offs/{signed['sign_off']}"

    def offers(person) -> tuple[bool, bool]:
        page = parse(as_person(app, person).get(url).get_data(as_text=True))
        links = [a.text for a in page.find_all("a")]
        buttons = [b.text for b in page.find_all("button")]
        return "Correct it" in links, "Revoke" in buttons

    assert offers(loop["mentor"]) == (True, True)
    assert offers(loop["coordinator"]) == (True, True)
    assert offers(signed["nadia"]) == (False, False)  # sees it, did not sign it
    assert offers(loop["apprentice"]) == (False, False)
    # Nadia posting the revoke form anyway: nothing changes.
    as_person(app, signed["nadia"]).submit(url, {"reason": "Not mine to revoke."})
    with app.app_context():
        assert services.get_sign_off(signed["sign_off"]).revocation is None


def test_the_apprentice_page_lists_only_the_sign_offs_the_mentor_may_open(app, loop, signed):
    def sign_off_rows(person):
        response = as_person(app, person).get(f"/apprentices/{loop['apprentice'].id}")
        assert response.status_code == 200
        page = parse(response.get_data(as_text=True))
        return [li for li in page.find_all("li") if li.text.startswith(signed["code"] + " ·")]

    assert sign_off_rows(signed["samuel"]) == []  # another area: not listed at all
    [row] = sign_off_rows(signed["nadia"])
    link = row.find("a")
    assert link.attrs["href"] == f"/sign-offs/{signed['sign_off']}"
