"""Published framework versions kept per process (apprentice.programmes.shapes): a change
to a published framework is a new version, seen at once; drafts are never kept."""

from __future__ import annotations

from apprentice.competencies import services as frameworks
from apprentice.programmes import services as programmes
from apprentice.programmes.shapes import kept_shapes, shapes_of
from apprentice.records import services as records
from tests.factories import sql_statements


def area_names(app, framework_id: int) -> list[str]:
    with app.app_context():
        return [a.name for a in shapes_of([framework_id])[framework_id].areas]


def test_a_published_version_is_read_once_then_kept(app, loop):
    framework_id = loop["framework"].id
    first = area_names(app, framework_id)
    with app.app_context(), sql_statements(app) as sent:
        shape = shapes_of([framework_id])[framework_id]
    assert [a.name for a in shape.areas] == first
    [query] = [statement for statement in sent if statement.startswith("SELECT")]
    assert "apprentice_competencies" not in query  # the version only
    with app.app_context():
        assert len(kept_shapes()) == 1


def test_every_change_to_a_published_framework_is_seen_at_once(app, loop, coordinator):
    framework_id = loop["framework"].id
    first, second, *_ = area_names(app, framework_id)
    with app.app_context():
        framework = frameworks.get_framework(framework_id)
        frameworks.move(framework.current_areas[1], -1, by=coordinator)  # reordering too
    assert area_names(app, framework_id)[:2] == [second, first]
    with app.app_context():
        area = frameworks.get_framework(framework_id).current_areas[0]
        frameworks.save_area(area.framework, area, name="Renamed area",
                             description=area.description, kind=area.kind,
                             min_hours=area.min_hours, by=coordinator)
        competency = frameworks.get_framework(framework_id).current_areas[0] \
            .current_competencies[0]
        frameworks.edit_competency(competency, code=competency.code,
                                   statement="Reworded for the test.", by=coordinator)
    with app.app_context():
        [row] = records.programmes_of(loop["apprentice"])
        shown = row.progress.framework
    assert shown.areas[0].name == "Renamed area"
    assert shown.areas[0].competencies[0].statement == "Reworded for the test."


def test_a_draft_is_read_every_time_and_never_kept(app, coordinator, make_person):
    with app.app_context():
        draft = frameworks.create_framework("Draft programme", by=coordinator)
        frameworks.save_area(draft, None, name="First", description="", kind="required",
                             min_hours=None, by=coordinator)
        draft_id = draft.id
    assert area_names(app, draft_id) == ["First"]
    with app.app_context():
        draft = frameworks.get_framework(draft_id)
        frameworks.save_area(draft, draft.current_areas[0], name="First, renamed",
                             description="", kind="required", min_hours=None, by=coordinator)
        assert frameworks.get_framework(draft_id).version == 1  # drafts keep their version
    assert area_names(app, draft_id) == ["First, renamed"]
    with app.app_context():
        assert len(kept_shapes()) == 0


def test_programme_competencies_follow_the_chosen_electives(app, loop):
    """What the log form offers comes from the kept shape: the required areas and the
    chosen electives (the loop chose the first three), in the framework's order."""
    with app.app_context():
        framework = frameworks.get_framework(loop["framework"].id)
        chosen = [a.id for a in framework.current_areas if not a.required][:3]
        expected = [(c.id, c.code, c.lineage, a.id) for a in framework.current_areas
                    for c in a.current_competencies if a.required or a.id in chosen]
        offered = programmes.programme_competencies(loop["apprentice"].id)
    assert [(c.id, c.code, c.lineage, c.area_id) for c in offered] == expected
    assert len({area for *_, area in expected}) < len(framework.current_areas)
