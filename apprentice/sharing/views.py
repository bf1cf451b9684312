"""Share links: the apprentice's list (make, revoke) and the public page a link opens."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for

from apprentice.auth.access import public, requires
from apprentice.auth.services import current_staff
from apprentice.core import receipts
from apprentice.core.kept import kept_form, kept_formdata, restores_kept_form
from apprentice.forms import ID, act, already_saved, once, saved_record
from apprentice.people import services as people
from apprentice.portfolios import services as portfolios
from apprentice.sharing import permissions, services
from apprentice.sharing.forms import ShareLinkForm
from apprentice.validation import Invalid

bp = Blueprint("sharing", __name__)


def _link_url(link_id: int) -> str | None:
    link = services.get_link_by_id(link_id)
    return None if link is None else url_for("apprentice.sharing.links",
                                             person_id=link.person_id)


saved_record("share_link", "See your share links", url=_link_url)

# On the public page: no search engine lists it, and the token in its address is never
# sent on to a site the reader follows a link to.
PUBLIC_HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer",
                  "Cache-Control": "no-store"}


def _owner(person_id: int):
    """The person whose links the viewer may list; else 404, so nobody learns whose
    links exist."""
    person = people.get_person(person_id)
    if person is None or not permissions.may_see_links(current_staff(), person_id):
        abort(404)
    return person


def _links_page(person, form: ShareLinkForm):
    staff = current_staff()
    today = date.today()
    return render_template(
        "apprentice/sharing/links.html", person=person, form=form,
        links=services.links_of(person.id), today=today,
        own=staff.id == person.id,
        may_make=permissions.may_make_link(staff, person.id),
        may_revoke=permissions.may_see_links(staff, person.id),
        latest=services.latest_expiry(today))


@bp.route(f"/apprentices/<{ID}:person_id>/sharing", methods=["GET", "POST"])
@restores_kept_form
@requires(permissions.may_open_sharing)
def links(person_id: int):
    """The apprentice's links, with the form that makes one; a coordinator sees the
    list and may revoke, not make (sharing/permissions.py)."""
    person = _owner(person_id)
    staff = current_staff()
    if request.method == "POST" and not permissions.may_make_link(staff, person.id):
        abort(403)
    form = kept_form(ShareLinkForm)
    answer = once(form, staff)  # sent twice: one link, and its token is not shown again
    if answer is not None:
        return answer
    if request.method == "GET" and kept_formdata() is None:
        form.expires_on.data = services.default_expiry()
    if form.validate_on_submit():
        try:
            made = services.create(person, label=form.label.data,
                                   expires_on=form.expires_on.data,
                                   signed_only=form.signed_only, by=staff,
                                   form_token=form.form_token.data)
        except receipts.AlreadySaved as exc:
            return already_saved(exc)
        except Invalid as exc:
            exc.attach_to(form)
        else:
            # Rendered, not redirected: the token exists only in this answer.
            return render_template(
                "apprentice/sharing/made.html", person=person, link=made.link,
                url=url_for("apprentice.sharing.shared", token=made.token, _external=True))
    return _links_page(person, form)


@bp.route(f"/apprentices/<{ID}:person_id>/sharing/<{ID}:link_id>/revoke", methods=["POST"])
@requires(permissions.may_open_sharing)
def revoke(person_id: int, link_id: int):
    """Withdraw a link for good; another person's link, or none: 404."""
    link = services.get_link(person_id, link_id)
    if link is None or not permissions.may_revoke_link(current_staff(), link):
        abort(404)
    act(lambda: services.revoke(link, current_staff()),
        f"Revoked: the link \u201c{link.label}\u201d no longer opens your portfolio."
        if current_staff().id == person_id else
        f"Revoked: the link \u201c{link.label}\u201d no longer opens the portfolio.")
    return redirect(url_for("apprentice.sharing.links", person_id=person_id))


@bp.route("/shared/<token>")
@public
def shared(token: str):
    """The portfolio a link opens, read-only, for anyone holding the link; every visit
    counted. Unknown, expired and revoked links get one plain page (404), with nothing
    of anybody's record on it.

    Rendered in a layout of its own (sharing/_public.html) that asks for no CSRF
    token, so a visitor without an account is given no session cookie."""
    link = services.open_link(token)
    if link is None:
        response = make_response(render_template("apprentice/sharing/gone.html"), 404)
    else:
        portfolio = portfolios.portfolio_of(link.person_id, signed_only=link.signed_only,
                                            entries=False)  # the document cites its own
        response = make_response(render_template(
            "apprentice/sharing/shared.html", link=link, portfolio=portfolio))
    response.headers.update(PUBLIC_HEADERS)
    return response
