"""The daily loop: the quick log, the mentor's review queue, sign-offs, pairings."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from wtforms import SelectChoice

from apprentice.auth.access import requires
from apprentice.auth.identity import confirm_identity, recently_confirmed
from apprentice.auth.services import current_staff, current_viewer
from apprentice.competencies import services as frameworks
from apprentice.competencies.models import SupervisionLevel
from apprentice.core import receipts
from apprentice.core.answers import answers_json
from apprentice.core.kept import kept_form, kept_formdata, restores_kept_form
from apprentice.core.pagecache import kept_page
from apprentice.core.paging import page_and_pages
from apprentice.db import reads_first
from apprentice.formatting import duration
from apprentice.forms import (
    ID,
    act,
    already_saved,
    id_number,
    once,
    page_number,
    redirect_saying,
    saved_record,
    saying,
)
from apprentice.people import services as people
from apprentice.people.kept import kept_person
from apprentice.programmes import services as programmes
from apprentice.training import paired, permissions, services, standing
from apprentice.training.forms import (
    ChangePairingForm,
    EntryForm,
    MentorAreaFilter,
    PairingForm,
    ReasonForm,
    ReturnForm,
    SignOffForm,
)
from apprentice.training.models import EntryState
from apprentice.validation import Invalid

bp = Blueprint("training", __name__)

saved_record("log_entry", "View the entry", "apprentice.training.entry", "entry_id")
saved_record("sign_off", "View the sign-off", "apprentice.training.sign_off", "sign_off_id")
saved_record("pairing", "View the pairing", "apprentice.training.pairing", "pairing_id")


def _entry_said(entry_id: int) -> str | None:
    """After the log form: what became of the viewer's entry (nothing for another's)."""
    entry, viewer = services.get_entry(entry_id), current_viewer()
    if entry is None or viewer is None or entry.person_id != viewer.id:
        return None
    return {EntryState.SUBMITTED.value: "Sent to your mentor for review.",
            EntryState.DRAFT.value: "Draft saved."}.get(entry.state)


def _verified_said(entry_id: int) -> str | None:
    """After verifying: how many entries the viewer verified with this one."""
    entry, viewer = services.get_entry(entry_id), current_viewer()
    if (entry is None or viewer is None or entry.state != EntryState.VERIFIED.value
            or entry.verified_by_id != viewer.id):
        return None
    count = services.verified_together(entry)
    return f"{count} entr{'y' if count == 1 else 'ies'} verified."


def _sign_off_said(sign_off_id: int) -> str | None:
    """After the sign-off form: the viewer's own sign-off, named, while it stands."""
    signed, viewer = services.get_sign_off(sign_off_id), current_viewer()
    if (signed is None or viewer is None or signed.signed_by_id != viewer.id
            or signed.revocation is not None):
        return None
    return f"{signed.competency.code} signed off for {signed.person.name}."


saying("entry", "apprentice.training.log", _entry_said)
saying("verified", "apprentice.training.review", _verified_said)
saying("sign_off", "apprentice.records.apprentice", _sign_off_said)


def _entry_for_viewer(entry_id: int):
    """The entry, if the viewer logged it, coordinates, or mentors it (drafts stay private)."""
    entry = services.get_entry(entry_id)
    if entry is None or not permissions.may_view_entry(current_staff(), entry):
        abort(404)
    return entry


# -- the apprentice's log ------------------------------------------------------------

@bp.route("/log/")
@requires(permissions.may_keep_log)
def log():
    staff = current_staff()
    entries = services.entries_of(staff.id)
    order = [EntryState.RETURNED, EntryState.DRAFT, EntryState.SUBMITTED, EntryState.VERIFIED]
    grouped = {state: [e for e in entries if e.state == state.value] for state in order}
    return render_template("apprentice/training/log.html", grouped=grouped)


def _entry_form(staff, entry=None, formdata=None) -> EntryForm:
    """The log form with its mentors; ``formdata``: a form kept across a sign-in."""
    form = EntryForm(obj=entry) if formdata is None else EntryForm(formdata=formdata, obj=entry)
    today = date.today()
    mentors = {p.mentor_id: p.mentor.name for p in paired.of_apprentice(staff.id)
               if p.current_on(today)}
    if entry is not None and entry.mentor is not None:
        mentors[entry.mentor.id] = entry.mentor.name
    form.mentor_id.choices = [SelectChoice(mentor_id, name) for mentor_id, name
                              in sorted(mentors.items(), key=lambda item: item[1])]
    # Listed by the page itself (recent ones first); the service checks what is ticked.
    form.programme_competencies = programmes.programme_competencies(staff.id)
    return form


