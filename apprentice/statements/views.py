"""The learning statement: read it (newest, an older revision, the history), write it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from apprentice.auth.access import requires
from apprentice.auth.services import current_staff
from apprentice.core import receipts
from apprentice.core.kept import kept_formdata, restores_kept_form
from apprentice.forms import ID, already_saved, once, saved_record
from apprentice.kb.rendering import render
from apprentice.people import services as people
from apprentice.statements import permissions, services
from apprentice.statements.forms import statement_form
from apprentice.validation import Invalid

bp = Blueprint("statements", __name__, url_prefix="/apprentices")


def _revision_url(revision_id: int) -> str | None:
    revision = services.get_revision_by_id(revision_id)
    return None if revision is None else url_for("apprentice.statements.show",
                                                 person_id=revision.person_id)


saved_record("statement", "View your learning statement", url=_revision_url)


def _person_for_reader(person_id: int):
    """The person, if the viewer may read their statement; else 404, so nobody learns
    whose statements exist."""
    person = people.get_person(person_id)
    if person is None or not permissions.may_read_statement(current_staff(), person_id):
        abort(404)
    return person


def _statement_page(person, revision):
    staff = current_staff()
    areas = permissions.areas_in_view(staff, person.id)
    history = services.history(person.id)
    # The notice of the area rule names the areas a reader sees, as the apprentice page does.
    limited_to = None if areas is None else [
        area.name for area in services.areas_to_write(person.id) if area.id in areas]
    return render_template(
        "apprentice/statements/show.html", person=person, revision=revision,
        newest_number=history[0].number if history else 0,
        sections=services.sections_in_view(revision, areas) if revision else [],
        limited=areas is not None, limited_to=limited_to, history=history, render=render,
        own=staff.id == person.id,
        may_write=permissions.may_write_statement(staff, person.id))


@bp.route(f"/<{ID}:person_id>/statement")
def show(person_id: int):
    """The statement as it stands, and every revision before it."""
    person = _person_for_reader(person_id)
    return _statement_page(person, services.newest(person.id))


@bp.route(f"/<{ID}:person_id>/statement/revisions/<int(max=1000000):number>")
def revision(person_id: int, number: int):
    """An earlier revision, as it was saved."""
    person = _person_for_reader(person_id)
    found = services.get_revision(person.id, number)
    if found is None:
        abort(404)
    return _statement_page(person, found)


@bp.route(f"/<{ID}:person_id>/statement/edit", methods=["GET", "POST"])
@restores_kept_form
@requires(permissions.may_write_statements)
def edit(person_id: int):
    """Write a new revision, starting from the newest (or the text kept across a
    sign-in). A save based on an older revision is refused, the text kept (409)."""
    staff = current_staff()
    if not permissions.may_write_statement(staff, person_id):
        abort(404)
    kept = kept_formdata()
    form = statement_form(services.areas_to_write(staff.id), formdata=kept)
    answer = once(form, staff)  # saved, Back, Save again: one revision
    if answer is not None:
        return answer
    if request.method == "GET" and kept is None:
        latest = services.newest(staff.id)
        form.based_on.data = str(latest.number if latest else 0)
        if latest is not None:
            form.overall.data = latest.overall
            texts = {s.area_id: s.body for s in latest.sections}
            for area_id, name in form.area_ids.items():
                form[name].data = texts.get(area_id, "")
    status = 200
    if form.validate_on_submit():
        try:
            saved = services.save(
                staff, services.StatementDraft(form.overall.data or "", form.area_texts()),
                staff, based_on=services.started_from(form.based_on.data),
                form_token=form.form_token.data)
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except services.NoChanges as exc:
            flash(str(exc), "info")
            return redirect(url_for("apprentice.statements.show", person_id=staff.id))
        except Invalid as exc:
            exc.attach_to(form)
            if isinstance(exc, services.StaleStatement):  # told so: "save again" may now
                form.based_on.data = str(services.newest_number(staff.id))
                status = 409
        else:
            flash(f"Saved as revision {saved.number}.", "success")
            return redirect(url_for("apprentice.statements.show", person_id=staff.id))
    words = services.count_words(form.overall.data) + sum(
        services.count_words(text) for text in form.area_texts().values())
    return render_template("apprentice/statements/edit.html", form=form, person=staff,
                           words=words, max_words=services.MAX_WORDS), status
