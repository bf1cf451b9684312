"""The rules for frameworks: creating, importing, exporting and editing them.

Drafts are edited in place. Active frameworks are edited without destroying
anything people's evidence may point at: a new wording is a new competency
row in the same lineage, retiring hides, and every such change moves the
framework to a new version with a line in its history. Retired frameworks
are read-only.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from apprentice.competencies import permissions
from apprentice.competencies.interchange import (
    CODE_PATTERN,
    MAX_CODE,
    MAX_NAME,
    MAX_STATEMENT,
    AreaSpec,
    CompetencySpec,
    FrameworkSpec,
    RuleSpec,
    read_json,
)
from apprentice.competencies.models import (
    AreaKind,
    Competency,
    CompetencyArea,
    Framework,
    FrameworkChange,
    FrameworkStatus,
    SupervisionLevel,
)
from apprentice.core import receipts
from apprentice.db import db_session
from apprentice.people.models import StaffProfile
from apprentice.validation import Invalid, refuse_unless

DEFAULT_FRAMEWORK = "lssc.json"


# -- reading -------------------------------------------------------------------

def get_framework(framework_id: int) -> Framework | None:
    """The framework with its areas and competencies (loaded together, not area by area)."""
    return db_session().get(Framework, framework_id, options=[
        selectinload(Framework.areas).selectinload(CompetencyArea.competencies)
    ])


def list_frameworks(*, include_unpublished: bool = False) -> list[Framework]:
    """Frameworks by name, with their areas; drafts and retired ones only for those who
    manage them."""
    query = (select(Framework).options(selectinload(Framework.areas))
             .order_by(func.lower(Framework.name), Framework.id))
    if not include_unpublished:
        query = query.where(Framework.status == FrameworkStatus.ACTIVE.value)
    return list(db_session().scalars(query))


def get_area(area_id: int) -> CompetencyArea | None:
    return db_session().get(CompetencyArea, area_id)


def get_competency(competency_id: int) -> Competency | None:
    return db_session().get(Competency, competency_id)


def versions_of(competency: Competency) -> list[Competency]:
    """Every wording of a competency, oldest first."""
    return list(db_session().scalars(
        select(Competency)
        .where(Competency.framework_id == competency.framework_id,
               Competency.lineage == competency.lineage)
        .order_by(Competency.introduced_in, Competency.id)
    ))


def history(framework: Framework) -> list[FrameworkChange]:
    """The framework's changes, newest first."""
    return list(db_session().scalars(
        select(FrameworkChange)
        .where(FrameworkChange.framework_id == framework.id)
        .order_by(FrameworkChange.version.desc(), FrameworkChange.id.desc())
    ))


def changes_between(framework: Framework, old: int, new: int) -> dict[str, list]:
    """What differs between two versions: added, reworded (old, new) and retired competencies."""
    rows = list(db_session().scalars(
        select(Competency).where(Competency.framework_id == framework.id)
    ))

    def current_at(version: int) -> dict[str, Competency]:
        return {
            c.lineage: c for c in rows
            if c.introduced_in <= version and (c.retired_in is None or c.retired_in > version)
        }

    before, after = current_at(old), current_at(new)
    return {
        "added": [after[k] for k in after.keys() - before.keys()],
        "retired": [before[k] for k in before.keys() - after.keys()],
        "reworded": [
            (before[k], after[k]) for k in before.keys() & after.keys()
            if before[k].id != after[k].id
        ],
    }


# -- files -----------------------------------------------------------------------

def spec_of(framework: Framework) -> FrameworkSpec:
    """The framework as a file describes it (current wording, retired parts left out)."""
    return FrameworkSpec(
        name=framework.name,
        description=framework.description,
        version=framework.version,
        status=framework.status,
        rule=RuleSpec(
            electives_required=framework.electives_required,
            level_required=framework.level,
            area_completion_percent=framework.area_completion_percent,
            time_allowed_months=framework.time_allowed_months,
        ),
        areas=[
            AreaSpec(
                name=area.name,
                kind=AreaKind(area.kind),
                description=area.description,
                min_hours=area.min_hours,
                competencies=[CompetencySpec(c.code, c.statement)
                              for c in area.current_competencies],
            )
            for area in framework.current_areas
        ],
    )