@bp.route("/log/new", methods=["GET", "POST"])
@restores_kept_form
@requires(permissions.may_keep_log)
@reads_first  # its service takes the write turn
def new_entry():
    staff = current_viewer()  # its id is all the form needs: the profile is not read
    kept = kept_formdata()
    form = _entry_form(staff, formdata=kept)
    if request.method == "GET" and kept is None:
        # Nothing is ticked or chosen for the person: what they did is their claim.
        # Only today's date, an hour (the most common length) and the last mentor are
        # filled in.
        form.occurred_on.data = date.today()
        form.minutes.data = 60
        last_mentor = services.last_mentor(staff.id)
        offered = {choice.value for choice in form.mentor_id.choices}
        if last_mentor in offered:
            form.mentor_id.data = last_mentor
        # "Log practising this" on a procedure page: the person chose these by clicking.
        form.competency_ids.data = services.ids_from(request.args.getlist("competency"),
                                                     limit=services.MAX_COMPETENCIES_PER_ENTRY)
        form.procedure_ids.data = services.ids_from(request.args.getlist("procedure"),
                                                    limit=services.MAX_PROCEDURES_PER_ENTRY)
    if request.method == "GET":  # a POST sent again is the service's to answer (drafts)
        answer = once(form, staff, find=services.entry_saved_with)
        if answer is not None:
            return answer
    return _save_entry(form, staff, entry=None)


@bp.route(f"/log/<{ID}:entry_id>", methods=["GET", "POST"])
@restores_kept_form
def entry(entry_id: int):
    entry = _entry_for_viewer(entry_id)
    staff = current_staff()
    if entry.person_id != staff.id or not entry.editable:
        status = 200
        if request.method == "POST":
            flash("This entry was sent for review or verified meanwhile (another tab?): your "
                  "changes were not saved. It is shown as it is now.", "error")
            status = 409
        return _entry_page(entry, staff, status=status)
    kept = kept_formdata()
    form = _entry_form(staff, entry, formdata=kept)
    if request.method == "GET" and kept is None:
        form.competency_ids.data = [link.competency_id for link in entry.competency_links]
        form.procedure_ids.data = [link.procedure_id for link in entry.procedure_links]
    return _save_entry(form, staff, entry=entry)


def _entry_page(entry, staff, *, status: int = 200, return_form: ReturnForm | None = None,
                reason_form: ReasonForm | None = None):
    """An entry as its reader sees it, with the mentor's and the coordinator's forms (a
    refused one shown again with its message and the text as typed)."""
    # Read once: each sign-off listed asks of them too (not one query per sign-off).
    viewer_pairings = permissions.pairings_between(staff.id, entry.person_id)
    return render_template(
        "apprentice/training/entry.html", entry=entry,
        may_review=entry.state == EntryState.SUBMITTED.value
        and permissions.may_review(staff, entry, mentor_pairings=viewer_pairings),
        may_unlock=entry.state == EntryState.VERIFIED.value
        and permissions.may_unlock(staff, entry),
        return_form=return_form or ReturnForm(), reason_form=reason_form or ReasonForm(),
        sign_offs=[s for s in standing.standing_sign_offs_citing(entry.id)
                   if permissions.may_view_sign_off(staff, s, mentor_pairings=viewer_pairings)],
    ), status


def _offer_procedures(form: EntryForm, staff, entry) -> None:
    """Fill the procedures fieldset from the competencies and procedures ticked on the form."""
    offered = services.procedure_choices(staff, form.competency_ids.data or [],
                                         form.procedure_ids.data or [], entry)
    form.procedure_ids.choices = [SelectChoice(p.id, p.title) for p in offered]
    form.procedure_options = offered


