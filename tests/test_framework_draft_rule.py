"""A new draft framework can be saved as its edit form comes (the rule's "3 electives"
before any elective area exists); the elective count is checked when it is published."""

from __future__ import annotations

import re

import pytest

from apprentice.competencies import services as frameworks
from apprentice.people.services import get_person
from apprentice.validation import Invalid


@pytest.fixture
def draft(app, coordinator):
    """A new draft with one required area and one competency: no elective area."""
    with app.app_context():
        by = get_person(coordinator.id)
        framework = frameworks.create_framework("Branch induction", by=by)
        area = frameworks.save_area(framework, None, name="Desk", description="",
                                    kind="required", min_hours=None, by=by)
        frameworks.add_competency(area, code="D-1", statement="Greets every patron.", by=by)
        return framework.id


def form_as_shown(page: str) -> dict:
    """The edit form's fields with the values the page filled in."""
    values = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    values["level_required"] = re.search(r'<option selected value="(\d+)"', page).group(1)
    values["description"] = ""
    return values


def test_a_new_draft_saves_as_its_form_comes_and_publishing_checks_the_electives(
        app, as_coordinator, draft):
    page = as_coordinator.get(f"/frameworks/{draft}/edit").get_data(as_text=True)
    values = form_as_shown(page)
    assert values["electives_required"] == "3"
    saved = as_coordinator.submit(f"/frameworks/{draft}/edit",
                                  {**values, "name": "Branch induction 2026"},
                                  follow_redirects=True).get_data(as_text=True)
    assert "Framework saved." in saved and "Branch induction 2026" in saved
    assert "This draft has 0 elective areas so far." in page  # and the form says why
    published = as_coordinator.submit(f"/frameworks/{draft}/status", {"status": "active"},
                                      follow_redirects=True).get_data(as_text=True)
    assert "The rule asks for 3 electives but there are only 0 elective areas." in published
    as_coordinator.submit(f"/frameworks/{draft}/edit", {**values, "electives_required": "0"})
    published = as_coordinator.submit(f"/frameworks/{draft}/status", {"status": "active"},
                                      follow_redirects=True).get_data(as_text=True)
    assert "Branch induction is now active." in published


def test_a_draft_still_refuses_a_number_no_rule_could_mean(app, as_coordinator, draft):
    page = as_coordinator.get(f"/frameworks/{draft}/edit").get_data(as_text=True)
    response = as_coordinator.submit(f"/frameworks/{draft}/edit",
                                     {**form_as_shown(page), "electives_required": "-1"})
    assert 'id="electives_required-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert frameworks.get_framework(draft).electives_required == 3


def test_the_service_lets_a_draft_ask_for_electives_it_has_not_got_yet(app, draft):
    """The rule lives in update_framework: a draft may ask for up to MAX_ELECTIVES before
    its elective areas exist (an active framework may not: see test_frameworks)."""
    with app.app_context():
        framework = frameworks.get_framework(draft)
        rule = {"name": framework.name, "description": "", "level_required": 5,
                "area_completion_percent": 100, "time_allowed_months": 48}
        frameworks.update_framework(framework, electives_required=frameworks.MAX_ELECTIVES,
                                    **rule)
        assert frameworks.get_framework(draft).electives_required == frameworks.MAX_ELECTIVES
        with pytest.raises(Invalid) as refused:
            frameworks.update_framework(framework,
                                        electives_required=frameworks.MAX_ELECTIVES + 1, **rule)
        assert refused.value.errors == {"electives_required": [
            f"Choose a number from 0 to {frameworks.MAX_ELECTIVES}."]}
