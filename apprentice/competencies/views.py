"""The framework browser (everyone) and editor (coordinators)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from apprentice.auth.access import requires
from apprentice.auth.services import current_staff
from apprentice.competencies import interchange, permissions
from apprentice.competencies import services as frameworks
from apprentice.competencies.forms import (
    AreaForm,
    CompareForm,
    CompetencyForm,
    FrameworkForm,
    ImportForm,
    NewFrameworkForm,
)
from apprentice.competencies.models import Competency, CompetencyArea, FrameworkStatus
from apprentice.core import downloads, receipts
from apprentice.db import db_session
from apprentice.forms import ID, act, already_saved, flash_invalid, once, saved_record
from apprentice.kb.services import for_competency
from apprentice.validation import Invalid

bp = Blueprint("frameworks", __name__, url_prefix="/frameworks")


def _in_framework(model, anchor: str):
    """An area or competency is seen on its framework's page, at its own anchor."""
    def url(object_id: int) -> str | None:
        item = db_session().get(model, object_id)
        if item is None:
            return None
        return url_for("apprentice.frameworks.show",
                       framework_id=item.framework_id) + f"#{anchor}-{item.id}"
    return url


saved_record("framework", "View the framework", "apprentice.frameworks.show", "framework_id")
saved_record("area", "View the area", url=_in_framework(CompetencyArea, "area"))
saved_record("competency", "View the competency", url=_in_framework(Competency, "competency"))


def _framework_or_404(framework_id: int, allowed=permissions.may_see_framework):
    """The framework, if ``allowed`` (a predicate of competencies.permissions) lets the
    viewer at it; else 404, so drafts stay unknown to those who may not see them."""
    framework = frameworks.get_framework(framework_id)
    if framework is None or not allowed(current_staff(), framework):
        abort(404)
    return framework


def _area_or_404(area_id: int):
    area = frameworks.get_area(area_id)
    if area is None:
        abort(404)
    return area


def _competency_or_404(competency_id: int):
    competency = frameworks.get_competency(competency_id)
    if competency is None:
        abort(404)
    _framework_or_404(competency.framework_id)
    return competency


def _to_framework(framework, anchor: str | None = None):
    url = url_for("apprentice.frameworks.show", framework_id=framework.id)
    return redirect(f"{url}#{anchor}" if anchor else url)


def _move(item, framework, anchor: str):
    """Move an area or competency one place (the button says up or down)."""
    try:
        frameworks.move(item, -1 if request.form.get("step") == "up" else 1,
                        by=current_staff())
    except Invalid as exc:
        flash_invalid(exc)
    return _to_framework(framework, anchor)


@bp.route("/")
def index():
    staff = current_staff()
    listed = frameworks.list_frameworks(
        include_unpublished=permissions.may_see_unpublished(staff))
    default_name = frameworks.default_framework_name()
    return render_template(
        "apprentice/frameworks/index.html", frameworks=listed,
        may_manage=permissions.may_manage_frameworks(staff),
        can_load_default=permissions.may_import_framework(staff)
        and all(f.name != default_name for f in listed),
        default_name=default_name,
    )


@bp.route(f"/<{ID}:framework_id>")
def show(framework_id: int):
    framework = _framework_or_404(framework_id)
    return render_template(
        "apprentice/frameworks/show.html", framework=framework,
        may_edit=permissions.may_edit_framework(current_staff(), framework),
    )


@bp.route("/load-default", methods=["POST"])
@requires(permissions.may_import_framework)
def load_default():
    try:
        framework = frameworks.load_default_framework(by=current_staff())
    except Invalid as exc:
        flash_invalid(exc)
        return redirect(url_for("apprentice.frameworks.index"))
    flash(f"{framework.name} is loaded and ready for enrolments.", "success")
    return _to_framework(framework)


@bp.route("/new", methods=["GET", "POST"])
@requires(permissions.may_manage_frameworks)
def new():
    form = NewFrameworkForm()
    answer = once(form, current_staff())
    if answer is not None:
        return answer
    if form.validate_on_submit():
        try:
            framework = frameworks.create_framework(
                form.name.data, form.description.data, by=current_staff(),
                form_token=form.form_token.data,
            )
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash("Draft created. Add areas and competencies, then publish it.", "success")
            return _to_framework(framework)
    return render_template("apprentice/frameworks/new.html", form=form)


@bp.route("/import", methods=["GET", "POST"])
@requires(permissions.may_import_framework)
def import_file():
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(interchange.MAX_FILE_BYTES + 1)
        filename = upload.filename or ""
        try:
            if filename.lower().endswith(".csv"):
                name = form.name.data or Path(filename).stem.replace("_", " ").strip()
                spec = interchange.read_csv(data, name)
            else:
                spec = interchange.read_json(data)
            framework = frameworks.create_from_spec(spec, by=current_staff())
        except interchange.FileProblems as exc:
            problems = exc.problems
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash(f"{framework.name} is imported ({framework.status}).", "success")
            return _to_framework(framework)
    return render_template("apprentice/frameworks/import.html", form=form, problems=problems)


@bp.route(f"/<{ID}:framework_id>/export.<any(json, csv):fmt>")
def export(framework_id: int, fmt: str):
    framework = _framework_or_404(framework_id, permissions.may_export_framework)
    spec = frameworks.spec_of(framework)
    if fmt == "json":
        body, mimetype = interchange.write_json(spec), "application/json"
    else:
        body, mimetype = interchange.write_csv(spec), "text/csv"
    return downloads.attachment(
        body, f"framework-{framework.id}-v{framework.version}.{fmt}", mimetype)