def _save_entry(form: EntryForm, staff, entry):
    if request.method == "POST" and form.suggest.data:
        pass  # "Suggest procedures" without script: show the form again, nothing saved
    elif form.validate_on_submit():
        submit = not form.save_draft.data
        try:
            saved = services.save_entry(
                staff,
                services.EntryDetails(
                    occurred_on=form.occurred_on.data, minutes=form.minutes.data,
                    activity=form.activity.data, mentor_id=form.mentor_id.data,
                    competency_ids=form.competency_ids.data or [],
                    description=form.description.data or "",
                    reflection=form.reflection.data or "",
                    procedure_ids=form.procedure_ids.data or [],
                ),
                entry=entry, submit=submit, form_token=form.form_token.data or None,
            )
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            return redirect_saying(url_for("apprentice.training.log") + f"#entry-{saved.id}",
                                   "entry", saved.id)
    _offer_procedures(form, staff, entry)
    _ask_for_mentor(form)
    first, rest = _competencies_in_order(form, services.recent_competencies(staff.id))
    return render_template("apprentice/training/entry_form.html", form=form, entry=entry,
                           first_competencies=first, other_competencies=rest)


def _ask_for_mentor(form: EntryForm) -> None:
    """Who they worked with is their claim, never the first name in a list: with one
    current mentor and none chosen yet, that one; else, when none of those offered is
    chosen (none yet, or the one sent is no longer paired), the list starts at a
    "Choose" that cannot be sent, so a form sent again names someone they picked."""
    offered = [choice.value for choice in form.mentor_id.choices]
    if not offered or form.mentor_id.data in offered:
        return
    if len(offered) == 1 and request.method == "GET":
        form.mentor_id.data = offered[0]
    else:
        form.mentor_id.data = None
        form.mentor_id.choices = [
            SelectChoice("", "Choose the mentor you worked with", render_kw={"disabled": True}),
            *form.mentor_id.choices]


def _competencies_in_order(form: EntryForm, recent: list[int]):
    """The form's competencies as two lists: those ticked or practised lately (ticked
    first, then the most recent), and the rest in the programme's order."""
    ticked = set(form.competency_ids.data or [])
    by_id = {c.id: c for c in form.programme_competencies}
    first = [c for c in form.programme_competencies if c.id in ticked]
    first += [by_id[i] for i in recent if i in by_id and i not in ticked]
    shown = {c.id for c in first}
    return first, [c for c in form.programme_competencies if c.id not in shown]


@bp.route("/log/procedure-suggestions")
@answers_json
def procedure_suggestions():
    """The log form's procedure suggestions for ``?competency=`` ids, as JSON: its script
    asks again whenever the ticked competencies change."""
    procedures = services.suggest_procedures(request.args.getlist("competency"))
    return jsonify({"procedures": [
        {"id": p.id, "title": p.title,
         "url": url_for("apprentice.procedures.show", procedure_id=p.id)}
        for p in procedures]})


@bp.route(f"/log/<{ID}:entry_id>/delete", methods=["POST"])
@requires(permissions.may_keep_log)
def delete_entry(entry_id: int):
    entry = _entry_for_viewer(entry_id)
    act(lambda: services.delete_draft(entry, current_staff()), "Draft deleted.")
    return redirect(url_for("apprentice.training.log"))


@bp.route(f"/log/<{ID}:entry_id>/unlock", methods=["POST"])
@requires(permissions.may_unlock_entries)
def unlock_entry(entry_id: int):
    entry = _entry_for_viewer(entry_id)
    form = ReasonForm()
    if not form.validate():  # empty or too long: said next to the box, the text kept
        return _entry_page(entry, current_staff(), reason_form=form)
    act(lambda: services.unlock_entry(entry, current_staff(), form.reason.data),
        "Entry unlocked: the apprentice can change it again.")
    return redirect(url_for("apprentice.training.entry", entry_id=entry.id))


# -- the mentor's review ----------------------------------------------------------------

@bp.route("/review/")
@requires(permissions.may_review_entries)
@kept_page()
def review():
    """The queue a page at a time, oldest first (a backlog of thousands is one page)."""
    mentor, size = current_staff(), services.REVIEW_PAGE_SIZE
    waiting = services.waiting_for(mentor)
    page, pages = page_and_pages(len(waiting), size, page_number(request.args.get("page")))
    return render_template("apprentice/training/review.html",
                           queue=services.review_queue(
                               mentor, waiting=waiting[(page - 1) * size:page * size]),
                           waiting=len(waiting), page=page, pages=pages, today=date.today(),
                           return_form=ReturnForm())


