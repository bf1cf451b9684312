"""Enrolment (coordinators), electives, and each person's programme with progress."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from wtforms import SelectChoice

from apprentice.auth.access import requires
from apprentice.auth.services import current_staff
from apprentice.competencies import services as frameworks
from apprentice.core import receipts
from apprentice.core.kept import kept_form, kept_formdata, restores_kept_form
from apprentice.forms import ID, act, already_saved, id_number, once, saved_record
from apprentice.people import services as people
from apprentice.programmes import permissions, services
from apprentice.programmes.forms import ElectivesForm, EnrolForm, TargetDateForm
from apprentice.programmes.models import EnrolmentStatus
from apprentice.validation import Invalid

bp = Blueprint("programmes", __name__, url_prefix="/programmes")

saved_record("enrolment", "View the programme", "apprentice.records.programme", "enrolment_id")


def enrolment_for_viewer(enrolment_id: int, allowed=permissions.may_view_enrolment):
    """The enrolment, if ``allowed`` (a predicate of programmes.permissions) lets the
    viewer at it; else 404, so nobody learns which programmes exist."""
    enrolment = services.get_enrolment(enrolment_id)
    if enrolment is None or not allowed(current_staff(), enrolment):
        abort(404)
    return enrolment


@bp.route("/enrol", methods=["GET", "POST"])
@restores_kept_form
@requires(permissions.may_enrol)
def enrol():
    form = kept_form(EnrolForm)
    answer = once(form, current_staff())
    if answer is not None:
        return answer
    form.person.choices = [SelectChoice(p.id, f"{p.name} ({p.email})")
                           for p in people.apprentices()]
    form.framework.choices = [SelectChoice(f.id, f.name) for f in frameworks.list_frameworks()]
    if request.method == "GET" and kept_formdata() is None:
        form.start_date.data = date.today()
        form.person.data = id_number(request.args.get("person"))
    if form.validate_on_submit():
        person = people.get_person(form.person.data)
        framework = frameworks.get_framework(form.framework.data)
        try:
            enrolment = services.enrol(
                person, framework, start=form.start_date.data, target=form.target_date.data,
                by=current_staff(), form_token=form.form_token.data,
            )
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash(f"{person.name} is enrolled on {framework.name}. Now choose "
                  f"{framework.electives_required} electives.", "success")
            return redirect(url_for("apprentice.programmes.electives", enrolment_id=enrolment.id))
    return render_template("apprentice/programmes/enrol.html", form=form)


@bp.route(f"/<{ID}:enrolment_id>/electives", methods=["GET", "POST"])
def electives(enrolment_id: int):
    enrolment = enrolment_for_viewer(enrolment_id, permissions.may_choose_electives)
    framework = enrolment.framework
    form = ElectivesForm()
    form.electives.choices = [SelectChoice(area.id, area.name)
                              for area in framework.current_electives]
    if request.method == "GET":
        form.electives.data = [choice.area_id for choice in enrolment.electives]
    if form.validate_on_submit():
        try:
            services.choose_electives(enrolment, form.electives.data or [], by=current_staff())
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash("Electives saved.", "success")
            return redirect(url_for("apprentice.records.programme", enrolment_id=enrolment.id))
    return render_template("apprentice/programmes/electives.html", form=form,
                           enrolment=enrolment, framework=framework)


@bp.route(f"/<{ID}:enrolment_id>/target", methods=["POST"])
@requires(permissions.may_manage_programmes)
def target(enrolment_id: int):
    enrolment = enrolment_for_viewer(enrolment_id)
    form = TargetDateForm()
    if not form.validate():
        for message in form.target_date.errors:
            flash(message, "error")
    else:
        act(lambda: services.set_target_date(enrolment, form.target_date.data,
                                             by=current_staff()), "Target date changed.")
    return redirect(url_for("apprentice.records.programme", enrolment_id=enrolment.id))


@bp.route(f"/<{ID}:enrolment_id>/finish", methods=["POST"])
@requires(permissions.may_manage_programmes)
def finish(enrolment_id: int):
    enrolment = enrolment_for_viewer(enrolment_id)
    try:
        status = EnrolmentStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    act(lambda: services.finish(enrolment, status, by=current_staff()),
        lambda _: f"Programme marked {enrolment.status}. It stays on record.")
    return redirect(url_for("apprentice.records.programme", enrolment_id=enrolment.id))
