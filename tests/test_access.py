"""Who may open what: anonymous visitors, roles, CSRF, friendly error pages."""

from __future__ import annotations

import pytest


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/people/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_static_assets_need_no_sign_in(client):
    with client.get("/assets/apprentice.css") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/css"


@pytest.mark.parametrize("roles", [["apprentice"], ["mentor"], []])
def test_people_pages_are_for_coordinators_only(client, make_person, login_as, roles):
    login_as(make_person(roles=roles))
    response = client.get("/people/")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "You do not have access to this page" in page
    assert client.get("/people/new").status_code == 403


def test_coordinator_opens_people_pages(client, coordinator, login_as):
    login_as(coordinator)
    assert client.get("/people/").status_code == 200


def test_navigation_fits_the_roles(client, make_person, login_as):
    login_as(make_person(roles=["apprentice"]))
    assert 'href="/people/"' not in client.get("/").get_data(as_text=True)
    client.submit("/sign-out")
    login_as(make_person(roles=["coordinator", "mentor"]))
    assert 'href="/people/"' in client.get("/").get_data(as_text=True)


def test_post_without_csrf_token_is_refused_with_400_and_changes_nothing(
    client, make_person, coordinator, login_as
):
    person = make_person(name="Kept Name")
    login_as(coordinator)
    response = client.post(f"/people/{person.id}/edit", data={
        "name": "Changed", "email": person.email, "roles": ["apprentice"],
    })
    assert response.status_code == 400
    assert "Reload the page" in response.get_data(as_text=True)
    assert "Kept Name" in client.get("/people/").get_data(as_text=True)
    forged = client.post(f"/people/{person.id}/edit", data={
        "name": "Changed", "email": person.email, "csrf_token": "forged",
    })
    assert forged.status_code == 400


def test_sign_in_itself_is_csrf_protected(client):
    response = client.post("/sign-in", data={"email": "a@b.example", "password": "x"})
    assert response.status_code == 400


def test_unknown_url_gets_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_unknown_person_is_404(client, coordinator, login_as):
    login_as(coordinator)
    assert client.get("/people/99999/edit").status_code == 404


def test_unexpected_failure_gets_a_friendly_500(app, client, coordinator, login_as, monkeypatch):
    app.testing = False  # let the error handler answer instead of raising into the test

    def broken(**_kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("apprentice.people.services.list_people", broken)
    login_as(coordinator)
    response = client.get("/people/")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "database on fire" not in page


def test_every_page_offers_skip_link_labels_and_viewport(client):
    page = client.get("/sign-in").get_data(as_text=True)
    assert 'name="viewport"' in page
    assert 'href="#ap-main"' in page
    assert '<label for="email">' in page and '<label for="password">' in page