@bp.route("/review/verify", methods=["POST"])
@requires(permissions.may_review_entries)
@reads_first  # its service takes the write turn
def verify():
    raw = request.form.getlist("entry_id")
    if not raw:
        flash("Tick the entries to verify.", "error")
        return redirect(url_for("apprentice.training.review"))
    ids = [id_number(value) for value in raw]  # one that is no id is refused by the service
    if not act(lambda: services.verify_entries(ids, current_viewer()), None):  # all or none
        return redirect(url_for("apprentice.training.review"))
    return redirect_saying(url_for("apprentice.training.review"), "verified", ids[0])


@bp.route(f"/review/<{ID}:entry_id>/return", methods=["POST"])
@requires(permissions.may_review_entries)
def return_entry(entry_id: int):
    entry = _entry_for_viewer(entry_id)
    form = ReturnForm()
    if not form.validate():  # empty or too long: said next to the box, the text kept
        return _entry_page(entry, current_staff(), return_form=form)
    if act(lambda: services.return_entry(entry, current_staff(), form.comment.data or ""),
           f"Returned to {entry.person.name} with your comment."):
        return redirect(url_for("apprentice.training.review"))
    return redirect(url_for("apprentice.training.entry", entry_id=entry.id))


# -- an apprentice seen by a mentor, and sign-offs -----------------------------------------

@bp.route("/sign-offs/new", methods=["GET", "POST"])
@restores_kept_form
@requires(permissions.may_see_apprentices)
@reads_first  # its service takes the write turn
def new_sign_off():
    staff = current_viewer()  # its id and roles are all the form asks of the signer
    person_id, competency_id, corrects_id = (
        id_number(request.args.get(name)) for name in ("person", "competency", "corrects"))
    person = kept_person(person_id) if person_id else None
    # As their programme has it (kept); one outside it is read (the service refuses it).
    competency = ((programmes.in_programme(person.id, competency_id)
                   or frameworks.get_competency(competency_id))
                  if competency_id and person is not None else None)
    corrects = services.get_sign_off(corrects_id) if corrects_id else None
    if corrects is not None:
        # The current wording of the corrected competency, if still in the programme.
        person = corrects.person
        competency = next((c for c in programmes.programme_competencies(corrects.person_id)
                           if c.lineage == corrects.lineage), corrects.competency)
        allowed = permissions.may_correct(staff, corrects)
    else:
        allowed = person is not None and competency is not None and permissions.may_sign_off(
            staff, person.id, competency.area_id, date.today())
    if person is None or competency is None or not allowed or person.id == staff.id:
        abort(404)
    form = kept_form(SignOffForm)
    if request.method == "GET":  # a form sent again is the service's to answer (signed once)
        answer = once(form, staff)
        if answer is not None:
            return answer
    # The evidence ticked is the service's to check (under the write lock, with its own
    # message): a form sent reads no list of years of entries before it is saved.
    if form.validate_on_submit():
        problem = confirm_identity(form.password.data)
        if problem:
            form.password.errors = [*form.password.errors, problem]
        else:
            try:
                signed = services.sign_off(
                    staff, person, competency, level=form.level.data,
                    entry_ids=form.entry_ids.data or [], comment=form.comment.data or "",
                    corrects=corrects, confirm_above_evidence=form.confirm_above_evidence.data,
                    form_token=form.form_token.data)
            except receipts.AlreadySaved as exc:
                return already_saved(exc)
            except Invalid as exc:
                exc.attach_to(form)
            else:
                return redirect_saying(url_for("apprentice.records.apprentice",
                                               person_id=person.id), "sign_off", signed.id)
    candidates = services.entries_of(person.id, states=[EntryState.VERIFIED.value],
                                     lineage=competency.lineage, links=False)
    form.entry_ids.choices = [
        SelectChoice(e.id, f"{e.occurred_on.isoformat()} · {e.activity_label} · "
                           f"{duration(e.minutes)} · {e.description[:80]}")
        for e in candidates
    ]
    if request.method == "GET" and kept_formdata() is None:
        form.entry_ids.data = [e.id for e in candidates]
    # A level above every ticked entry: the mentor confirms they saw it (a checkbox).
    above = _above_cited(form, candidates) if request.method == "POST" else None
    if above is not None:
        form.confirm_above_evidence.label.text = (
            f"I saw {person.name} do this myself at '{above.label.lower()}'.")
    return render_template("apprentice/training/sign_off_form.html", form=form, person=person,
                           competency=competency, corrects=corrects, candidates=candidates,
                           reached=services.entries_reaching(candidates),
                           above_evidence=above is not None, today=date.today(),
                           confirmed=recently_confirmed())


