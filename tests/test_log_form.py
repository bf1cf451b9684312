"""The quick-log form chooses nothing for the person: what they practised and how is their
own claim, sent to a mentor as evidence. Recent competencies are listed first, unticked."""

from __future__ import annotations

import re
from datetime import date, timedelta

from apprentice.programmes import services as programmes
from apprentice.training import services
from tests.loop import as_person, log_form

CHECKED = re.compile(r"<input[^>]*\bchecked\b[^>]*>")


def _checkbox_position(page: str, competency_id: int) -> int:
    match = re.search(rf'<input type="checkbox" name="competency_ids" value="{competency_id}"',
                      page)
    assert match, f"competency {competency_id} is not on the form"
    return match.start()


def _programme(app, loop):
    with app.app_context():
        return [c.id for c in programmes.programme_competencies(loop["apprentice"].id)]


def test_a_first_visit_chooses_nothing_but_the_date(app, loop):
    page = as_person(app, loop["apprentice"]).get("/log/new").get_data(as_text=True)
    assert CHECKED.findall(page) == []  # no activity, no competency, no procedure
    assert f'value="{date.today().isoformat()}"' in page


def test_the_last_entrys_competencies_come_first_but_unticked(app, loop):
    programme = _programme(app, loop)
    first, practised = programme[0], programme[7]
    client = as_person(app, loop["apprentice"])
    # Their last entry (a draft, even) practised the eighth competency of the programme.
    data = log_form(client, practised, activity="2", submit="", save_draft="1")
    assert client.submit("/log/new", data).status_code == 302
    page = client.get("/log/new").get_data(as_text=True)
    assert CHECKED.findall(page) == []
    assert _checkbox_position(page, practised) < _checkbox_position(page, first)
    # The mentor of the last entry is still offered first (chosen in the list).
    assert re.search(rf'<option selected value="{loop["mentor"].id}"', page)


def test_recent_competencies_are_in_order_of_recency(app, loop):
    programme = _programme(app, loop)
    older, newer = programme[3], programme[9]
    client = as_person(app, loop["apprentice"])
    for competency in (older, newer):
        client.submit("/log/new", log_form(client, competency))
    page = client.get("/log/new").get_data(as_text=True)
    positions = [_checkbox_position(page, c) for c in (newer, older, programme[0])]
    assert positions == sorted(positions)
    assert CHECKED.findall(page) == []


def test_log_practising_this_ticks_only_what_was_clicked(app, loop):
    programme = _programme(app, loop)
    client = as_person(app, loop["apprentice"])
    client.submit("/log/new", log_form(client, programme[2]))
    page = client.get(f"/log/new?competency={programme[5]}").get_data(as_text=True)
    checked = CHECKED.findall(page)
    assert len(checked) == 1 and f'value="{programme[5]}"' in checked[0]
    assert _checkbox_position(page, programme[5]) < _checkbox_position(page, programme[2])


def test_sending_without_choosing_what_you_did_asks_for_it(app, loop):
    client = as_person(app, loop["apprentice"])
    data = log_form(client, loop["competency"].id)
    del data["activity"]
    response = client.submit("/log/new", data)
    assert response.status_code == 200
    assert "Choose what you did." in response.get_data(as_text=True)
    with app.app_context():
        assert services.entries_of(loop["apprentice"].id) == []


def mentor_options(page: str) -> list[tuple[str, str, bool, bool]]:
    """(value, name, selected, disabled) of each option of the Mentor list, in order."""
    box = re.search(r'<select[^>]*id="mentor_id".*?</select>', page, re.S).group(0)
    return [(value, name.strip(), " selected" in attrs, " disabled" in attrs)
            for attrs, value, name in re.findall(
                r'<option([^>]*value="([^"]*)"[^>]*)>([^<]*)</option>', box)]


def mentor_errors(page: str) -> list[str]:
    """The messages shown next to the Mentor list."""
    found = re.search(r'id="mentor_id-error".*?</div>', page, re.S)
    return re.findall(r"</span>\s*([^<]+?)\s*</p>", found.group(0)) if found else []


def test_the_one_current_mentor_is_filled_in(app, loop):
    page = as_person(app, loop["apprentice"]).get("/log/new").get_data(as_text=True)
    assert mentor_options(page) == [(str(loop["mentor"].id), "Marian Okafor", True, False)]


def test_with_two_mentors_and_none_chosen_yet_the_list_asks(app, loop):
    with app.app_context():
        services.create_pairing(loop["apprentice"], loop["other"], starts_on=date.today())
    page = as_person(app, loop["apprentice"]).get("/log/new").get_data(as_text=True)
    assert mentor_options(page) == [
        ("", "Choose the mentor you worked with", True, True),  # cannot be sent
        (str(loop["mentor"].id), "Marian Okafor", False, False),
        (str(loop["other"].id), "Unpaired Mentor", False, False)]


def test_a_mentor_no_longer_paired_is_not_swapped_for_the_next_one(app, loop):
    """Sent again as the page shows it after the refusal, the form names nobody: it is
    refused with "Choose your mentor.", never saved under someone they did not pick."""
    with app.app_context():
        services.create_pairing(loop["apprentice"], loop["other"],
                                starts_on=date.today() - timedelta(days=10))
    client = as_person(app, loop["apprentice"])
    form = log_form(client, _programme(app, loop)[0], mentor_id=str(loop["other"].id))
    with app.app_context():
        pairing = services.pairings(mentor_id=loop["other"].id)[0]
        services.change_pairing(pairing, ends_on=date.today() - timedelta(days=1),
                                area_ids=[], by=loop["coordinator"])
    page = client.submit("/log/new", form).get_data(as_text=True)
    assert "Choose one of your current mentors." in page
    assert [option[:3] for option in mentor_options(page)] == [
        ("", "Choose the mentor you worked with", True),
        (str(loop["mentor"].id), "Marian Okafor", False)]
    again = client.submit("/log/new", {k: v for k, v in form.items() if k != "mentor_id"})
    assert mentor_errors(again.get_data(as_text=True)) == ["Choose your mentor."]
    with app.app_context():
        assert services.entries_of(loop["apprentice"].id) == []
