"""Edges of the loop found in review: forged ids, double posts, races between tabs,
areas that retire, people holding several roles."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apprentice.audit import services as audit
from apprentice.competencies import services as frameworks
from apprentice.people.services import get_person
from apprentice.programmes import services as programmes
from apprentice.records import dashboards
from apprentice.training import services
from apprentice.validation import Invalid
from tests.factories import DEFAULT_PASSWORD
from tests.loop import as_person, log_form, log_one
from tests.support import dates


def logged_and_verified(app, loop) -> int:
    entry = log_one(app, loop)
    with app.app_context():
        services.verify_entries([services.get_entry(entry.id)], get_person(loop["mentor"].id))
    return entry.id


def test_a_pairing_keeps_an_area_that_was_retired(app, loop, make_person):
    samuel, today = make_person(roles=["mentor"]), dates.today()
    with app.app_context():
        framework = frameworks.get_framework(loop["framework"].id)
        area = framework.current_areas[2]
        pairing = services.create_pairing(get_person(loop["apprentice"].id), samuel,
                                          starts_on=today, area_ids=[area.id])
        frameworks.retire_area(area)
        services.change_pairing(services.get_pairing(pairing.id), ends_on=today + timedelta(30),
                                area_ids=[])
        assert services.get_pairing(pairing.id).area_ids == {area.id}


def test_a_mentor_who_is_not_paired_cannot_open_the_sign_off_form(app, loop):
    logged_and_verified(app, loop)
    url = f"/sign-offs/new?person={loop['apprentice'].id}&competency={loop['competency'].id}"
    other = as_person(app, loop["other"])
    assert other.get(url).status_code == 404
    assert "Ran the desk" not in other.get(url).get_data(as_text=True)
    assert as_person(app, loop["mentor"]).get(url).status_code == 200


@pytest.mark.parametrize("value", ["99999999999999999999", "2147483648", "abc", "-1", ""])
def test_forged_ids_never_answer_500(app, loop, value):
    mentor = as_person(app, loop["mentor"])
    assert mentor.submit("/review/verify", {"entry_id": value}).status_code == 302
    assert mentor.get(f"/sign-offs/new?person={value}&competency={value}").status_code == 404
    assert mentor.get(f"/sign-offs/new?corrects={value}").status_code == 404
    coordinator = as_person(app, loop["coordinator"])
    assert coordinator.get(f"/programmes/?framework={value}").status_code == 200
    # Cited on the sign-off form: it is none of their entries (said next to the field).
    form = f"/sign-offs/new?person={loop['apprentice'].id}&competency={loop['competency'].id}"
    page = mentor.submit(form, {"level": "3", "entry_ids": value, "comment": "Seen it.",
                                "password": DEFAULT_PASSWORD})
    said = page.get_data(as_text=True)
    assert page.status_code == 200 and "Evidence must be their own verified log entries." in said


def test_a_far_future_start_date_is_a_field_message(app, loop, make_person):
    person = make_person()
    response = as_person(app, loop["coordinator"]).submit("/programmes/enrol", {
        "person": person.id, "framework": loop["framework"].id, "start_date": "9999-12-31"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "too far in the future" in page


def test_a_forged_long_form_token_is_ignored(app, loop):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id, form_token="x" * 500)
    assert client.submit("/log/new", data).status_code == 302
    with app.app_context():
        assert len(services.entries_of(loop["apprentice"].id)) == 1


def test_a_draft_saved_then_submitted_from_the_same_form_is_submitted(app, loop):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id, submit="", save_draft="1")
    client.submit("/log/new", data)
    client.submit("/log/new", {**data, "save_draft": "", "submit": "1",
                               "description": "Changed my mind and sent it."})
    with app.app_context():
        [entry] = services.entries_of(loop["apprentice"].id)
        assert (entry.state, entry.description) == ("submitted", "Changed my mind and sent it.")


def test_posting_to_an_entry_locked_meanwhile_says_so(app, loop):
    entry = log_one(app, loop)
    client = as_person(app, loop["apprentice"])
    response = client.submit(f"/log/{entry.id}", {"description": "late edit", "minutes": "5"})
    assert response.status_code == 409
    assert "your changes were not saved" in response.get_data(as_text=True)


def signing(loop):
    """The loop's mentor, apprentice and competency, as a sign-off takes them (inside an
    app context)."""
    return (get_person(loop["mentor"].id), get_person(loop["apprentice"].id),
            frameworks.get_competency(loop["competency"].id))


def test_the_same_sign_off_twice_and_a_second_correction_are_refused(app, loop):
    entry_id = logged_and_verified(app, loop)
    with app.app_context():
        mentor, person, competency = signing(loop)
        first = services.sign_off(mentor, person, competency, level=5, entry_ids=[entry_id])
        with pytest.raises(Invalid, match="already"):
            services.sign_off(mentor, person, competency, level=5, entry_ids=[entry_id])
        services.sign_off(mentor, person, competency, level=4, entry_ids=[entry_id],
                          corrects=first)
        with pytest.raises(Invalid, match="corrected already"):
            services.sign_off(mentor, person, competency, level=3, entry_ids=[entry_id],
                              corrects=services.get_sign_off(first.id))


def test_a_sign_off_withdrawn_or_corrected_leaves_the_level_free_to_sign_again(app, loop):
    """Only a sign-off that stands blocks signing the same level again."""
    entry_id = logged_and_verified(app, loop)
    with app.app_context():
        mentor, person, competency = signing(loop)
        withdrawn = services.sign_off(mentor, person, competency, level=5, entry_ids=[entry_id])
        services.revoke(withdrawn, mentor, "Signed for the wrong person.")
        again = services.sign_off(mentor, person, competency, level=5, entry_ids=[entry_id])
        services.sign_off(mentor, person, competency, level=4, entry_ids=[entry_id],
                          corrects=again)
        services.sign_off(mentor, person, competency, level=5, entry_ids=[entry_id])
        with pytest.raises(Invalid, match="at this level already"):
            services.sign_off(mentor, person, competency, level=5, entry_ids=[entry_id])


def test_the_same_pairing_twice_is_refused(app, loop):
    with app.app_context(), pytest.raises(Invalid, match="already paired"):
        services.create_pairing(get_person(loop["apprentice"].id),
                                get_person(loop["mentor"].id), starts_on=dates.today())


def test_nobody_unlocks_or_revokes_their_own_record(app, loop, make_person):
    everything = make_person(roles=["apprentice", "mentor", "coordinator"])
    today = dates.today()
    with app.app_context():
        programmes.enrol(everything, frameworks.get_framework(loop["framework"].id),
                         start=today - timedelta(days=5))
        services.create_pairing(everything, get_person(loop["mentor"].id),
                                 starts_on=today - timedelta(days=5))
        competency = frameworks.get_competency(loop["competency"].id)
        entry = services.save_entry(everything, services.EntryDetails(
            occurred_on=today, minutes=30, activity=5, mentor_id=loop["mentor"].id,
            competency_ids=[competency.id], description="Did it."), submit=True)
        services.verify_entries([entry], get_person(loop["mentor"].id))
        record = services.sign_off(get_person(loop["mentor"].id), everything, competency,
                                   level=5, entry_ids=[entry.id])
        with pytest.raises(Invalid, match="Nobody revokes their own"):
            services.revoke(record, everything, "I like it better revoked.")
        services.revoke(record, get_person(loop["mentor"].id), "Wrong person.")
        with pytest.raises(Invalid, match="Nobody unlocks their own"):
            services.unlock_entry(services.get_entry(entry.id), everything, "To fix it.")


def test_ready_to_sign_off_keeps_to_the_mentors_areas(app, loop, make_person):
    area_mentor = make_person(roles=["mentor"])
    with app.app_context():
        framework = frameworks.get_framework(loop["framework"].id)
        other_area = framework.current_areas[1]
        services.create_pairing(get_person(loop["apprentice"].id), area_mentor,
                                starts_on=dates.today() - timedelta(days=5),
                                area_ids=[other_area.id])
    logged_and_verified(app, loop)  # evidence in the first area, at 'independently'
    with app.app_context():
        assert [r.code for r in dashboards.mentor_dashboard(get_person(loop["mentor"].id)).ready]
        assert dashboards.mentor_dashboard(get_person(area_mentor.id)).ready == []


def test_throttled_and_failed_sign_ins_are_all_in_the_audit_trail(app, make_person):
    app.config["APPRENTICE_SIGN_IN_MAX_FAILURES_PER_ACCOUNT"] = 2
    make_person(email="jordan@library.example")
    client = app.test_client()
    for _ in range(4):
        client.submit("/sign-in", {"email": "jordan@library.example", "password": "nope"})
    with app.app_context():
        actions = [r.action for r in audit.recent(10) if r.action.startswith("signin.")]
        assert sorted(actions) == ["signin.failed"] * 2 + ["signin.throttled"] * 2
        assert all("nope" not in r.details for r in audit.recent(10))


def test_verifying_an_entry_that_does_not_exist_verifies_nothing(app, loop):
    entry = log_one(app, loop)
    response = as_person(app, loop["mentor"]).submit(
        "/review/verify", {"entry_id": [str(entry.id), "424242"]}, follow_redirects=True)
    assert response.status_code == 200
    assert "do not exist; nothing was verified" in response.get_data(as_text=True)
    with app.app_context():
        assert services.get_entry(entry.id).state == "submitted"


def test_a_coordinator_unlocks_an_entry_from_its_page_with_a_reason(app, loop):
    entry_id = logged_and_verified(app, loop)
    coordinator = as_person(app, loop["coordinator"])
    assert "Unlock this entry" in coordinator.get(f"/log/{entry_id}").get_data(as_text=True)
    blank = coordinator.submit(f"/log/{entry_id}/unlock", {"reason": "   "},
                               follow_redirects=True)
    assert "Write why the entry is unlocked" in blank.get_data(as_text=True)
    with app.app_context():
        assert services.get_entry(entry_id).state == "verified"
    done = coordinator.submit(f"/log/{entry_id}/unlock", {"reason": "Wrong date."},
                              follow_redirects=True)
    assert "Entry unlocked" in done.get_data(as_text=True)
    with app.app_context():
        assert services.get_entry(entry_id).state == "returned"
