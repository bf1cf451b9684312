"""Frameworks: the default, the browser, the coordinator's editor, versions, files."""

from __future__ import annotations

import io

import pytest
from markupsafe import escape

from apprentice.competencies import services as frameworks
from apprentice.competencies.models import FrameworkStatus
from apprentice.validation import Invalid

BAD_CSV = (
    "area,required,code,statement\n"
    "Desk,required,D-1,Greets every patron.\n"       # fine
    "Desk,required,D-1,Answers the phone.\n"         # 1 duplicate code
    "Desk,required,D-2,\n"                           # 2 empty statement
    "Shelves,sometimes,S-1,Shelves returns.\n"       # 3 unknown area type
    ",elective,X-1,Does a thing.\n"                  # 4 empty area
    "Desk,elective,D-3,Opens the desk.\n"            # 5 type differs from line 2
)


@pytest.fixture
def default_framework(app):
    with app.app_context():
        return frameworks.load_default_framework()


@pytest.fixture
def as_coordinator(client, coordinator, login_as):
    return login_as(coordinator)


def test_default_framework_has_ten_areas_of_eight_or_more(app, default_framework):
    with app.app_context():
        framework = frameworks.get_framework(default_framework.id)
        areas = framework.current_areas
        assert len(areas) == 10
        assert [a.required for a in areas] == [True] * 3 + [False] * 7
        assert all(len(a.current_competencies) >= 8 for a in areas)
        assert framework.state == FrameworkStatus.ACTIVE
        assert framework.electives_required == 3


def test_export_then_import_gives_an_identical_framework(app, default_framework):
    from apprentice.competencies.interchange import read_json, write_json

    with app.app_context():
        exported = write_json(frameworks.spec_of(frameworks.get_framework(default_framework.id)))
        spec = read_json(exported)
        spec.name = "Copy"
        copy = frameworks.create_from_spec(spec)
        again = frameworks.spec_of(frameworks.get_framework(copy.id))
        again.name = default_framework.name
        assert write_json(again) == exported


def test_everyone_browses_active_frameworks_but_not_drafts(app, client, make_person, login_as,
                                                           default_framework):
    with app.app_context():
        draft = frameworks.create_framework("Our own draft")
    login_as(make_person(roles=["apprentice"]))
    page = client.get(f"/frameworks/{default_framework.id}").get_data(as_text=True)
    assert "Access Services" in page and "Youth Services" in page
    assert "Edit area" not in page
    assert "Our own draft" not in client.get("/frameworks/").get_data(as_text=True)
    assert client.get(f"/frameworks/{draft.id}").status_code == 404
    assert client.get(f"/frameworks/{default_framework.id}/edit").status_code == 403


def test_coordinator_loads_the_default_with_one_click(app, as_coordinator):
    page = as_coordinator.get("/frameworks/").get_data(as_text=True)
    assert "Load it now" in page
    response = as_coordinator.submit("/frameworks/load-default")
    assert response.status_code == 302
    assert "Load it now" not in as_coordinator.get("/frameworks/").get_data(as_text=True)
    again = as_coordinator.submit("/frameworks/load-default", follow_redirects=True)
    assert "exists already" in again.get_data(as_text=True)
    with app.app_context():
        assert len(frameworks.list_frameworks(include_unpublished=True)) == 1


def test_rewording_an_active_competency_keeps_the_old_wording(app, as_coordinator,
                                                              default_framework):
    with app.app_context():
        old = frameworks.get_framework(default_framework.id).current_areas[3].competencies[0]
    response = as_coordinator.submit(f"/frameworks/competencies/{old.id}/edit", {
        "code": old.code, "statement": "Checks items in and out, and clears account blocks.",
    })
    assert response.status_code == 302
    with app.app_context():
        kept = frameworks.get_competency(old.id)
        assert kept.statement == old.statement  # what evidence points at is untouched
        assert kept.retired_in == 2
        [current] = [c for c in frameworks.versions_of(kept) if c.current]
        assert current.lineage == kept.lineage and current.id != kept.id
        assert current.statement == "Checks items in and out, and clears account blocks."
        assert frameworks.get_framework(default_framework.id).version == 2
        changes = frameworks.changes_between(frameworks.get_framework(default_framework.id), 1, 2)
        assert [(a.id, b.id) for a, b in changes["reworded"]] == [(kept.id, current.id)]
    old_page = as_coordinator.get(f"/frameworks/competencies/{old.id}").get_data(as_text=True)
    assert str(escape(old.statement)) in old_page and "an earlier wording" in old_page
    framework_page = as_coordinator.get(f"/frameworks/{default_framework.id}")
    assert str(escape(old.statement)) not in framework_page.get_data(as_text=True)
    history = as_coordinator.get(f"/frameworks/{default_framework.id}/history?old=1&new=2")
    assert "Reworded" in history.get_data(as_text=True)


