"""The procedures wiki: read, edit (with history), propose, publish, check."""

from __future__ import annotations

from contextlib import suppress
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from wtforms import SelectChoice

from apprentice.auth.access import requires
from apprentice.auth.services import current_staff
from apprentice.competencies import services as frameworks
from apprentice.core import pagecache, receipts
from apprentice.core.answers import answers_json
from apprentice.core.kept import kept_formdata, restores_kept_form
from apprentice.core.pagecache import kept_page
from apprentice.db import db_session
from apprentice.forms import (
    ID,
    act,
    already_saved,
    id_number,
    ids_from,
    once,
    page_number,
    saved_record,
)
from apprentice.kb import glossary, importer, permissions, search, services, typeahead
from apprentice.kb.forms import GlossaryForm, ImportForm, ProcedureFilter, ProcedureForm
from apprentice.kb.models import Procedure, ProcedureRevision, ProcedureStatus, RevisionState
from apprentice.kb.rendering import render
from apprentice.training import permissions as training_permissions
from apprentice.training import services as training
from apprentice.validation import Invalid

bp = Blueprint("procedures", __name__, url_prefix="/procedures")

# How many ``?competency=`` ids a link may pre-tick on a new procedure (a query string
# only suggests; the rest are ignored).
MAX_ASKED_COMPETENCIES = 50


def _revision_url(object_id: int) -> str | None:
    revision = db_session().get(ProcedureRevision, object_id)
    return url_for("apprentice.procedures.history",
                   procedure_id=revision.procedure_id) if revision else None


saved_record("procedure", "View the procedure", "apprentice.procedures.show", "procedure_id",
             settle=services.finish_indexing)
saved_record("revision", "View the procedure's history", url=_revision_url,
             settle=services.finish_indexing)


def _procedure_or_404(procedure_id: int) -> Procedure:
    procedure = services.get_procedure(procedure_id)
    if procedure is None or not permissions.may_see_procedure(current_staff(), procedure):
        abort(404)
    return procedure


def _search_args():
    staff = current_staff()
    filters = ProcedureFilter(request.args)
    text = (filters.q.data or "") if filters.validate() else ""
    return staff, filters, {
        **permissions.search_visibility(staff),
        "page": page_number(request.args.get("page")),
        "area": (request.args.get("area") or "")[:200] or None,
        "tag": (request.args.get("tag") or "")[:60] or None,
        "sort": "recent" if request.args.get("sort") == "recent" else "relevance",
        "exact": request.args.get("exact") == "1",
    }, text


@bp.route("/")
@kept_page(extra=search.version)
def index():
    """Search (when there is a query), else every procedure the person may see."""
    staff, filters, options, text = _search_args()
    results, unavailable = None, False
    if text.strip() or options["area"] or options["tag"]:
        try:
            results = search.search(text, **options)
        except search.SearchUnavailable:
            unavailable = True
            pagecache.not_kept()  # true for a moment only
    rows = []
    if results is None:
        rows = services.listing(staff, containing=text if unavailable else "")
    return render_template("apprentice/procedures/index.html", procedures=rows,
                           results=results, unavailable=unavailable, filters=filters,
                           hit_url=_hit_url,
                           options=options, text=text, today=date.today(),
                           may_publish=permissions.may_publish(staff),
                           may_import=permissions.may_import(staff))


@bp.route(f"/<{ID}:procedure_id>")
@kept_page()
def show(procedure_id: int):
    procedure = _procedure_or_404(procedure_id)
    staff = current_staff()
    return render_template(
        "apprentice/procedures/show.html", procedure=procedure, html=render(procedure.body),
        today=date.today(), may_publish=permissions.may_publish(staff),
        may_edit=permissions.may_edit_procedure(staff, procedure),
        may_check=permissions.may_check(staff, procedure),
        proposals=services.proposals(procedure),
        times_logged=training.times_logged(procedure.id),
        # "Log practising this": only people who keep a log (apprentices) are offered it.
        may_log_practice=training_permissions.may_keep_log(staff),
    )


