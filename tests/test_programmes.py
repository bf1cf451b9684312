"""Enrolment, electives, and progress pages; the cohort in a fixed number of queries."""

from __future__ import annotations

from datetime import date

import pytest

from apprentice.competencies import services as frameworks
from apprentice.competencies.models import FrameworkStatus
from apprentice.programmes import services as programmes
from apprentice.programmes.models import EnrolmentStatus
from apprentice.records import services as records
from apprentice.validation import Invalid
from tests.factories import sql_statements


@pytest.fixture
def framework(app):
    with app.app_context():
        return frameworks.load_default_framework()


def electives_of(app, framework, *names):
    with app.app_context():
        areas = frameworks.get_framework(framework.id).current_areas
        return [a.id for a in areas if a.name in names] if names else [
            a.id for a in areas if not a.required]


@pytest.fixture
def as_coordinator(client, coordinator, login_as):
    return login_as(coordinator)


def test_coordinator_enrols_an_apprentice_and_picks_three_electives(
    app, as_coordinator, make_person, framework
):
    apprentice = make_person(name="Priya Shah", roles=["apprentice"])
    response = as_coordinator.submit("/programmes/enrol", {
        "person": apprentice.id, "framework": framework.id, "start_date": "2026-09-01",
    })
    assert response.status_code == 302
    with app.app_context():
        [row] = records.programmes_of(apprentice)
        enrolment = row.enrolment
        assert enrolment.target_date == date(2030, 9, 1)  # 48 months allowed
    chosen = electives_of(app, framework, "Access Services", "Youth Services",
                          "Collection Management")
    response = as_coordinator.submit(f"/programmes/{enrolment.id}/electives",
                                     {"electives": chosen})
    assert response.status_code == 302
    cohort = as_coordinator.get("/programmes/").get_data(as_text=True)
    assert "Priya Shah" in cohort and "3 of 3 chosen" in cohort


@pytest.mark.parametrize("count", [0, 2, 4])
def test_electives_must_number_exactly_what_the_rule_asks(app, make_person, framework, count):
    apprentice = make_person()
    all_electives = electives_of(app, framework)
    with app.app_context():
        enrolment = programmes.enrol(apprentice, frameworks.get_framework(framework.id),
                                     start=date(2026, 1, 5))
        with pytest.raises(Invalid) as refused:
            programmes.choose_electives(enrolment, all_electives[:count])
        assert f"exactly 3 elective areas (you chose {count})" in str(refused.value)
        assert programmes.get_enrolment(enrolment.id).electives == []


def test_electives_from_another_framework_or_required_areas_are_refused(
    app, make_person, framework
):
    apprentice = make_person()
    with app.app_context():
        spec = frameworks.spec_of(frameworks.get_framework(framework.id))
        spec.name = "Another"
        other = frameworks.create_from_spec(spec)
        foreign = [a.id for a in other.current_areas if not a.required][:3]
        required = [a.id for a in frameworks.get_framework(framework.id).current_areas
                    if a.required]
        enrolment = programmes.enrol(apprentice, frameworks.get_framework(framework.id),
                                     start=date(2026, 1, 5))
        for wrong in (foreign, required):
            with pytest.raises(Invalid) as refused:
                programmes.choose_electives(enrolment, wrong)
            assert "this framework's elective areas" in str(refused.value)


def test_changing_electives_later_keeps_the_ones_kept(app, make_person, framework):
    apprentice = make_person()
    first = electives_of(app, framework, "Access Services", "Youth Services",
                         "Collection Management")
    second = electives_of(app, framework, "Access Services", "Youth Services",
                          "Cataloging and Classification")
    with app.app_context():
        enrolment = programmes.enrol(apprentice, frameworks.get_framework(framework.id),
                                     start=date(2026, 1, 5), electives=first)
        kept_at = {c.area_id: c.chosen_at for c in enrolment.electives}
        programmes.choose_electives(enrolment, second)
        now = {c.area_id: c.chosen_at for c in programmes.get_enrolment(enrolment.id).electives}
        assert set(now) == set(second)
        shared = set(first) & set(second)
        assert {a: now[a] for a in shared} == {a: kept_at[a] for a in shared}


def test_only_active_apprentices_on_active_frameworks_once(app, make_person, framework):
    mentor = make_person(roles=["mentor"])
    apprentice = make_person()
    with app.app_context():
        active = frameworks.get_framework(framework.id)
        with pytest.raises(Invalid) as refused:
            programmes.enrol(mentor, active, start=date(2026, 1, 5))
        assert "not an active apprentice" in str(refused.value)
        programmes.enrol(apprentice, active, start=date(2026, 1, 5))
        with pytest.raises(Invalid) as twice:
            programmes.enrol(apprentice, active, start=date(2026, 2, 5))
        assert "already enrolled" in str(twice.value)
        draft = frameworks.create_framework("Draft only")
        with pytest.raises(Invalid) as not_published:
            programmes.enrol(apprentice, draft, start=date(2026, 1, 5))
        assert "Only active" in str(not_published.value)


def test_a_finished_programme_stays_visible_and_allows_a_new_one(app, make_person, framework):
    apprentice = make_person()
    with app.app_context():
        active = frameworks.get_framework(framework.id)
        first = programmes.enrol(apprentice, active, start=date(2022, 1, 5))
        programmes.finish(first, EnrolmentStatus.WITHDRAWN)
        programmes.enrol(apprentice, active, start=date(2026, 1, 5))
        statuses = [row.enrolment.status for row in records.programmes_of(apprentice)]
        assert statuses == ["active", "withdrawn"]