def create_from_spec(spec: FrameworkSpec, *, by: StaffProfile | None = None,
                     note: str = "Imported") -> Framework:
    """A new framework from a checked file, all or nothing."""
    refuse_unless(permissions.may_import_framework(by), by,
                  "Only coordinators import frameworks.")
    if _name_taken(spec.name):
        raise Invalid({"name": f"A framework called {spec.name!r} exists already. "
                               "Rename it first, or change the name in the file."})
    framework = Framework(
        name=spec.name,
        description=spec.description,
        status=spec.status,
        version=spec.version,
        electives_required=spec.rule.electives_required,
        level_required=int(spec.rule.level_required),
        area_completion_percent=spec.rule.area_completion_percent,
        time_allowed_months=spec.rule.time_allowed_months,
    )
    session = db_session()
    session.add(framework)
    for position, area_spec in enumerate(spec.areas):
        area = CompetencyArea(
            name=area_spec.name, kind=area_spec.kind.value, description=area_spec.description,
            min_hours=area_spec.min_hours, position=position,
        )
        framework.areas.append(area)
        for order, competency in enumerate(area_spec.competencies):
            area.competencies.append(Competency(
                framework=framework, code=competency.code, statement=competency.statement,
                position=order, introduced_in=spec.version,
            ))
    session.flush()
    _log(framework, note, by)
    session.commit()
    return framework


@lru_cache(maxsize=1)
def _default_framework_text() -> str:
    """The shipped file, read once per process (the frameworks page asks for its name)."""
    data = resources.files("apprentice.competencies").joinpath("data", DEFAULT_FRAMEWORK)
    return data.read_text(encoding="utf-8")


def load_default_framework(*, by: StaffProfile | None = None) -> Framework:
    """The LSSC-based framework shipped with apprentice."""
    return create_from_spec(read_json(_default_framework_text()), by=by,
                            note="Loaded the default LSSC-based framework")


@lru_cache(maxsize=1)
def default_framework_name() -> str:
    return read_json(_default_framework_text()).name


# -- editing -------------------------------------------------------------------

def _name_taken(name: str, except_id: int | None = None) -> bool:
    query = select(Framework.id).where(func.lower(Framework.name) == name.strip().lower())
    if except_id is not None:
        query = query.where(Framework.id != except_id)
    return db_session().scalar(query) is not None


def _may_change(by: StaffProfile | None) -> None:
    """Asked first by every service that changes a framework (competencies.permissions)."""
    refuse_unless(permissions.may_manage_frameworks(by), by,
                  "Only coordinators change frameworks.")


def _editable(framework: Framework) -> None:
    if not permissions.framework_editable(framework):
        raise Invalid({None: "This framework is retired and can no longer be edited. "
                             "Import or create a new one instead."})


def _bump(framework: Framework, summary: str, by: StaffProfile | None) -> int:
    """Record a change. Active frameworks move to a new version; drafts do not."""
    if framework.state == FrameworkStatus.ACTIVE:
        framework.version += 1
    _log(framework, summary, by)
    return framework.version


def _log(framework: Framework, summary: str, by: StaffProfile | None) -> None:
    db_session().add(FrameworkChange(
        framework_id=framework.id, version=framework.version, summary=summary[:500],
        by_id=by.id if by else None,
    ))


