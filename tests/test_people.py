"""Coordinators manage people: add, edit, roles, deactivate; every bad input explained."""

from __future__ import annotations

import pytest

from apprentice.people import services
from apprentice.people.models import Role
from apprentice.validation import Invalid
from tests.factories import DEFAULT_PASSWORD

NEW = {
    "name": "Priya Shah",
    "email": "Priya.Shah@Library.example",
    "job_title": "Circulation Clerk",
    "branch": "Eastside",
    "roles": ["apprentice"],
    "password": "temporary phrase 1",
}


@pytest.fixture
def as_coordinator(client, coordinator, login_as):
    return login_as(coordinator)


def people_page(client, **args):
    return client.get("/people/", query_string=args).get_data(as_text=True)


def test_coordinator_adds_a_person_who_then_signs_in_and_must_change_password(
    app, as_coordinator
):
    client = as_coordinator
    response = client.submit("/people/new", NEW)
    assert response.status_code == 302
    assert "Priya Shah" in people_page(client)
    with app.app_context():
        person = services.find_by_email("priya.shah@library.example")
        assert person.roles == {Role.APPRENTICE}
        assert person.email == "priya.shah@library.example"
        assert person.password_must_change
    client.submit("/sign-out")
    response = client.submit("/sign-in", {"email": NEW["email"], "password": NEW["password"]})
    assert response.headers["Location"].startswith("/account/password")


def test_coordinator_gives_and_takes_roles(app, as_coordinator, make_person):
    person = make_person(roles=["apprentice"])
    client = as_coordinator
    response = client.submit(f"/people/{person.id}/edit", {
        "name": person.name, "email": person.email, "roles": ["apprentice", "mentor"],
    })
    assert response.status_code == 302
    with app.app_context():
        assert services.get_person(person.id).roles == {Role.APPRENTICE, Role.MENTOR}
    client.submit(f"/people/{person.id}/edit", {
        "name": person.name, "email": person.email, "roles": ["mentor"],
    })
    with app.app_context():
        assert services.get_person(person.id).roles == {Role.MENTOR}


def test_role_grant_records_who_granted_it_and_keeps_kept_grants(app, coordinator, make_person):
    person = make_person(roles=["apprentice"])
    with app.app_context():
        person = services.get_person(person.id)
        first_grant = person.role_grants[0].granted_at
        services.update_person(
            person,
            services.PersonDetails(person.name, person.email, roles=["apprentice", "mentor"]),
            by=coordinator,
        )
        grants = {g.role: g for g in services.get_person(person.id).role_grants}
        assert grants["apprentice"].granted_at == first_grant
        assert grants["mentor"].granted_by_id == coordinator.id


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "Enter the person&#39;s name."),
        ({"name": "x" * 121}, "name", "Field cannot be longer than 120 characters."),
        ({"email": ""}, "email", "Enter an e-mail address."),
        ({"email": "not-an-address"}, "email", "not a valid e-mail address"),
        ({"email": "a@" + "b" * 260 + ".example"}, "email", "longer than 254"),
        ({"job_title": "t" * 200}, "job_title", "cannot be longer than 120"),
        ({"password": ""}, "password", "Give a temporary password"),
        ({"password": "short"}, "password", "at least 12 characters"),
        ({"roles": ["librarian-in-chief"]}, "roles", "Choose from the list."),
    ],
)
def test_bad_input_is_explained_next_to_the_field_and_nothing_is_saved(
    app, as_coordinator, change, field, message
):
    response = as_coordinator.submit("/people/new", {**NEW, **change})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="{field}-error"' in page
    assert message in page
    # What was typed stays on the form.
    if field != "name":
        assert 'value="Priya Shah"' in page
    with app.app_context():
        assert services.find_by_email(NEW["email"]) is None


def test_duplicate_email_in_any_case_is_refused(app, as_coordinator, make_person):
    make_person(email="priya.shah@library.example")
    response = as_coordinator.submit("/people/new", {**NEW, "email": "PRIYA.SHAH@library.example"})
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and "already has this e-mail" in page
    with app.app_context():
        assert services.list_people(text="priya")[1] == 1


def test_editing_to_anothers_email_is_refused(app, as_coordinator, make_person):
    first = make_person(email="one@library.example")
    make_person(email="two@library.example")
    response = as_coordinator.submit(f"/people/{first.id}/edit", {
        "name": first.name, "email": "Two@library.example", "roles": ["apprentice"],
    })
    assert "already has this e-mail" in response.get_data(as_text=True)
    with app.app_context():
        assert services.get_person(first.id).email == "one@library.example"