@bp.route(f"/<{ID}:framework_id>/edit", methods=["GET", "POST"])
@requires(permissions.may_manage_frameworks)
def edit(framework_id: int):
    framework = _framework_or_404(framework_id)
    form = FrameworkForm(obj=framework)
    if form.validate_on_submit():
        try:
            frameworks.update_framework(
                framework,
                name=form.name.data, description=form.description.data or "",
                electives_required=form.electives_required.data,
                level_required=form.level_required.data,
                area_completion_percent=form.area_completion_percent.data,
                time_allowed_months=form.time_allowed_months.data,
                by=current_staff(),
            )
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash("Framework saved.", "success")
            return _to_framework(framework)
    return render_template("apprentice/frameworks/edit.html", form=form, framework=framework)


@bp.route(f"/<{ID}:framework_id>/status", methods=["POST"])
@requires(permissions.may_set_framework_status)
def set_status(framework_id: int):
    framework = _framework_or_404(framework_id)
    try:
        status = FrameworkStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    act(lambda: frameworks.set_status(framework, status, by=current_staff()),
        lambda _: f"{framework.name} is now {framework.status}.")
    return _to_framework(framework)


@bp.route(f"/<{ID}:framework_id>/areas/new", methods=["GET", "POST"])
@bp.route(f"/areas/<{ID}:area_id>/edit", methods=["GET", "POST"])
@requires(permissions.may_manage_frameworks)
def area_form(framework_id: int | None = None, area_id: int | None = None):
    area = _area_or_404(area_id) if area_id is not None else None
    framework = area.framework if area else _framework_or_404(framework_id)
    form = AreaForm(obj=area)
    answer = once(form, current_staff()) if area is None else None
    if answer is not None:
        return answer
    if form.validate_on_submit():
        try:
            area = frameworks.save_area(
                framework, area, name=form.name.data, description=form.description.data or "",
                kind=form.kind.data, min_hours=form.min_hours.data, by=current_staff(),
                form_token=form.form_token.data,
            )
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            flash(f"Area {area.name!r} saved.", "success")
            return _to_framework(framework, f"area-{area.id}")
    return render_template("apprentice/frameworks/area_form.html", form=form,
                           framework=framework, area=area)


@bp.route(f"/areas/<{ID}:area_id>/retire", methods=["POST"])
@requires(permissions.may_manage_frameworks)
def retire_area(area_id: int):
    area = _area_or_404(area_id)
    framework = area.framework
    act(lambda: frameworks.retire_area(area, by=current_staff()),
        f"Area {area.name!r} retired. Evidence recorded against it stays.")
    return _to_framework(framework)


@bp.route(f"/areas/<{ID}:area_id>/move", methods=["POST"])
@requires(permissions.may_manage_frameworks)
def move_area(area_id: int):
    area = _area_or_404(area_id)
    return _move(area, area.framework, f"area-{area.id}")


@bp.route(f"/areas/<{ID}:area_id>/competencies/new", methods=["GET", "POST"])
@bp.route(f"/competencies/<{ID}:competency_id>/edit", methods=["GET", "POST"])
@requires(permissions.may_manage_frameworks)
def competency_form(area_id: int | None = None, competency_id: int | None = None):
    competency = _competency_or_404(competency_id) if competency_id is not None else None
    area = competency.area if competency else _area_or_404(area_id)
    form = CompetencyForm(obj=competency)
    answer = once(form, current_staff()) if competency is None else None
    if answer is not None:
        return answer
    if form.validate_on_submit():
        try:
            if competency is None:
                saved = frameworks.add_competency(
                    area, code=form.code.data, statement=form.statement.data, by=current_staff(),
                    form_token=form.form_token.data,
                )
            else:
                saved = frameworks.edit_competency(
                    competency, code=form.code.data, statement=form.statement.data,
                    by=current_staff(),
                )
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            if competency is not None and saved.id != competency.id:
                flash(f"{saved.code} has a new wording (version {area.framework.version}). "
                      "Evidence already recorded keeps the old wording.", "success")
            else:
                flash(f"{saved.code} saved.", "success")
            return _to_framework(area.framework, f"area-{area.id}")
    return render_template("apprentice/frameworks/competency_form.html", form=form,
                           area=area, competency=competency)


@bp.route(f"/competencies/<{ID}:competency_id>/retire", methods=["POST"])
@requires(permissions.may_manage_frameworks)
def retire_competency(competency_id: int):
    competency = _competency_or_404(competency_id)
    area = competency.area
    act(lambda: frameworks.retire_competency(competency, by=current_staff()),
        f"{competency.code} retired.")
    return _to_framework(area.framework, f"area-{area.id}")


@bp.route(f"/competencies/<{ID}:competency_id>/move", methods=["POST"])
@requires(permissions.may_manage_frameworks)
def move_competency(competency_id: int):
    competency = _competency_or_404(competency_id)
    return _move(competency, competency.area.framework, f"area-{competency.area_id}")


@bp.route(f"/competencies/<{ID}:competency_id>")
def competency(competency_id: int):
    competency = _competency_or_404(competency_id)
    return render_template(
        "apprentice/frameworks/competency.html", competency=competency,
        versions=frameworks.versions_of(competency),
        procedures=for_competency(competency, current_staff()),
    )


@bp.route(f"/<{ID}:framework_id>/history")
def history(framework_id: int):
    framework = _framework_or_404(framework_id)
    compare = CompareForm(request.args)
    changes = None
    if compare.validate() and compare.old.data and compare.new.data:
        old, new = sorted((compare.old.data, compare.new.data))
        changes = frameworks.changes_between(framework, old, new)
    return render_template(
        "apprentice/frameworks/history.html", framework=framework,
        history=frameworks.history(framework), compare=compare, changes=changes,
    )