def _text(value: str | None, field: str, what: str, limit: int, errors: dict,
          required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        errors[field] = f"Enter {what}."
    elif len(value) > limit:
        errors[field] = f"Keep {what} to {limit} characters or fewer."
    return value


def create_framework(name: str, description: str = "", *,
                     by: StaffProfile | None = None, form_token: str | None = None) -> Framework:
    """A new, empty draft framework with the default rule. The same form sent again
    (``form_token``, apprentice.core.receipts) raises AlreadySaved."""
    _may_change(by)
    receipts.check(form_token, by)
    errors: dict = {}
    name = _text(name, "name", "a name", MAX_NAME, errors)
    if not errors and _name_taken(name):
        errors["name"] = "Another framework already has this name."
    if errors:
        raise Invalid(errors)
    framework = Framework(name=name, description=(description or "").strip())
    db_session().add(framework)
    db_session().flush()
    _log(framework, "Created", by)
    receipts.commit(form_token, by, "framework", framework)
    return framework


MAX_ELECTIVES = 100  # what a draft's rule may ask for before its areas exist


def update_framework(framework: Framework, *, name: str, description: str,
                     electives_required: int, level_required: int,
                     area_completion_percent: int, time_allowed_months: int,
                     by: StaffProfile | None = None) -> None:
    """Change the name, description or programme rule."""
    _may_change(by)
    _editable(framework)
    errors: dict = {}
    name = _text(name, "name", "a name", MAX_NAME, errors)
    if "name" not in errors and _name_taken(name, except_id=framework.id):
        errors["name"] = "Another framework already has this name."
    electives = len(framework.current_electives)
    # A draft may ask for electives it does not have yet: areas are often added after the
    # rule, and a new draft starts at 3 with none. Publishing checks it (_publish_problems).
    most = MAX_ELECTIVES if framework.state == FrameworkStatus.DRAFT else electives
    if electives_required is None or not 0 <= electives_required <= most:
        errors["electives_required"] = (
            f"Choose a number from 0 to {most}" + (
                "." if most == MAX_ELECTIVES else
                f" (the framework has {electives} elective areas).")
        )
    if level_required not in {int(level) for level in SupervisionLevel}:
        errors["level_required"] = "Choose a supervision level from the list."
    if area_completion_percent is None or not 1 <= area_completion_percent <= 100:
        errors["area_completion_percent"] = "Enter a percentage from 1 to 100."
    if time_allowed_months is None or not 1 <= time_allowed_months <= 600:
        errors["time_allowed_months"] = "Enter a number of months from 1 to 600."
    if errors:
        raise Invalid(errors)
    changed = []
    if name != framework.name:
        changed.append(f"renamed from {framework.name!r} to {name!r}")
    rule_before = (framework.electives_required, framework.level_required,
                   framework.area_completion_percent, framework.time_allowed_months)
    rule_after = (electives_required, level_required, area_completion_percent,
                  time_allowed_months)
    if rule_before != rule_after:
        changed.append(
            f"rule: {electives_required} electives, sign-off at "
            f"'{SupervisionLevel(level_required).label}', {area_completion_percent}% of "
            f"each area, {time_allowed_months} months"
        )
    if description.strip() != framework.description:
        changed.append("description edited")
    if not changed:
        return
    framework.name = name
    framework.description = description.strip()
    framework.electives_required = electives_required
    framework.level_required = level_required
    framework.area_completion_percent = area_completion_percent
    framework.time_allowed_months = time_allowed_months
    _bump(framework, "Framework " + "; ".join(changed), by)
    db_session().commit()


def set_status(framework: Framework, status: FrameworkStatus, *,
               by: StaffProfile | None = None) -> None:
    """Publish a draft (active) or retire an active framework (hidden, kept)."""
    refuse_unless(permissions.may_set_framework_status(by), by,
                  "Only coordinators publish and retire frameworks.")
    allowed = {
        (FrameworkStatus.DRAFT, FrameworkStatus.ACTIVE),
        (FrameworkStatus.ACTIVE, FrameworkStatus.RETIRED),
    }
    if (framework.state, status) not in allowed:
        raise Invalid({None: f"A {framework.status} framework cannot become {status.value}."})
    if status == FrameworkStatus.ACTIVE:
        problems = _publish_problems(framework)
        if problems:
            raise Invalid({None: problems})
    framework.status = status.value
    _log(framework, "Published" if status == FrameworkStatus.ACTIVE else "Retired", by)
    db_session().commit()


def _publish_problems(framework: Framework) -> list[str]:
    problems = []
    areas = framework.current_areas
    if not areas:
        problems.append("Add at least one competency area before publishing.")
    for area in areas:
        if not area.current_competencies:
            problems.append(f"Area {area.name!r} has no competencies yet.")
    electives = len(framework.current_electives)
    if framework.electives_required > electives:
        problems.append(f"The rule asks for {framework.electives_required} electives but "
                        f"there are only {electives} elective areas.")
    return problems


def _area_name_taken(framework: Framework, name: str, except_id: int | None = None) -> bool:
    return any(area.name.casefold() == name.casefold() and area.id != except_id
               for area in framework.current_areas)


def save_area(framework: Framework, area: CompetencyArea | None, *, name: str,
              description: str, kind: str, min_hours: int | None,
              by: StaffProfile | None = None, form_token: str | None = None) -> CompetencyArea:
    """Add an area, or change one. An area holds no wording evidence points at,
    so it is edited in place; on an active framework the change is versioned.
    The add form sent again (``form_token``, apprentice.core.receipts) raises AlreadySaved."""
    _may_change(by)
    receipts.check(form_token, by)
    _editable(framework)
    errors: dict = {}
    name = _text(name, "name", "a name", MAX_NAME, errors)
    if "name" not in errors and _area_name_taken(framework, name, area.id if area else None):
        errors["name"] = "Another area of this framework has this name."
    if kind not in (AreaKind.REQUIRED.value, AreaKind.ELECTIVE.value):
        errors["kind"] = "Choose required or elective."
    if min_hours is not None and not 0 <= min_hours <= 10000:
        errors["min_hours"] = "Enter a number of hours from 0 to 10000, or leave it empty."
    if errors:
        raise Invalid(errors)
    description = (description or "").strip()
    if area is None:
        area = CompetencyArea(
            name=name, description=description, kind=kind, min_hours=min_hours,
            position=max((a.position for a in framework.areas), default=-1) + 1,
        )
        framework.areas.append(area)
        _bump(framework, f"Area {name!r} added", by)
    else:
        before = (area.name, area.description, area.kind, area.min_hours)
        after = (name, description, kind, min_hours)
        if before == after:
            return area
        summary = f"Area {area.name!r} edited"
        if name != area.name:
            summary = f"Area {area.name!r} renamed to {name!r}"
        if kind != area.kind:
            summary += f" (now {kind})"
        area.name, area.description, area.kind, area.min_hours = after
        _bump(framework, summary, by)
    receipts.commit(form_token, by, "area", area)
    return area


def retire_area(area: CompetencyArea, *, by: StaffProfile | None = None) -> None:
    """Hide an area and its competencies; a draft's area is simply removed."""
    _may_change(by)
    framework = area.framework
    _editable(framework)
    if framework.state == FrameworkStatus.DRAFT:
        framework.areas.remove(area)
        _log(framework, f"Area {area.name!r} removed", by)
    else:
        area.retired = True
        version = _bump(framework, f"Area {area.name!r} retired", by)
        for competency in area.current_competencies:
            competency.retired_in = version
    db_session().commit()


def move(item: CompetencyArea | Competency, step: int, *,
         by: StaffProfile | None = None) -> None:
    """Move an area or competency one place up (-1) or down (+1) among its siblings (on
    a published framework, a new version). A retired one has no place to move from:
    nothing happens."""
    _may_change(by)
    if isinstance(item, CompetencyArea):
        parent, collection, framework = item.framework, "areas", item.framework
        siblings = parent.current_areas
    else:
        parent, collection, framework = item.area, "competencies", item.area.framework
        siblings = parent.current_competencies
    _editable(framework)
    if item not in siblings:
        return
    index = siblings.index(item)
    other = index + step
    if not 0 <= other < len(siblings):
        return
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, sibling in enumerate(siblings):
        sibling.position = position
    if framework.state == FrameworkStatus.ACTIVE:
        # The order is part of what a published version shows: a new version, so the
        # copies of the old one that servers keep (programmes.shapes) are left behind.
        what = (f"Area {item.name!r}" if isinstance(item, CompetencyArea)
                else f"Competency {item.code}")
        _bump(framework, f"{what} moved {'up' if step < 0 else 'down'}", by)
    db_session().commit()
    db_session().expire(parent, [collection])  # reload in the new order


def _code_taken(framework_id: int, code: str, except_lineage: str | None = None) -> bool:
    query = select(Competency.id).where(
        Competency.framework_id == framework_id,
        Competency.retired_in.is_(None),
        func.lower(Competency.code) == code.lower(),
    )
    if except_lineage is not None:
        query = query.where(Competency.lineage != except_lineage)
    return db_session().scalar(query.limit(1)) is not None


def _check_competency(framework: Framework, code: str, statement: str,
                      except_lineage: str | None) -> tuple[str, str]:
    errors: dict = {}
    code = _text(code, "code", "a short code", MAX_CODE, errors)
    statement = _text(statement, "statement", "the statement", MAX_STATEMENT, errors)
    if "code" not in errors and not CODE_PATTERN.match(code):
        errors["code"] = "Use letters, digits, dots, dashes or underscores, e.g. ACC-07."
    if "code" not in errors and _code_taken(framework.id, code, except_lineage):
        errors["code"] = f"Another competency of this framework already has the code {code}."
    if errors:
        raise Invalid(errors)
    return code, statement


def add_competency(area: CompetencyArea, *, code: str, statement: str,
                   by: StaffProfile | None = None, form_token: str | None = None) -> Competency:
    """A new competency at the end of ``area``. The same form sent again
    (``form_token``, apprentice.core.receipts) raises AlreadySaved."""
    _may_change(by)
    receipts.check(form_token, by)
    framework = area.framework
    _editable(framework)
    if area.retired:
        raise Invalid({None: "This area is retired."})
    code, statement = _check_competency(framework, code, statement, None)
    version = _bump(framework, f"Competency {code} added to {area.name!r}", by)
    competency = Competency(
        framework=framework, code=code, statement=statement, introduced_in=version,
        position=max((c.position for c in area.competencies), default=-1) + 1,
    )
    area.competencies.append(competency)
    receipts.commit(form_token, by, "competency", competency)
    return competency


def edit_competency(competency: Competency, *, code: str, statement: str,
                    by: StaffProfile | None = None) -> Competency:
    """Change a competency's code or wording.

    On a draft, in place. On an active framework the old row is kept as it
    was (evidence points at it) and a new row in the same lineage takes its
    place; the returned competency is the current one.
    """
    _may_change(by)
    framework = competency.area.framework
    _editable(framework)
    if not competency.current:
        raise Invalid({None: "This is an older wording; edit the current one."})
    code, statement = _check_competency(framework, code, statement, competency.lineage)
    if (code, statement) == (competency.code, competency.statement):
        return competency
    if framework.state == FrameworkStatus.DRAFT:
        competency.code, competency.statement = code, statement
        _log(framework, f"Competency {code} edited", by)
        db_session().commit()
        return competency
    version = _bump(framework, f"Competency {competency.code} reworded"
                    + (f" (now {code})" if code != competency.code else ""), by)
    competency.retired_in = version
    successor = Competency(
        framework=framework, code=code, statement=statement, position=competency.position,
        lineage=competency.lineage, introduced_in=version, supersedes_id=competency.id,
    )
    competency.area.competencies.append(successor)
    db_session().commit()
    return successor


def retire_competency(competency: Competency, *, by: StaffProfile | None = None) -> None:
    """Hide a competency; a draft's is removed. Signed-off evidence keeps pointing at it."""
    _may_change(by)
    framework = competency.area.framework
    _editable(framework)
    if framework.state == FrameworkStatus.DRAFT:
        competency.area.competencies.remove(competency)
        _log(framework, f"Competency {competency.code} removed", by)
    else:
        competency.retired_in = _bump(framework, f"Competency {competency.code} retired", by)
    db_session().commit()
