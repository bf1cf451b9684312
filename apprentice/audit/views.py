"""The audit trail for coordinators: every record as a sentence, filtered and paged,
downloadable as CSV; the newest hash and a check of the whole chain."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from apprentice.audit import browse, describe, permissions, services
from apprentice.audit.forms import AuditFilterForm
from apprentice.auth.access import requires
from apprentice.auth.services import current_staff
from apprentice.core import downloads
from apprentice.forms import page_number

bp = Blueprint("audit", __name__, url_prefix="/audit")

# The pages a sentence's links lead to (all open to coordinators, who alone see the trail):
# the endpoint and the name of its id argument (None: the page takes no id).
LINK_PAGES = {
    "person": ("apprentice.people.edit", "person_id"),
    "entry": ("apprentice.training.entry", "entry_id"),
    "sign_off": ("apprentice.training.sign_off", "sign_off_id"),
    "pairing": ("apprentice.training.pairing", "pairing_id"),
    "enrolment": ("apprentice.records.programme", "enrolment_id"),
    "glossary": ("apprentice.procedures.glossary_history", None),
    "statement": ("apprentice.statements.show", "person_id"),
    "share_links": ("apprentice.sharing.links", "person_id"),
    "credentials": ("apprentice.credentials.person_credentials", "person_id"),
}


FILTER_FIELDS = ("person", "kind", "since", "until")


def link_url(link: describe.Link) -> str | None:
    """Where a sentence's link leads, or None when there is no such page."""
    endpoint, argument = LINK_PAGES.get(link.page, (None, None))
    if endpoint is None:
        return None
    if argument is None:
        return url_for(endpoint)
    return url_for(endpoint, **{argument: link.id}) if link.id is not None else None


def _filters() -> tuple[AuditFilterForm, browse.AuditFilter, dict[str, str]]:
    """The filter form from the query string; the filter of its valid values (a bad value
    gets its message next to the field and is left out); those values, for links."""
    form = AuditFilterForm(request.args)
    form.offer_people(browse.people())
    form.validate()

    def valid(field):
        return field.data if field.data and not field.errors else None

    person, kind = valid(form.person), browse.kind_from_slug(valid(form.kind))
    since, until = valid(form.since), valid(form.until)
    chosen = browse.AuditFilter(person_id=int(person) if person else None, kind=kind,
                                since=since, until=until)
    keep = {"person": person, "kind": kind.slug if kind else None,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None}
    return form, chosen, {name: value for name, value in keep.items() if value}


@bp.route("/", methods=["GET", "POST"])
@requires(permissions.may_read_audit)
def index():
    report = services.verify() if request.method == "POST" else None
    form, chosen, keep = _filters()
    per_page = current_app.config["APPRENTICE_PAGE_SIZE"]
    records, total, page, pages = browse.page_of(
        chosen, page_number(request.args.get("page")), per_page)
    return render_template(
        "apprentice/audit/index.html",
        rows=describe.describe_all(records), total=total, page=page, per_page=per_page,
        pages=pages, filters=form, narrowed=chosen.narrowed, keep=keep,
        newest=services.newest(), report=report,
        link_url=link_url, kind_label=describe.kind_label, raw_record=describe.raw,
        may_download=permissions.may_download_audit(current_staff()),
    )


@bp.route("/records.csv")
@requires(permissions.may_download_audit)
def download():
    """The filtered records as CSV, oldest first, streamed (the trail may be long)."""
    form, chosen, _keep = _filters()
    if form.errors:  # say what is wrong with the filter, rather than download something else
        asked = {name: request.args[name] for name in FILTER_FIELDS if name in request.args}
        return redirect(url_for("apprentice.audit.index", **asked))
    name = f"audit-trail-{datetime.now(UTC):%Y-%m-%d}.csv"
    return downloads.attachment(browse.csv_lines(chosen), name, "text/csv")