def test_a_draft_is_edited_in_place(app):
    with app.app_context():
        draft = frameworks.create_framework("Branch induction")
        area = frameworks.save_area(draft, None, name="Desk", description="", kind="required",
                                    min_hours=None)
        competency = frameworks.add_competency(area, code="D-1", statement="Greets patrons.")
        edited = frameworks.edit_competency(competency, code="D-1", statement="Greets everyone.")
        assert edited.id == competency.id
        assert frameworks.get_framework(draft.id).version == 1


def test_retiring_hides_without_deleting(app, default_framework):
    with app.app_context():
        competency = frameworks.get_framework(default_framework.id).current_areas[0].competencies[0]
        frameworks.retire_competency(competency)
        kept = frameworks.get_competency(competency.id)
        assert kept is not None and not kept.current
        area = frameworks.get_framework(default_framework.id).current_areas[0]
        assert competency.id not in [c.id for c in area.current_competencies]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"code": "FND-02", "statement": "Something new."}, "code", "already has the code"),
        ({"code": "NEW-1", "statement": "   "}, "statement", "Enter the statement."),
        ({"code": "bad code!", "statement": "Fine."}, "code", "Use letters, digits"),
        ({"code": "X" * 30, "statement": "Fine."}, "code", "longer than 20"),
    ],
)
def test_bad_competency_input_is_explained_and_nothing_changes(
    app, as_coordinator, default_framework, data, field, message
):
    with app.app_context():
        area = frameworks.get_framework(default_framework.id).current_areas[0]
        count = len(area.current_competencies)
    response = as_coordinator.submit(f"/frameworks/areas/{area.id}/competencies/new", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="{field}-error"' in page and message in page
    with app.app_context():
        assert len(frameworks.get_area(area.id).current_competencies) == count
        assert frameworks.get_framework(default_framework.id).version == 1


def test_a_retired_framework_cannot_be_edited(app, as_coordinator, default_framework):
    with app.app_context():
        framework = frameworks.get_framework(default_framework.id)
        frameworks.set_status(framework, FrameworkStatus.RETIRED)
        competency = framework.current_areas[0].current_competencies[0]
        with pytest.raises(Invalid) as refused:
            frameworks.edit_competency(competency, code="Z-1", statement="Changed.")
        assert "retired" in str(refused.value)
    response = as_coordinator.submit(f"/frameworks/competencies/{competency.id}/edit",
                                     {"code": "Z-1", "statement": "Changed."})
    assert "retired and can no longer be edited" in response.get_data(as_text=True)


def test_publishing_needs_every_area_filled(app):
    with app.app_context():
        draft = frameworks.create_framework("Thin")
        frameworks.save_area(draft, None, name="Empty", description="", kind="required",
                             min_hours=None)
        with pytest.raises(Invalid) as refused:
            frameworks.set_status(draft, FrameworkStatus.ACTIVE)
        assert "has no competencies yet" in str(refused.value)
        assert frameworks.get_framework(draft.id).status == "draft"


def test_reordering_moves_one_place(app, default_framework):
    with app.app_context():
        framework = frameworks.get_framework(default_framework.id)
        first, second = framework.current_areas[:2]
        frameworks.move(second, -1)
        assert [a.id for a in frameworks.get_framework(framework.id).current_areas[:2]] == [
            second.id, first.id]
        frameworks.move(second, -1)  # already first: nothing happens
        assert frameworks.get_framework(framework.id).current_areas[0].id == second.id


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"electives_required": "9"}, "electives_required", "from 0 to 7"),
        ({"area_completion_percent": "0"}, "area_completion_percent", "between 1 and 100"),
        ({"time_allowed_months": ""}, "time_allowed_months", "Enter a number of months."),
        ({"level_required": "9"}, "level_required", "Not a valid choice"),
        ({"name": ""}, "name", "Enter a name."),
    ],
)
def test_rule_changes_are_validated(app, as_coordinator, default_framework, change, field,
                                    message):
    rule = {"name": default_framework.name, "description": "", "electives_required": "3",
            "level_required": "5", "area_completion_percent": "100",
            "time_allowed_months": "48"}
    response = as_coordinator.submit(f"/frameworks/{default_framework.id}/edit",
                                     {**rule, **change})
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    with app.app_context():
        framework = frameworks.get_framework(default_framework.id)
        assert (framework.version, framework.electives_required) == (1, 3)


