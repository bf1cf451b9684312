"""Coordinators add people, give and take roles, deactivate and reactivate."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from apprentice.auth.access import requires
from apprentice.auth.services import current_staff, keep_this_session, local_sign_in
from apprentice.core import receipts
from apprentice.core.kept import kept_form, kept_formdata, restores_kept_form
from apprentice.forms import ID, act, already_saved, once, page_number, saved_record
from apprentice.people import permissions, services
from apprentice.people.forms import EditPersonForm, NewPersonForm, PeopleFilterForm
from apprentice.people.models import Role
from apprentice.validation import Invalid

bp = Blueprint("people", __name__, url_prefix="/people")

saved_record("person", "View the person", "apprentice.people.edit", "person_id")


def _details(form) -> services.PersonDetails:
    return services.PersonDetails(
        name=form.name.data,
        email=form.email.data,
        job_title=form.job_title.data,
        branch=form.branch.data,
        roles=form.roles.data or [],
    )


def _person_or_404(person_id: int):
    person = services.get_person(person_id)
    if person is None:
        abort(404)
    return person


@bp.route("/")
@requires(permissions.may_manage_people)
def index():
    filters = PeopleFilterForm(request.args)
    filters.validate()  # a bad value shows its message and is left out of the filter
    page = page_number(request.args.get("page"))
    per_page = current_app.config["APPRENTICE_PAGE_SIZE"]
    people, total = services.list_people(
        text="" if filters.q.errors else (filters.q.data or ""),
        role=None if filters.role.errors or not filters.role.data else Role(filters.role.data),
        include_inactive=filters.inactive.data == "1",
        page=page,
        per_page=per_page,
    )
    return render_template(
        "apprentice/people/index.html",
        people=people, total=total, page=page, per_page=per_page,
        filters=filters,
    )


@bp.route("/new", methods=["GET", "POST"])
@restores_kept_form
@requires(permissions.may_manage_people)
def new():
    form = kept_form(NewPersonForm)
    if not local_sign_in():
        del form.password
    answer = once(form, current_staff())
    if answer is not None:
        return answer
    if request.method == "GET" and kept_formdata() is None:
        form.roles.data = [Role.APPRENTICE.value]
    if form.validate_on_submit():
        try:
            person = services.create_person(
                _details(form),
                password=form.password.data if local_sign_in() else None,
                by=current_staff(), form_token=form.form_token.data,
            )
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash(f"{person.name} is added.", "success")
            return redirect(url_for("apprentice.people.index"))
    return render_template("apprentice/people/form.html", form=form, person=None)


@bp.route(f"/<{ID}:person_id>/edit", methods=["GET", "POST"])
@requires(permissions.may_manage_people)
def edit(person_id: int):
    person = _person_or_404(person_id)
    form = EditPersonForm(obj=person)
    if not local_sign_in():
        del form.temporary_password
    if request.method == "GET":
        form.roles.data = sorted(role.value for role in person.roles)
    if form.validate_on_submit():
        try:
            services.update_person(
                person,
                _details(form),
                temporary_password=form.temporary_password.data if local_sign_in() else None,
                by=current_staff(),
            )
        except Invalid as exc:
            exc.attach_to(form)
        else:
            if person.id == current_staff().id:
                keep_this_session(person)  # taking a role from oneself ends one's other sessions
            flash(f"{person.name}'s details are saved.", "success")
            return redirect(url_for("apprentice.people.index"))
    return render_template(
        "apprentice/people/form.html", form=form, person=person,
        may_set_active=permissions.may_set_active(current_staff(), person, not person.active),
    )


@bp.route(f"/<{ID}:person_id>/active", methods=["POST"])
@requires(permissions.may_manage_people)
def set_active(person_id: int):
    person = _person_or_404(person_id)
    if request.form.get("active") not in ("0", "1"):
        abort(400)
    activate = request.form["active"] == "1"
    act(lambda: services.set_active(person, activate, by=current_staff()),
        f"{person.name} is active again and can sign in." if activate
        else f"{person.name} is deactivated. Everything they logged stays.")
    return redirect(url_for("apprentice.people.edit", person_id=person.id))
