"""The procedures wiki: revisions, conflicts, proposals, review dates, import, safe pages."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from apprentice.competencies import services as frameworks
from apprentice.kb import permissions, services
from apprentice.kb.importer import import_folder, parse_front_matter
from apprentice.kb.models import ProcedureStatus, RevisionState
from apprentice.people.services import get_person
from apprentice.validation import Invalid
from tests.loop import as_person
from tests.test_kb_rendering import problems_in


@pytest.fixture
def cast(make_person):
    return {"mentor": make_person(roles=["mentor"]), "apprentice": make_person(),
            "coordinator": make_person(roles=["coordinator"])}


def draft(**changes) -> services.ProcedureDraft:
    values = {"title": "Opening the circulation desk",
              "body": "1. Count the cash drawer.\n2. Log in to the ILS.\n",
              "tags": "Circulation, desk, circulation"}
    values.update(changes)
    return services.ProcedureDraft(**values)


def test_a_mentor_publishes_and_every_save_is_a_revision(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        procedure = services.create(draft(), mentor, publish=True)
        assert procedure.status == "published"
        assert procedure.tag_list == ["circulation", "desk"]
        assert procedure.review_by == date.today() + timedelta(days=90)
        services.save(procedure, draft(body="1. Count the drawer twice.\n"), mentor,
                      based_on=1)
        numbers = [r.number for r in services.revisions(procedure)]
        assert numbers == [2, 1]
        assert services.get_procedure(procedure.id).body == "1. Count the drawer twice.\n"


def test_the_second_of_two_editors_is_refused_not_overwritten(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        procedure = services.create(draft(), mentor, publish=True)
        services.save(procedure, draft(body="First editor's text.\n"), mentor, based_on=1)
        with pytest.raises(services.EditConflict) as conflict:
            services.save(procedure, draft(body="Second editor's text.\n"), mentor, based_on=1)
        assert "Someone else saved this procedure" in str(conflict.value)
        assert services.get_procedure(procedure.id).body == "First editor's text.\n"


def test_the_conflict_page_keeps_the_second_editors_text(app, cast):
    with app.app_context():
        procedure = services.create(draft(), get_person(cast["mentor"].id), publish=True)
        services.save(procedure, draft(body="Someone else's change.\n"),
                      get_person(cast["mentor"].id), based_on=1)
    client = as_person(app, cast["mentor"])
    response = client.submit(f"/procedures/{procedure.id}/edit", {
        "title": "Opening the circulation desk", "body": "My careful rewrite.",
        "based_on": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else saved this procedure" in page
    assert "My careful rewrite." in page


def test_an_apprentice_proposes_and_a_mentor_publishes(app, cast):
    with app.app_context():
        mentor, apprentice = get_person(cast["mentor"].id), get_person(cast["apprentice"].id)
        procedure = services.create(draft(), mentor, publish=True)
        proposal = services.save(procedure, draft(body="Also switch on the printers.\n"),
                                 apprentice, based_on=1)
        assert proposal.state == RevisionState.PROPOSED.value
        assert services.get_procedure(procedure.id).body.startswith("1. Count the cash")
        with pytest.raises(Invalid):
            services.accept(proposal, apprentice)
        services.accept(proposal, mentor)
        assert services.get_procedure(procedure.id).body == "Also switch on the printers.\n"


def test_an_apprentices_new_procedure_is_a_draft_only_they_and_publishers_see(app, cast,
                                                                               make_person):
    with app.app_context():
        procedure = services.create(draft(), get_person(cast["apprentice"].id), publish=True)
        assert procedure.status == ProcedureStatus.DRAFT.value
    assert as_person(app, cast["apprentice"]).get(f"/procedures/{procedure.id}").status_code == 200
    assert as_person(app, cast["mentor"]).get(f"/procedures/{procedure.id}").status_code == 200
    stranger = as_person(app, make_person())
    assert stranger.get(f"/procedures/{procedure.id}").status_code == 404
    assert "Opening the circulation desk" not in stranger.get("/procedures/").get_data(
        as_text=True)


def test_drafts_are_for_their_owner_and_publishers_in_the_service_too(app, cast, make_person):
    outsider = make_person()
    with app.app_context():
        apprentice, mentor = get_person(cast["apprentice"].id), get_person(cast["mentor"].id)
        stranger = get_person(outsider.id)
        mine = services.create(draft(title="My draft"), apprentice, publish=True)
        shelving = services.create(draft(title="Shelving"), mentor, publish=True)
        assert [p.title for p in services.listing(stranger)] == ["Shelving"]
        assert [p.title for p in services.listing(apprentice)] == ["My draft", "Shelving"]
        assert [p.title for p in services.listing(mentor)] == ["My draft", "Shelving"]
        assert [p.title for p in services.listing(mentor, containing="SHELV")] == ["Shelving"]
        assert services.listing(mentor, containing="%") == []  # a wildcard only as text
        assert permissions.may_see_procedure(stranger, shelving)
        assert not permissions.may_see_procedure(stranger, mine)
        assert permissions.may_check(apprentice, mine) and permissions.may_check(mentor, mine)
        assert not permissions.may_check(stranger, shelving)


def test_a_proposal_overtaken_by_another_save_is_not_published(app, cast):
    with app.app_context():
        mentor, apprentice = get_person(cast["mentor"].id), get_person(cast["apprentice"].id)
        procedure = services.create(draft(), mentor, publish=True)
        proposal = services.save(procedure, draft(body="Proposed.\n"), apprentice, based_on=1)
        assert services.proposals(procedure) == [proposal]
        services.save(procedure, draft(body="Meanwhile.\n"), mentor, based_on=1)
        with pytest.raises(Invalid, match="The page changed after this proposal"):
            services.accept(proposal, mentor)
        assert services.get_procedure(procedure.id).body == "Meanwhile.\n"
        assert services.proposals(procedure) == []  # overtaken: no longer waiting


def test_a_published_proposal_waits_no_more(app, cast):
    with app.app_context():
        mentor, apprentice = get_person(cast["mentor"].id), get_person(cast["apprentice"].id)
        procedure = services.create(draft(), mentor, publish=True)
        proposal = services.save(procedure, draft(body="Proposed.\n"), apprentice, based_on=1)
        services.accept(proposal, mentor)
        assert services.proposals(procedure) == []
    client = as_person(app, cast["mentor"])
    assert "waiting" not in client.get(f"/procedures/{procedure.id}").get_data(as_text=True)
    history = client.get(f"/procedures/{procedure.id}/history").get_data(as_text=True)
    assert f"/accept/{proposal.number}" not in history


def test_only_publishers_publish_and_publishing_sets_the_review_date(app, cast):
    with app.app_context():
        apprentice = get_person(cast["apprentice"].id)
        procedure = services.create(draft(), apprentice, publish=True)
        with pytest.raises(Invalid, match="Only mentors and coordinators"):
            services.set_status(procedure, ProcedureStatus.PUBLISHED, apprentice)
        assert procedure.status == ProcedureStatus.DRAFT.value
        services.set_status(procedure, ProcedureStatus.PUBLISHED, get_person(cast["mentor"].id),
                            today=date(2030, 1, 1))
        assert services.get_procedure(procedure.id).review_by == date(2030, 4, 1)  # 90 days


def test_each_save_sets_the_links_it_names(app, cast):
    with app.app_context():
        area = frameworks.load_default_framework().current_areas[0]
        first, second = area.current_competencies[:2]
        mentor = get_person(cast["mentor"].id)
        procedure = services.create(draft(competency_ids=[first.id], area_ids=[area.id]),
                                    mentor, publish=True)
        services.save(procedure, draft(competency_ids=[second.id, first.id]), mentor,
                      based_on=1)
        saved = services.get_procedure(procedure.id)
        assert sorted(link.competency_id for link in saved.competency_links) == sorted(
            [first.id, second.id])
        assert saved.area_links == []
        with pytest.raises(Invalid) as refused:
            services.save(saved, draft(competency_ids=[first.id, 2_000_000]), mentor,
                          based_on=2)
        assert set(refused.value.errors) == {"competency_ids"}


def test_restore_makes_an_old_text_current_as_a_new_revision(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        procedure = services.create(draft(), mentor, publish=True)
        services.save(procedure, draft(body="Changed.\n"), mentor, based_on=1)
        restored = services.restore(procedure, 1, mentor)
        assert restored.number == 3
        assert services.get_procedure(procedure.id).body == draft().body


def test_the_diff_shows_what_changed(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        procedure = services.create(draft(), mentor, publish=True)
        services.save(procedure, draft(body="1. Count the cash drawer.\n2. Log in to Koha.\n"),
                      mentor, based_on=1)
        old, new = (services.get_revision(procedure, n) for n in (1, 2))
        kinds = {(line.kind, line.text) for line in services.diff(old, new)}
        assert ("removed", "2. Log in to the ILS.") in kinds
        assert ("added", "2. Log in to Koha.") in kinds
    page = as_person(app, cast["mentor"]).get(
        f"/procedures/{procedure.id}/history?old=1&new=2").get_data(as_text=True)
    assert "Log in to Koha" in page


def test_past_its_review_date_it_needs_review_and_checking_moves_the_date(app, cast):
    with app.app_context():
        mentor = get_person(cast["mentor"].id)
        procedure = services.create(draft(), mentor, publish=True,
                                    today=date.today() - timedelta(days=100))
        assert services.get_procedure(procedure.id).needs_review(date.today())
        with pytest.raises(Invalid):
            services.mark_verified(procedure, get_person(cast["apprentice"].id))
        services.mark_verified(procedure, mentor)
        assert services.get_procedure(procedure.id).review_by == (
            date.today() + timedelta(days=90))


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"title": "  "}, "title"), ({"title": "t" * 201}, "title"),
     ({"body": "x" * 200_001}, "body"), ({"tags": ",".join(f"t{n}" for n in range(30))}, "tags")],
)
def test_bad_procedures_are_refused_with_the_field(app, cast, changes, field):
    with app.app_context(), pytest.raises(Invalid) as refused:
        services.create(draft(**changes), get_person(cast["mentor"].id), publish=True)
    assert field in refused.value.errors


def test_hostile_text_is_rendered_inert_on_the_page(app, cast):
    with app.app_context():
        procedure = services.create(draft(
            title="<script>alert('t')</script>",
            body="[click](javascript:alert(1))\n\n<img src=x onerror=alert(2)>"),
            get_person(cast["mentor"].id), publish=True)
    page = as_person(app, cast["apprentice"]).get(
        f"/procedures/{procedure.id}").get_data(as_text=True)
    article = page[page.index('<article class="ap-procedure">'):page.index("</article>")]
    assert problems_in(article) == []
    # The only script is the app's own file: nothing inline, nothing from the procedure.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/assets/apprentice.js" defer>']
    assert "&lt;script&gt;alert" in page  # the title is shown, as text


def test_front_matter_is_read():
    meta, body = parse_front_matter("---\ntitle: Holds\ntags: [holds, desk]\n---\n\nText.\n")
    assert meta == {"title": "Holds", "tags": ["holds", "desk"]}
    assert body.strip() == "Text."


def test_importing_a_folder_twice_updates_instead_of_duplicating(app, tmp_path, cast):
    (tmp_path / "holds.md").write_text("---\ntags: [holds]\n---\n# Placing holds\n\nSteps.\n")
    (tmp_path / "ill.html").write_text("<html><title>ILL requests</title><body><h2>Borrowing"
                                       "</h2><p>Fill the form.</p><script>x()</script></body>")
    (tmp_path / "shelving notes.txt").write_text("Shelve by call number.\n")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    with app.app_context():
        first = import_folder(tmp_path)
        assert sorted(first.created) == ["holds.md", "ill.html", "shelving notes.txt"]
        again = import_folder(tmp_path)
        assert again.created == [] and again.updated == []
        assert len(again.skipped) == 3
        (tmp_path / "holds.md").write_text("# Placing holds\n\nNew steps.\n")
        third = import_folder(tmp_path)
        assert third.updated == ["holds.md"]
    page = as_person(app, cast["apprentice"]).get("/procedures/").get_data(as_text=True)
    assert page.count("Placing holds") == 1
    assert "ILL requests" in page and "Shelving notes" in page


def test_the_demo_procedures_load_and_link_to_competencies(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["apprentice", "demo"]).exit_code == 0
    with app.app_context():
        from sqlalchemy import func, select

        from apprentice.db import db_session
        from apprentice.kb.models import Procedure, ProcedureCompetency

        assert db_session().scalar(select(func.count(Procedure.id))) >= 30
        assert db_session().scalar(select(func.count()).select_from(ProcedureCompetency)) >= 30