def test_csv_upload_with_five_problems_reports_all_five_and_imports_nothing(app, as_coordinator):
    response = as_coordinator.submit("/frameworks/import", {
        "file": (io.BytesIO(BAD_CSV.encode()), "desk.csv"), "name": "Desk skills",
    }, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    for expected in ("line 3: duplicate code", "line 4: the statement of D-2 is empty",
                     "line 5: unknown area type", "line 6: the area is empty",
                     "line 7: area &#39;Desk&#39; is elective here"):
        assert expected in page
    with app.app_context():
        assert frameworks.list_frameworks(include_unpublished=True) == []


def test_json_upload_and_download(app, as_coordinator, default_framework):
    download = as_coordinator.get(f"/frameworks/{default_framework.id}/export.json")
    assert download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    text = download.get_data(as_text=True).replace(default_framework.name, "Uploaded copy")
    response = as_coordinator.submit("/frameworks/import", {
        "file": (io.BytesIO(text.encode()), "copy.json"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    csv_download = as_coordinator.get(f"/frameworks/{default_framework.id}/export.csv")
    assert csv_download.get_data(as_text=True).startswith("area,required,code,statement")


def test_cli_import_export_round_trip(app, tmp_path, default_framework):
    runner = app.test_cli_runner()
    out = tmp_path / "fw.json"
    result = runner.invoke(args=["apprentice", "export-framework", "-o", str(out)])
    assert result.exit_code == 0, result.output
    by_name = runner.invoke(args=["apprentice", "export-framework", default_framework.name,
                                  "--format", "csv"])
    assert by_name.output.startswith("area,required,code,statement")
    unknown = runner.invoke(args=["apprentice", "export-framework", "Nope"])
    assert unknown.exit_code == 1 and "No framework 'Nope'" in unknown.output
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV)
    refused = runner.invoke(args=["apprentice", "import-framework", str(bad)])
    assert refused.exit_code == 1
    assert "5 problem(s)" in refused.output
    out.write_text(out.read_text().replace(default_framework.name, "From the CLI"))
    imported = runner.invoke(args=["apprentice", "import-framework", str(out)])
    assert imported.exit_code == 0, imported.output
    assert "10 areas, 122 competencies" in imported.output
    listed = runner.invoke(args=["apprentice", "list-frameworks"]).output
    assert "From the CLI" in listed


def test_framework_pages_use_the_same_number_of_queries_for_1_and_10_areas(
    app, as_coordinator, default_framework
):
    from tests.factories import sql_statements

    def queries(url: str) -> int:
        with sql_statements(app) as sent:
            assert as_coordinator.get(url).status_code == 200
        return len(sent)

    index_with_one = queries("/frameworks/")
    with app.app_context():
        small = frameworks.create_framework("One area")
        area = frameworks.save_area(small, None, name="Desk", description="", kind="required",
                                    min_hours=None)
        frameworks.add_competency(area, code="D-1", statement="Greets patrons.")
    assert queries("/frameworks/") == index_with_one
    assert queries(f"/frameworks/{small.id}") == queries(f"/frameworks/{default_framework.id}")


def test_the_edit_page_shows_the_current_level(as_coordinator, default_framework):
    page = as_coordinator.get(f"/frameworks/{default_framework.id}/edit").get_data(as_text=True)
    assert '<option selected value="5">' in page


def test_the_rule_asks_for_no_more_electives_than_there_are(app, default_framework):
    with app.app_context():
        framework = frameworks.get_framework(default_framework.id)
        rule = {"name": framework.name, "description": "", "level_required": 5,
                "area_completion_percent": 100, "time_allowed_months": 48}
        with pytest.raises(Invalid) as refused:
            frameworks.update_framework(framework, electives_required=8, **rule)
        assert refused.value.errors == {"electives_required": [
            "Choose a number from 0 to 7 (the framework has 7 elective areas)."]}
        frameworks.update_framework(framework, electives_required=7, **rule)
        framework = frameworks.get_framework(default_framework.id)
        assert (framework.electives_required, framework.version) == (7, 2)
        assert frameworks.history(framework)[0].summary.startswith("Framework rule: 7 electives")


def test_a_framework_goes_from_draft_to_active_to_retired_only(app, default_framework):
    with app.app_context():
        draft = frameworks.create_framework("Never published")
        with pytest.raises(Invalid) as refused:
            frameworks.set_status(draft, FrameworkStatus.RETIRED)
        assert "A draft framework cannot become retired." in str(refused.value)
        active = frameworks.get_framework(default_framework.id)
        with pytest.raises(Invalid):
            frameworks.set_status(active, FrameworkStatus.DRAFT)
        assert frameworks.get_framework(draft.id).status == "draft"
        assert frameworks.get_framework(active.id).status == "active"


def test_competency_codes_are_unique_in_a_framework_whatever_the_case(app, default_framework):
    with app.app_context():
        framework = frameworks.get_framework(default_framework.id)
        taken = framework.current_areas[0].current_competencies[1]
        other_area = framework.current_areas[1]
        with pytest.raises(Invalid) as refused:
            frameworks.add_competency(other_area, code=taken.code.lower(), statement="New.")
        assert list(refused.value.errors) == ["code"]
        # A rewording keeps its own code: that is not a clash.
        current = frameworks.edit_competency(taken, code=taken.code, statement="Reworded.")
        assert (current.code, current.lineage) == (taken.code, taken.lineage)


def test_a_retired_area_stays_where_it_was_when_asked_to_move(app, as_coordinator,
                                                             default_framework):
    with app.app_context():
        framework = frameworks.get_framework(default_framework.id)
        area = framework.current_areas[1]
        frameworks.retire_area(area)
        frameworks.move(frameworks.get_area(area.id), -1)
        assert frameworks.get_area(area.id).position == 1
    assert as_coordinator.submit(f"/frameworks/areas/{area.id}/move",
                                 {"step": "up"}).status_code == 302