def _form(procedure: Procedure | None) -> ProcedureForm:
    """The procedure form with its choices; filled from a form kept across a sign-in
    (apprentice.core.kept) when the address carries its key."""
    kept = kept_formdata()
    form = ProcedureForm(obj=procedure) if kept is None else ProcedureForm(formdata=kept,
                                                                           obj=procedure)
    areas, competencies = [], []
    for framework in frameworks.list_frameworks():
        for area in framework.current_areas:
            areas.append(SelectChoice(area.id, area.name))
            competencies.extend(SelectChoice(c.id, f"{c.code} {c.statement}")
                                for c in area.current_competencies)
    form.area_ids.choices, form.competency_ids.choices = areas, competencies
    if procedure is not None and request.method == "GET" and kept is None:
        form.tags.data = ", ".join(procedure.tag_list)
        form.area_ids.data = [link.area_id for link in procedure.area_links]
        form.competency_ids.data = [link.competency_id for link in procedure.competency_links]
        form.based_on.data = str(procedure.revision_number)
    return form


def _draft(form: ProcedureForm) -> services.ProcedureDraft:
    return services.ProcedureDraft(
        title=form.title.data or "", body=form.body.data or "", tags=form.tags.data or "",
        competency_ids=form.competency_ids.data or [], area_ids=form.area_ids.data or [],
        summary=form.summary.data or "")


@bp.route("/new", methods=["GET", "POST"])
@restores_kept_form
def new():
    staff = current_staff()
    form = _form(None)
    answer = once(form, staff)
    if answer is not None:
        return answer
    if request.method == "GET" and kept_formdata() is None:
        # "Add a procedure" from a competency page suggests its competencies.
        form.competency_ids.data = ids_from(request.args.getlist("competency"),
                                            limit=MAX_ASKED_COMPETENCIES)
    if form.validate_on_submit():
        try:
            procedure = services.create(_draft(form), staff, publish=permissions.may_publish(staff),
                                        form_token=form.form_token.data)
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash("Procedure saved." if procedure.status == ProcedureStatus.PUBLISHED.value else
                  "Saved as a draft: a mentor or coordinator will publish it.", "success")
            return redirect(url_for("apprentice.procedures.show", procedure_id=procedure.id))
    return render_template("apprentice/procedures/form.html", form=form, procedure=None,
                           preview=render(form.body.data) if form.body.data else None)


@bp.route(f"/<{ID}:procedure_id>/edit", methods=["GET", "POST"])
@restores_kept_form
def edit(procedure_id: int):
    procedure = _procedure_or_404(procedure_id)
    staff = current_staff()
    form = _form(procedure)
    answer = once(form, staff)  # saved, Back, Save again: one revision
    if answer is not None:
        return answer
    status = 200
    if form.validate_on_submit():
        try:
            revision = services.save(procedure, _draft(form), staff,
                                     based_on=id_number(form.based_on.data) or 0,
                                     form_token=form.form_token.data)
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except services.EditConflict as exc:
            exc.attach_to(form)
            status = 409
        except Invalid as exc:
            exc.attach_to(form)
        else:
            if revision.state == RevisionState.PUBLISHED.value:
                flash(f"Saved as revision {revision.number}.", "success")
            else:
                flash("Your change is proposed: a mentor or coordinator will publish it.",
                      "success")
            return redirect(url_for("apprentice.procedures.show", procedure_id=procedure.id))
    return render_template("apprentice/procedures/form.html", form=form, procedure=procedure,
                           preview=render(form.body.data or "")), status


@bp.route(f"/<{ID}:procedure_id>/history")
def history(procedure_id: int):
    procedure = _procedure_or_404(procedure_id)
    revisions = services.revisions(procedure)
    old, new = id_number(request.args.get("old")), id_number(request.args.get("new"))
    comparison = None
    if old and new:
        first, second = (services.get_revision(procedure, n) for n in sorted((old, new)))
        if first is not None and second is not None:
            comparison = (first, second, services.diff(first, second))
    return render_template("apprentice/procedures/history.html", procedure=procedure,
                           revisions=revisions, comparison=comparison,
                           waiting={r.number for r in services.proposals(procedure)},
                           may_publish=permissions.may_publish(current_staff()))