def test_deactivated_person_is_signed_out_and_keeps_their_record(app, as_coordinator, make_person):
    person = make_person(email="leaving@library.example")
    their_device = app.test_client()
    with their_device.session_transaction() as session:
        session["_user_id"] = person.get_id()
    assert their_device.get("/").status_code == 200
    response = as_coordinator.submit(f"/people/{person.id}/active", {"active": "0"})
    assert response.status_code == 302
    assert their_device.get("/").status_code == 302
    with app.app_context():
        kept = services.get_person(person.id)
        assert kept is not None and not kept.active
    row = f">{person.name}</a>"
    assert row not in people_page(as_coordinator)
    assert row in people_page(as_coordinator, inactive="1")
    as_coordinator.submit(f"/people/{person.id}/active", {"active": "1"})
    signed_in = app.test_client().submit(
        "/sign-in", {"email": "leaving@library.example", "password": DEFAULT_PASSWORD}
    )
    assert signed_in.status_code == 302


def test_coordinator_cannot_deactivate_themselves(app, as_coordinator, coordinator):
    response = as_coordinator.submit(f"/people/{coordinator.id}/active", {"active": "0"},
                                     follow_redirects=True)
    assert "You cannot deactivate yourself." in response.get_data(as_text=True)
    with app.app_context():
        assert services.get_person(coordinator.id).active


def test_the_service_refuses_self_deactivation_but_not_another_coordinators(
    app, coordinator, make_person
):
    other = make_person(roles=["coordinator"])
    with app.app_context():
        me = services.get_person(coordinator.id)
        with pytest.raises(Invalid) as refused:
            services.set_active(me, False, by=me)
        assert refused.value.errors == {None: ["You cannot deactivate yourself."]}
        assert services.get_person(coordinator.id).active
        services.set_active(services.get_person(other.id), False, by=me)
        assert not services.get_person(other.id).active


def test_the_last_active_coordinator_cannot_lose_the_role(app, coordinator, make_person):
    with app.app_context():
        person = services.get_person(coordinator.id)
        with pytest.raises(Invalid) as refused:
            services.update_person(
                person, services.PersonDetails(person.name, person.email, roles=["mentor"])
            )
        assert "only active coordinator" in str(refused.value)
    other = make_person(roles=["coordinator"])
    with app.app_context():
        services.update_person(
            services.get_person(coordinator.id),
            services.PersonDetails(person.name, person.email, roles=["mentor"]),
        )
        with pytest.raises(Invalid):
            services.set_active(services.get_person(other.id), False)


def test_list_filters_by_text_and_role(app, as_coordinator, make_person):
    make_person(name="Marian Okafor", roles=["mentor"], branch="Central")
    make_person(name="Jordan Lee", roles=["apprentice"], branch="Eastside")
    page = people_page(as_coordinator, q="okaf")
    assert "Marian Okafor" in page and "Jordan Lee" not in page
    page = people_page(as_coordinator, role="apprentice")
    assert "Jordan Lee" in page and "Marian Okafor" not in page
    page = people_page(as_coordinator, q="eastside")
    assert "Jordan Lee" in page
    # Wildcards typed by a person are plain characters.
    assert "Nobody matches" in people_page(as_coordinator, q="%")


def test_list_is_paginated(app, as_coordinator, make_person):
    app.config["APPRENTICE_PAGE_SIZE"] = 2
    for n in range(4):
        make_person(name=f"Zed {n}", password=None)
    last = people_page(as_coordinator, page=3)
    assert "Page 3 of 3" in last
    assert "Zed 3" in last


def test_bad_filter_values_do_not_break_the_list(as_coordinator):
    response = as_coordinator.get("/people/", query_string={"role": "wizard", "page": "x"})
    assert response.status_code == 200


def test_temporary_password_reset_by_coordinator(app, as_coordinator, make_person):
    person = make_person(email="forgot@library.example")
    as_coordinator.submit(f"/people/{person.id}/edit", {
        "name": person.name, "email": person.email, "roles": ["apprentice"],
        "temporary_password": "reset phrase 123",
    })
    response = app.test_client().submit(
        "/sign-in", {"email": "forgot@library.example", "password": "reset phrase 123"}
    )
    assert response.headers["Location"].startswith("/account/password")