def _above_cited(form: SignOffForm, candidates) -> SupervisionLevel | None:
    """The chosen level, when it is above every entry ticked on the form."""
    try:
        level = SupervisionLevel(form.level.data)
    except ValueError:
        return None
    ticked = set(form.entry_ids.data or [])
    cited = [e for e in candidates if e.id in ticked]
    return level if services.highest_cited(level, cited) is not None else None


@bp.route(f"/sign-offs/<{ID}:sign_off_id>", methods=["GET", "POST"])
def sign_off(sign_off_id: int):
    record = services.get_sign_off(sign_off_id)
    staff = current_staff()
    if record is None or not permissions.may_view_sign_off(staff, record):
        abort(404)
    form = ReasonForm()
    may_revoke = permissions.may_revoke(staff, record)
    if may_revoke and form.validate_on_submit():
        try:
            services.revoke(record, staff, form.reason.data)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash("Sign-off revoked. It stays on record with your reason.", "success")
            return redirect(url_for("apprentice.training.sign_off", sign_off_id=record.id))
    return render_template("apprentice/training/sign_off.html", record=record, form=form,
                           may_revoke=may_revoke,
                           may_correct=permissions.may_correct(staff, record))


# -- pairings (coordinators) ------------------------------------------------------------------

def _area_choices() -> list[SelectChoice]:
    return [SelectChoice(area.id, area.name)
            for framework in frameworks.list_frameworks()
            for area in framework.current_areas]


@bp.route("/pairings/", methods=["GET", "POST"])
@restores_kept_form
@requires(permissions.may_manage_pairings)
def pairings():
    form = kept_form(PairingForm)
    answer = once(form, current_staff())
    if answer is not None:
        return answer
    form.apprentice_id.choices = [SelectChoice(p.id, p.name) for p in people.apprentices()]
    suggestions = services.suggest_mentors()
    form.mentor_id.choices = [SelectChoice(s.mentor.id, f"{s.mentor.name} · {s.load} paired"
                                           f" · {s.experience} sign-offs")
                              for s in suggestions]
    form.area_ids.choices = _area_choices()
    filters = MentorAreaFilter(request.args)
    filters.area.choices = [SelectChoice(0, "Any area"), *form.area_ids.choices]
    area = filters.area.data if filters.validate() and filters.area.data else None
    if request.method == "GET" and kept_formdata() is None:
        form.starts_on.data = date.today()
        form.apprentice_id.data = request.args.get("apprentice", type=int)
    if form.validate_on_submit():
        try:
            services.create_pairing(
                people.get_person(form.apprentice_id.data), people.get_person(form.mentor_id.data),
                starts_on=form.starts_on.data, ends_on=form.ends_on.data,
                area_ids=form.area_ids.data or [], by=current_staff(),
                form_token=form.form_token.data,
            )
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash("Pairing saved.", "success")
            return redirect(url_for("apprentice.training.pairings"))
    return render_template(
        "apprentice/training/pairings.html", form=form, filters=filters,
        suggestions=suggestions if area is None else services.suggest_mentors(area),
        rows=services.pairings(),
        today=date.today(),
    )


@bp.route(f"/pairings/<{ID}:pairing_id>", methods=["GET", "POST"])
@requires(permissions.may_manage_pairings)
def pairing(pairing_id: int):
    pairing = services.get_pairing(pairing_id)
    if pairing is None:
        abort(404)
    form = ChangePairingForm(obj=pairing)
    form.area_ids.choices = _area_choices()
    if request.method == "GET":
        form.area_ids.data = sorted(pairing.area_ids)
    if form.validate_on_submit():
        try:
            services.change_pairing(pairing, ends_on=form.ends_on.data,
                                    area_ids=form.area_ids.data or [], by=current_staff())
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash("Pairing saved.", "success")
            return redirect(url_for("apprentice.training.pairings"))
    return render_template("apprentice/training/pairing.html", form=form, pairing=pairing)
