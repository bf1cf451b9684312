"""The permission modules of people, programmes, competencies and the audit trail
(apprentice/<feature>/permissions.py): each predicate asked directly for every kind of
person, the services asking again, and pages that take their answer from them."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from apprentice.audit import permissions as audit_permissions
from apprentice.competencies import permissions as framework_permissions
from apprentice.competencies import services as frameworks
from apprentice.competencies.models import FrameworkStatus
from apprentice.people import permissions as people_permissions
from apprentice.people import services as people
from apprentice.people.models import Role, acts, is_coordinator
from apprentice.people.services import PersonDetails, get_person
from apprentice.programmes import permissions as programme_permissions
from apprentice.programmes import services as programmes
from apprentice.programmes.models import EnrolmentStatus
from apprentice.records import services as records
from apprentice.training import services as training
from apprentice.validation import Invalid, refuse_unless
from tests.loop import as_person

# Who is asked, by name: the loop's apprentice (enrolled) and her mentor (paired for
# every area), a mentor paired with her for one other area only, an unpaired mentor, a
# second apprentice, a coordinator, and a coordinator who has been deactivated.
EVERYONE = ("apprentice", "mentor", "area_mentor", "other", "apprentice_b", "coordinator",
            "deactivated")


def _framework(name: str, *, status: FrameworkStatus) -> int:
    """A small framework of one area and one competency, left in ``status``."""
    framework = frameworks.create_framework(name)
    area = frameworks.save_area(framework, None, name="Desk", description="", kind="required",
                                min_hours=None)
    frameworks.add_competency(area, code="D-1", statement="Greets every patron.")
    if status != FrameworkStatus.DRAFT:
        frameworks.update_framework(
            framework, name=name, description="", electives_required=0,
            level_required=framework.level_required,
            area_completion_percent=framework.area_completion_percent,
            time_allowed_months=framework.time_allowed_months)
        frameworks.set_status(framework, FrameworkStatus.ACTIVE)
    if status == FrameworkStatus.RETIRED:
        frameworks.set_status(framework, FrameworkStatus.RETIRED)
    return framework.id


@pytest.fixture
def cast(app, loop, make_person):
    """The loop's people and more (see EVERYONE); the apprentice's enrolment, one of a
    coordinator who is an apprentice too, and a draft, a published and a retired
    framework. Ids only."""
    area_mentor = make_person(name="Area Mentor", roles=["mentor"])
    apprentice_b = make_person(name="Sam Park", roles=["apprentice"])
    both = make_person(name="Coordinating Apprentice", roles=["apprentice", "coordinator"])
    deactivated = make_person(name="Gone Coordinator", roles=["coordinator"], active=False)
    with app.app_context():
        framework = frameworks.get_framework(loop["framework"].id)
        apprentice = get_person(loop["apprentice"].id)
        other_area = framework.current_areas[1]
        training.create_pairing(apprentice, get_person(area_mentor.id),
                                starts_on=date.today() - timedelta(days=30),
                                area_ids=[other_area.id])
        [row] = records.programmes_of(apprentice)
        own = programmes.enrol(get_person(both.id), framework, start=date.today())
        return {
            **{name: loop[name].id for name in ("apprentice", "mentor", "other", "coordinator")},
            "area_mentor": area_mentor.id, "apprentice_b": apprentice_b.id,
            "both": both.id, "deactivated": deactivated.id,
            "enrolment": row.enrolment.id, "own_enrolment": own.id,
            "active": framework.id,
            "draft": _framework("Quokka induction", status=FrameworkStatus.DRAFT),
            "retired": _framework("Quokka retired", status=FrameworkStatus.RETIRED),
        }


def _answers(cast, predicate, *args) -> set[str]:
    """The names in EVERYONE that ``predicate(person, *args)`` allows."""
    return {name for name in EVERYONE if predicate(get_person(cast[name]), *args)}


# -- the predicates, asked directly ------------------------------------------------------------

def test_a_deactivated_coordinator_is_no_coordinator(app, cast):
    with app.app_context():
        gone = get_person(cast["deactivated"])
        assert gone.roles and not is_coordinator(gone)
        assert not acts(gone) and not acts(None)
        assert is_coordinator(get_person(cast["coordinator"]))


@pytest.mark.parametrize("predicate", [
    pytest.param(people_permissions.may_manage_people, id="manage-people"),
    pytest.param(programme_permissions.may_manage_programmes, id="manage-programmes"),
    pytest.param(programme_permissions.may_enrol, id="enrol"),
    pytest.param(programme_permissions.may_see_cohort, id="see-cohort"),
    pytest.param(framework_permissions.may_manage_frameworks, id="manage-frameworks"),
    pytest.param(framework_permissions.may_see_unpublished, id="see-unpublished"),
    pytest.param(framework_permissions.may_import_framework, id="import-framework"),
    pytest.param(framework_permissions.may_set_framework_status, id="framework-status"),
    pytest.param(audit_permissions.may_read_audit, id="read-audit"),
    pytest.param(audit_permissions.may_download_audit, id="download-audit"),
])
def test_coordinators_alone_and_only_while_active(app, cast, predicate):
    with app.app_context():
        assert _answers(cast, predicate) == {"coordinator"}
        assert not predicate(None)


def test_my_programme_is_for_active_apprentices(app, cast):
    with app.app_context():
        assert _answers(cast, programme_permissions.may_see_own_programmes) == {
            "apprentice", "apprentice_b"}
        assert programme_permissions.may_see_own_programmes(get_person(cast["both"]))
        assert not programme_permissions.may_see_own_programmes(None)


def test_refuse_unless_raises_for_a_person_never_for_the_command_line(app, cast):
    with app.app_context():
        apprentice = get_person(cast["apprentice"])
        refuse_unless(True, apprentice, "Not yours.")
        refuse_unless(False, None, "Not yours.")  # by=None: the CLI
        with pytest.raises(Invalid) as refused:
            refuse_unless(False, apprentice, "Not yours.")
    assert refused.value.errors == {None: ["Not yours."]}


def test_people_edit_and_roles_are_coordinators_own_record_included(app, cast):
    with app.app_context():
        apprentice, coordinator = get_person(cast["apprentice"]), get_person(cast["coordinator"])
        for predicate in (people_permissions.may_edit_person,
                          people_permissions.may_change_roles):
            assert _answers(cast, predicate, apprentice) == {"coordinator"}
            assert predicate(coordinator, coordinator)


def test_nobody_deactivates_themselves(app, cast):
    with app.app_context():
        apprentice, coordinator = get_person(cast["apprentice"]), get_person(cast["coordinator"])
        may_set_active = people_permissions.may_set_active
        assert _answers(cast, may_set_active, apprentice, False) == {"coordinator"}
        assert _answers(cast, may_set_active, apprentice, True) == {"coordinator"}
        assert not may_set_active(coordinator, coordinator, False)
        deactivated = get_person(cast["deactivated"])
        assert not may_set_active(deactivated, deactivated, True)


def test_a_programme_page_is_its_apprentices_and_the_coordinators(app, cast):
    with app.app_context():
        enrolment = programmes.get_enrolment(cast["enrolment"])
        for predicate in (programme_permissions.may_view_enrolment,
                          programme_permissions.may_choose_electives):
            # Mentors, paired or not, see progress on the apprentice's own page instead.
            assert _answers(cast, predicate, enrolment) == {"apprentice", "coordinator"}
            assert not predicate(None, enrolment)


def test_target_dates_and_finishing_are_coordinators_never_on_their_own_programme(app, cast):
    with app.app_context():
        enrolment = programmes.get_enrolment(cast["enrolment"])
        own = programmes.get_enrolment(cast["own_enrolment"])
        both = get_person(cast["both"])
        for predicate in (programme_permissions.may_set_target, programme_permissions.may_finish):
            assert _answers(cast, predicate, enrolment) == {"coordinator"}
            assert predicate(both, enrolment)
            assert not predicate(both, own)
            assert predicate(get_person(cast["coordinator"]), own)
        assert programme_permissions.may_view_enrolment(both, own)  # still their page


@pytest.mark.parametrize("predicate", [
    pytest.param(framework_permissions.may_see_framework, id="see"),
    pytest.param(framework_permissions.may_export_framework, id="export"),
])
def test_published_frameworks_for_everyone_active_the_rest_for_coordinators(
        app, cast, predicate):
    with app.app_context():
        everyone_active = set(EVERYONE) - {"deactivated"}
        assert _answers(cast, predicate, frameworks.get_framework(cast["active"])) \
            == everyone_active
        for unpublished in ("draft", "retired"):
            assert _answers(cast, predicate, frameworks.get_framework(cast[unpublished])) \
                == {"coordinator"}


def test_a_retired_framework_is_edited_by_nobody(app, cast):
    with app.app_context():
        for name, editors in (("active", {"coordinator"}), ("draft", {"coordinator"}),
                              ("retired", set())):
            framework = frameworks.get_framework(cast[name])
            assert _answers(cast, framework_permissions.may_edit_framework, framework) \
                == editors, name


# -- the services ask again -----------------------------------------------------------------

def test_services_refuse_people_the_predicates_refuse(app, cast):
    """Called directly (as a form replayed by the wrong person would reach them), each
    service says no and changes nothing; the command line (by=None) still works."""
    with app.app_context():
        mentor, apprentice = get_person(cast["mentor"]), get_person(cast["apprentice"])
        enrolment = programmes.get_enrolment(cast["enrolment"])
        target = enrolment.target_date
        framework = frameworks.get_framework(cast["draft"])
        refused = [
            lambda: people.create_person(PersonDetails(name="Eve", email="eve@x.example"),
                                         by=mentor),
            lambda: people.update_person(
                apprentice, PersonDetails(name="Jordan Lee", email=apprentice.email,
                                          roles=["apprentice", "coordinator"]), by=apprentice),
            lambda: people.set_active(get_person(cast["other"]), False, by=mentor),
            lambda: programmes.enrol(get_person(cast["apprentice_b"]),
                                     frameworks.get_framework(cast["active"]),
                                     start=date.today(), by=mentor),
            lambda: programmes.set_target_date(enrolment, target + timedelta(days=9), by=mentor),
            lambda: programmes.finish(enrolment, EnrolmentStatus.COMPLETED, by=apprentice),
            lambda: programmes.finish(programmes.get_enrolment(cast["own_enrolment"]),
                                      EnrolmentStatus.COMPLETED, by=get_person(cast["both"])),
            lambda: programmes.choose_electives(enrolment, [], by=mentor),
            lambda: frameworks.create_framework("Mine now", by=apprentice),
            lambda: frameworks.set_status(framework, FrameworkStatus.ACTIVE, by=mentor),
            lambda: frameworks.move(framework.current_areas[0], 1, by=apprentice),
            lambda: frameworks.retire_area(framework.current_areas[0], by=mentor),
        ]
        for attempt in refused:
            with pytest.raises(Invalid) as refusal:
                attempt()
            assert list(refusal.value.errors) == [None]
            assert refusal.value.errors[None][0].startswith("Only ")
        assert people.find_by_email("eve@x.example") is None
        assert get_person(cast["apprentice"]).roles == {Role.APPRENTICE}
        assert get_person(cast["other"]).active
        assert programmes.get_enrolment(cast["enrolment"]).target_date == target
        assert programmes.get_enrolment(cast["own_enrolment"]).status == "active"
        assert frameworks.get_framework(cast["draft"]).status == "draft"
        assert len(frameworks.get_framework(cast["draft"]).current_areas) == 1
        people.set_active(get_person(cast["other"]), False)  # the command line
        assert not get_person(cast["other"]).active


# -- pages take their answers from the predicates ------------------------------------------

def test_a_coordinators_own_record_offers_no_deactivate_button(app, cast):
    client = as_person(app, get_person_outside(app, cast["coordinator"]))
    own = client.get(f"/people/{cast['coordinator']}/edit").get_data(as_text=True)
    assert "Deactivate Carmen Ortiz" not in own
    assert "You cannot deactivate yourself; another coordinator can." in own
    other = client.get(f"/people/{cast['other']}/edit").get_data(as_text=True)
    assert "Deactivate Unpaired Mentor" in other
    assert app.view_functions["apprentice.people.edit"].apprentice_permission \
        is people_permissions.may_manage_people


def test_a_coordinator_on_a_programme_cannot_finish_it_and_mentors_get_no_dead_link(
        app, cast):
    both = as_person(app, get_person_outside(app, cast["both"]))
    page = both.get(f"/programmes/{cast['own_enrolment']}").get_data(as_text=True)
    assert "Mark completed" not in page and "Change target date" not in page
    response = both.submit(f"/programmes/{cast['own_enrolment']}/finish",
                           {"status": "completed"}, follow_redirects=True)
    assert "Only a coordinator finishes a programme, and not their own." in \
        response.get_data(as_text=True)
    with app.app_context():
        assert programmes.get_enrolment(cast["own_enrolment"]).status == "active"
    # Someone else's programme: the coordinator manages it as before.
    page = both.get(f"/programmes/{cast['enrolment']}").get_data(as_text=True)
    assert "Mark completed" in page
    # The mentor sees the apprentice's progress (electives still to choose, for the
    # coordinating apprentice paired with them) but no link to a page that is not theirs.
    with app.app_context():
        training.create_pairing(get_person(cast["both"]), get_person(cast["mentor"]),
                                starts_on=date.today())
    mentor = as_person(app, get_person_outside(app, cast["mentor"]))
    seen = mentor.get(f"/apprentices/{cast['both']}").get_data(as_text=True)
    assert "chosen so far" in seen
    assert f"/programmes/{cast['own_enrolment']}/electives" not in seen
    assert mentor.get(f"/programmes/{cast['own_enrolment']}/electives").status_code == 404
    mine = both.get("/programmes/mine").get_data(as_text=True)
    assert f"/programmes/{cast['own_enrolment']}/electives" in mine


def test_framework_pages_ask_the_frameworks_predicates(app, cast):
    apprentice = as_person(app, get_person_outside(app, cast["apprentice"]))
    assert apprentice.get(f"/frameworks/{cast['draft']}").status_code == 404
    assert apprentice.get(f"/frameworks/{cast['draft']}/export.csv").status_code == 404
    listed = apprentice.get("/frameworks/").get_data(as_text=True)
    assert "Quokka induction" not in listed and "Import a file" not in listed
    coordinator = as_person(app, get_person_outside(app, cast["coordinator"]))
    draft = coordinator.get(f"/frameworks/{cast['draft']}").get_data(as_text=True)
    assert "Edit name and rule" in draft
    retired = coordinator.get(f"/frameworks/{cast['retired']}").get_data(as_text=True)
    assert "Quokka retired" in retired and "Edit name and rule" not in retired
    views = app.view_functions
    assert views["apprentice.frameworks.import_file"].apprentice_permission \
        is framework_permissions.may_import_framework
    assert views["apprentice.frameworks.set_status"].apprentice_permission \
        is framework_permissions.may_set_framework_status
    assert views["apprentice.frameworks.move_area"].apprentice_permission \
        is framework_permissions.may_manage_frameworks


def test_the_audit_trail_and_its_menu_entry_follow_the_audit_predicates(app, cast):
    mentor = as_person(app, get_person_outside(app, cast["mentor"]))
    assert mentor.get("/audit/").status_code == 403
    assert mentor.get("/audit/records.csv").status_code == 403
    assert not re.search(r'href="[^"]*/audit/"', mentor.get("/").get_data(as_text=True))
    coordinator = as_person(app, get_person_outside(app, cast["coordinator"]))
    page = coordinator.get("/audit/").get_data(as_text=True)
    assert "as CSV</a>" in page and re.search(r'href="[^"]*/audit/"', page)
    views = app.view_functions
    assert views["apprentice.audit.index"].apprentice_permission \
        is audit_permissions.may_read_audit
    assert views["apprentice.audit.download"].apprentice_permission \
        is audit_permissions.may_download_audit


def get_person_outside(app, person_id: int):
    """A profile loaded in its own context, for signing in a test client."""
    with app.app_context():
        return get_person(person_id)