@bp.route(f"/<{ID}:procedure_id>/restore/<int(max=1000000):number>", methods=["POST"])
def restore(procedure_id: int, number: int):
    procedure = _procedure_or_404(procedure_id)
    act(lambda: services.restore(procedure, number, current_staff()),
        lambda revision: f"Revision {number} is current again (as revision {revision.number})."
        if revision.state == RevisionState.PUBLISHED.value
        else f"Restoring revision {number} is proposed.")
    return redirect(url_for("apprentice.procedures.history", procedure_id=procedure.id))


@bp.route(f"/<{ID}:procedure_id>/accept/<int(max=1000000):number>", methods=["POST"])
def accept(procedure_id: int, number: int):
    procedure = _procedure_or_404(procedure_id)
    revision = services.get_revision(procedure, number)
    if revision is None:
        abort(404)
    act(lambda: services.accept(revision, current_staff()), "Proposal published.")
    return redirect(url_for("apprentice.procedures.show", procedure_id=procedure.id))


@bp.route(f"/<{ID}:procedure_id>/status", methods=["POST"])
def set_status(procedure_id: int):
    procedure = _procedure_or_404(procedure_id)
    try:
        status = ProcedureStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    act(lambda: services.set_status(procedure, status, current_staff()),
        lambda _: f"The procedure is now {procedure.status}.")
    return redirect(url_for("apprentice.procedures.show", procedure_id=procedure.id))


@bp.route(f"/<{ID}:procedure_id>/checked", methods=["POST"])
def checked(procedure_id: int):
    procedure = _procedure_or_404(procedure_id)
    act(lambda: services.mark_verified(procedure, current_staff()),
        lambda _: f"Marked as still correct; next review by {procedure.review_by.isoformat()}.")
    return redirect(url_for("apprentice.procedures.show", procedure_id=procedure.id))


api = Blueprint("api", __name__, url_prefix="/api")


def _hit_url(hit: search.Hit, section: search.SectionHit | None) -> str:
    """A result's link: the page, at the section that answers when there is one."""
    url = url_for("apprentice.procedures.show", procedure_id=hit.id)
    return f"{url}#{section.anchor}" if section and section.anchor else url


def _section_json(hit: search.Hit, section: search.SectionHit | None) -> dict | None:
    return None if section is None else {
        "heading": section.heading, "anchor": section.anchor, "url": _hit_url(hit, section)}


@api.route("/search")
@answers_json
@kept_page(extra=search.version)
def search_api():
    """The search page's results as JSON, ranked exactly as the page."""
    _staff, _filters, options, text = _search_args()
    try:
        results = search.search(text, **options, facets=False)  # the answer has none
    except search.SearchUnavailable:
        return jsonify({"error": "Search is unavailable for a moment; try again soon."}), 503
    return jsonify({
        "query": text, "total": results.total, "page": results.page,
        "results": [{
            "id": hit.id, "title": hit.title,
            "url": _hit_url(hit, hit.section),
            "section": _section_json(hit, hit.section),
            "snippet": str(hit.snippet), "score": hit.score, "areas": hit.areas,
            "tags": hit.tags,
            "more_sections": [_section_json(hit, more) for more in hit.more],
        } for hit in results.hits],
        "suggestion": results.suggestion, "note": results.note,
        "showing_results_for": results.showing_for,
    })


@api.route("/search/suggest")
@answers_json
@kept_page(extra=search.version)
def search_suggest():
    """Titles offered as a person types in a search box (apprentice.js's combobox); the
    box's form still searches in full."""
    text = request.args.get("q", "")
    found = typeahead.suggest(text, **permissions.search_visibility(current_staff()))
    return jsonify({"query": text, "suggestions": [{
        "id": suggestion.procedure_id, "title": suggestion.title,
        "heading": suggestion.heading, "url": _suggestion_url(suggestion),
    } for suggestion in found]})


def _suggestion_url(suggestion: typeahead.Suggestion) -> str:
    url = url_for("apprentice.procedures.show", procedure_id=suggestion.procedure_id)
    return f"{url}#{suggestion.anchor}" if suggestion.anchor else url


# -- the search vocabulary (glossary) ------------------------------------------------------