def test_target_before_start_is_refused(app, as_coordinator, make_person, framework):
    apprentice = make_person()
    response = as_coordinator.submit("/programmes/enrol", {
        "person": apprentice.id, "framework": framework.id, "start_date": "2026-09-01",
        "target_date": "2026-01-01",
    })
    page = response.get_data(as_text=True)
    assert 'id="target_date-error"' in page and "on or after the start date" in page
    with app.app_context():
        assert records.programmes_of(apprentice) == []


def test_enrolling_a_non_apprentice_through_the_form_is_refused(
    as_coordinator, make_person, framework
):
    make_person(roles=["apprentice"])
    mentor = make_person(roles=["mentor"])
    response = as_coordinator.submit("/programmes/enrol", {
        "person": mentor.id, "framework": framework.id, "start_date": "2026-09-01",
    })
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="person-error"' in page and "Not a valid choice" in page


def test_apprentice_sees_their_programme_with_a_bar_per_area(
    app, client, make_person, login_as, framework
):
    apprentice = make_person(name="Jordan Lee")
    chosen = electives_of(app, framework, "Access Services", "Youth Services",
                          "Reference and Information Services")
    with app.app_context():
        programmes.enrol(apprentice, frameworks.get_framework(framework.id),
                         start=date(2026, 1, 5), electives=chosen)
    login_as(apprentice)
    page = client.get("/programmes/mine").get_data(as_text=True)
    assert page.count("<progress") == 1 + 3 + 3  # overall, required areas, chosen electives
    assert "Youth Services" in page and "Cataloging and Classification" not in page


def test_apprentices_see_only_their_own_programme(app, client, make_person, login_as, framework):
    one, other = make_person(), make_person()
    with app.app_context():
        enrolment = programmes.enrol(one, frameworks.get_framework(framework.id),
                                     start=date(2026, 1, 5))
    login_as(other)
    assert client.get(f"/programmes/{enrolment.id}").status_code == 404
    assert client.get(f"/programmes/{enrolment.id}/electives").status_code == 404
    assert client.get("/programmes/").status_code == 403


def test_a_retired_framework_keeps_its_programmes(app, make_person, framework):
    apprentice = make_person()
    with app.app_context():
        active = frameworks.get_framework(framework.id)
        programmes.enrol(apprentice, active, start=date(2026, 1, 5))
        frameworks.set_status(active, FrameworkStatus.RETIRED)
        [row] = records.programmes_of(apprentice)
        assert row.progress.framework.name == framework.name


def test_cohort_progress_uses_the_same_number_of_queries_for_5_and_200(app, framework):
    from apprentice.people.services import PersonDetails, create_person

    def cohort_queries(size: int, offset: int) -> int:
        with app.app_context():
            active = frameworks.get_framework(framework.id)
            chosen = [a.id for a in active.current_areas if not a.required][:3]
            for n in range(size):
                person = create_person(PersonDetails(f"P{offset + n}", f"p{offset + n}@x.example",
                                                     roles=["apprentice"]))
                programmes.enrol(person, active, start=date(2026, 1, 5), electives=chosen)
        with app.app_context(), sql_statements(app) as sent:
            rows = records.cohort()
        assert len(rows) == size + offset
        return len(sent)

    small = cohort_queries(5, 0)
    large = cohort_queries(195, 5)
    assert small == large


def test_demo_shows_the_framework_and_an_enrolled_apprentice(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["apprentice", "demo"]).exit_code == 0
    with app.app_context():
        [framework] = frameworks.list_frameworks()
        assert len(framework.current_areas) == 10
        rows = records.cohort()
        assert [r.enrolment.person.name for r in rows] == ["Jordan Lee"]
        assert rows[0].progress.electives_chosen == 3


def test_target_dates_are_never_before_the_start(app, make_person, framework):
    apprentice = make_person()
    with app.app_context():
        active = frameworks.get_framework(framework.id)
        with pytest.raises(Invalid) as refused:
            programmes.enrol(apprentice, active, start=date(2026, 9, 1),
                             target=date(2026, 1, 1))
        assert list(refused.value.errors) == ["target_date"]
        enrolment = programmes.enrol(apprentice, active, start=date(2026, 9, 1))
        with pytest.raises(Invalid):
            programmes.set_target_date(enrolment, date(2026, 8, 31))
        programmes.set_target_date(enrolment, date(2026, 9, 1))
        assert programmes.get_enrolment(enrolment.id).target_date == date(2026, 9, 1)


def test_a_programme_is_finished_once_and_not_as_active(app, make_person, framework):
    apprentice = make_person()
    with app.app_context():
        enrolment = programmes.enrol(apprentice, frameworks.get_framework(framework.id),
                                     start=date(2026, 1, 5))
        with pytest.raises(Invalid):
            programmes.finish(enrolment, EnrolmentStatus.ACTIVE)
        programmes.finish(enrolment, EnrolmentStatus.COMPLETED)
        with pytest.raises(Invalid) as again:
            programmes.finish(enrolment, EnrolmentStatus.WITHDRAWN)
        assert "already finished" in str(again.value)
        assert programmes.get_enrolment(enrolment.id).status == "completed"