@bp.route("/glossary")
def glossary_page():
    """The groups of equivalent terms search uses, for everyone to read."""
    return render_template("apprentice/procedures/glossary.html",
                           groups=glossary.parse(glossary.current()), version=glossary.newest(),
                           may_edit=permissions.may_edit_glossary(current_staff()))


@bp.route("/glossary/edit", methods=["GET", "POST"])
@requires(permissions.may_edit_glossary)
def glossary_edit():
    form = GlossaryForm()
    if request.method == "GET":
        form.text.data = glossary.current()
        form.based_on.data = str(glossary.newest_id())
    ask_confirm_empty = bool(form.confirm_empty.data)
    if form.validate_on_submit():
        try:
            glossary.save(form.text.data or "", form.summary.data or "", current_staff(),
                          based_on=glossary.started_from(form.based_on.data),
                          allow_empty=bool(form.confirm_empty.data))
        except glossary.NoChanges as exc:
            flash(str(exc), "info")
            return redirect(url_for("apprentice.procedures.glossary_page"))
        except Invalid as exc:
            exc.attach_to(form)
            ask_confirm_empty |= isinstance(exc, glossary.EmptyGlossary)
            if isinstance(exc, glossary.StartNotInUse):  # told so: "save again" may now
                form.based_on.data = str(glossary.newest_id())
        else:
            flash("Saved: search uses the new vocabulary now.", "success")
            return redirect(url_for("apprentice.procedures.glossary_page"))
    return render_template("apprentice/procedures/glossary_edit.html", form=form,
                           ask_confirm_empty=ask_confirm_empty,
                           min_terms=glossary.MIN_TERMS, max_terms=glossary.MAX_TERMS,
                           max_term=glossary.MAX_TERM)


@bp.route("/glossary/history")
@requires(permissions.may_edit_glossary)
def glossary_history():
    return render_template("apprentice/procedures/glossary_history.html",
                           versions=glossary.history(),
                           shipped_in_use=glossary.current() == glossary.shipped_text())


@bp.route(f"/glossary/restore/<{ID}:version_id>", methods=["POST"])
@requires(permissions.may_edit_glossary)
def glossary_restore(version_id: int):
    act(lambda: glossary.restore(version_id, current_staff()),
        lambda version: f"Version {version_id} is in use again (as version {version.id}).")
    return redirect(url_for("apprentice.procedures.glossary_history"))


@bp.route("/glossary/reset", methods=["POST"])
@requires(permissions.may_edit_glossary)
def glossary_reset():
    act(lambda: glossary.reset(current_staff()),
        lambda version: f"The shipped list is in use again (as version {version.id}).")
    return redirect(url_for("apprentice.procedures.glossary_history"))


# -- importing uploaded files (coordinators) ------------------------------------------------

def _upload_limit() -> int:
    limit = current_app.config["APPRENTICE_MAX_UPLOAD_BYTES"]
    host_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return min(limit, host_limit) if host_limit else limit


@bp.url_value_preprocessor
def _cap_upload(endpoint: str | None, _values) -> None:
    """Cap the upload before anything reads the body: this runs before the blueprint's
    CSRF check, which reads the form. Too large: the 413 page, the rest never read."""
    if endpoint != "apprentice.procedures.import_upload":
        return
    limit = _upload_limit()
    with suppress(AttributeError):  # Flask 3.0: read-only; the length check below holds
        request.max_content_length = limit  # also stops a body sent without a length
    if (request.content_length or 0) > limit:
        abort(413, f"One upload may hold up to {importer.readable_size(limit)}. "
                   "Upload fewer files at once, or split the zip.")


@bp.route("/import", methods=["GET", "POST"])
@requires(permissions.may_import)
def import_upload():
    """Import uploaded files (or zips of them) as the import command does a folder."""
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        uploads = [(upload.filename, upload.stream) for upload in form.files.data
                   if upload and upload.filename]
        try:
            report = importer.import_uploads(uploads, current_staff(),
                                             upload_limit=_upload_limit())
        except Invalid as exc:
            exc.attach_to(form)
    return render_template("apprentice/procedures/import.html", form=form, report=report)
