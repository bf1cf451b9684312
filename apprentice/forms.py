"""Form pieces shared by every feature."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, widgets
from wtforms.validators import Length, ValidationError

from apprentice.core import receipts
from apprentice.validation import Invalid

# The largest database id (a 32-bit integer): bigger numbers are not ids and would overflow.
MAX_ID = 2_147_483_647
# URL rule for a database id.
ID = f"int(max={MAX_ID})"
MAX_PAGE = 100_000


class Form(FlaskForm):
    """Every apprentice form. Its CSRF token is checked once, for every request that may
    change something, before any view runs (apprentice.web._check_csrf, which
    ``APPRENTICE_CSRF_ENABLED`` turns off), and pages put it in with the ``csrf_field``
    macro: a token of the form's own would be signed on every request and never sent."""

    class Meta:
        csrf = False


def id_number(value) -> int | None:
    """An id from a query string or form: a whole number in the database's range, or None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


def started_from(value, unknown: Invalid) -> int:
    """The version an edit form says it started from (0: none saved yet), for a save that
    refuses to overwrite a newer one. Missing or not a number: ``unknown`` is raised,
    never "unchecked", so a form cannot skip the check that someone saved meanwhile."""
    if value is not None and str(value).strip() == "0":
        return 0
    number = id_number(value)
    if number is None:
        raise unknown
    return number


def ids_from(values: Iterable, limit: int) -> list[int]:
    """The first ``limit`` ids among ``values``, once each; what is not an id is dropped
    (for lists from a query string, which only suggest)."""
    ids: dict[int, None] = {}
    for value in values:
        number = id_number(value)
        if number is not None:
            ids[number] = None
            if len(ids) == limit:
                break
    return list(ids)


def page_number(value) -> int:
    """A page number from the query string: a whole number from 1 to MAX_PAGE."""
    try:
        return min(max(int(value), 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


class _FromTheList:
    """A choice field whose refusal of a value not offered says what to do
    (``not_offered``: what to say instead of "Choose from the list.")."""

    def __init__(self, *args, not_offered: str = "Choose from the list.", **kwargs):
        super().__init__(*args, **kwargs)
        self.not_offered = not_offered

    def pre_validate(self, form):
        try:
            super().pre_validate(form)
        except ValidationError as exc:
            raise ValidationError(self.not_offered) from exc


class ChoiceField(_FromTheList, SelectField):
    """A select that says "Choose from the list." for a value it does not offer."""


class MultiCheckboxField(_FromTheList, SelectMultipleField):
    """A group of checkboxes (a fieldset of choices), easier on a phone than a multi-select."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Choose from the list.") from exc


class TextLimit(Length):
    """At most ``max`` characters, counted as a person (and the page's counter) counts them.

    Line breaks count once: browsers send them as CR LF, so they are stored as LF. Too
    long is refused with the numbers, never cut: the whole text stays in the field. The
    field macro shows the limit as a hint and a counter instead of ``maxlength``, which
    lets a browser cut pasted text without a word.
    """

    def __init__(self, max: int, message: str | None = None):  # Length names it max
        super().__init__(max=max, message=message)

    def __call__(self, form, field):
        text = field.data or ""
        if "\r" in text:
            field.data = text = text.replace("\r\n", "\n").replace("\r", "\n")
        over = len(text) - self.max
        if over > 0:
            raise ValidationError(self.message or (
                f"This is {len(text):,} characters; the limit is {self.max:,}. Shorten it by "
                f"{over:,} character{'s' if over != 1 else ''}: nothing was saved yet."))


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if target.startswith("//"):
        return None
    return target


def this_page(drop: str, **add: str) -> str:
    """This page's path and query, less the argument ``drop`` and plus ``add``: the same
    form again. Built from the request, not ``url_for``, which would read a query's
    ``_external`` or ``_scheme`` as its own."""
    args = [(name, value) for name, value in request.args.items(multi=True)
            if name != drop and name not in add]
    query = urlencode(args + list(add.items()))
    return request.script_root + request.path + (f"?{query}" if query else "")


def flash_invalid(exc: Invalid) -> None:
    """Show a refusal as messages at the top of the next page (for POST buttons, which
    have no form to put the message next to)."""
    for messages in exc.errors.values():
        for message in messages:
            flash(message, "error")


def act(action, success) -> bool:
    """Run a service call behind a POST button and say how it went, as a message on the
    next page: the refusal, or ``success`` (text, a function of the result, or None when
    the next page says it itself: :func:`redirect_saying`)."""
    try:
        result = action()
    except Invalid as exc:
        flash_invalid(exc)
        return False
    if success is not None:
        flash(success(result) if callable(success) else success, "success")
    return True


# -- what a save says on the page it leads to --------------------------------------------
# The busiest saves (a quick log, a verify, a sign-off) say how it went on the next page
# through its address, ``?said=KIND.NUMBER``, not a flashed message: nothing is written
# to the session for it (the save is answered without a new cookie), the words show in
# the tab that saved however many are open, and they are read from the record named, so
# an address someone made up says nothing untrue. Pages that such a save leads to
# include "apprentice/_said.html" in their content (a host's layout shows only flashes).

SAID = "said"
SAYINGS: dict = {}  # kind: (the page's endpoint, words(number) -> the words or None)


def saying(kind: str, endpoint: str, words) -> None:
    """Say ``words(number)`` on the page ``endpoint`` when its address says
    ``said=KIND.NUMBER`` (on any other page, nothing)."""
    SAYINGS[kind] = (endpoint, words)


def redirect_saying(location: str, kind: str, number: int):
    """A redirect to ``location`` (its #fragment kept) saying ``kind``'s words there."""
    base, mark, fragment = location.partition("#")
    joiner = "&" if "?" in base else "?"
    return redirect(f"{base}{joiner}{urlencode({SAID: f'{kind}.{number}'})}{mark}{fragment}")


def said() -> str | None:
    """The words this page's address asks for, if they hold (for apprentice/_said.html)."""
    kind, _, number = request.args.get(SAID, "").partition(".")
    endpoint, words = SAYINGS.get(kind, (None, None))
    number = id_number(number)
    if endpoint != request.endpoint or number is None:
        return None
    return words(number)


# -- one form, one record (apprentice.core.receipts) ------------------------------------

class OnceForm:
    """Mixed into a create form: a one-time token, so that sending the form twice saves
    one record. Views fill it in with ``once``; services write the receipt."""

    form_token = HiddenField()


# What each kind of receipt links to: the link's words, a function from the id to the
# address (None when the record is gone) and what to finish first (or None). Each
# feature registers its own kinds.
SAVED_RECORDS: dict = {}


def saved_record(kind: str, words: str, endpoint: str | None = None,
                 argument: str | None = None, url=None, settle=None) -> None:
    """Say where the "already saved" page links for receipts of ``kind``: ``endpoint``
    with the id as ``argument``, or ``url(object_id)`` for anything less direct.
    ``settle()``: run before answering, to finish what a first save may have left undone
    after its commit (its worker killed before the answer)."""
    if url is None:
        def url(object_id):
            return url_for(endpoint, **{argument: object_id})
    SAVED_RECORDS[kind] = (words, url, settle)


def already_saved(saved):
    """The answer to a form sent again: "already saved", a link to what the first save
    made (``saved``: a receipt, or AlreadySaved), and a way to start a new one."""
    words, url, settle = SAVED_RECORDS.get(saved.kind, (None, None, None))
    if settle is not None:
        settle()
    link = url(saved.object_id) if url and saved.object_id is not None else None
    return render_template("apprentice/already_saved.html", link=link, link_text=words,
                           again=this_page("form"))


def once(form: OnceForm, person, find=None):
    """Give ``form`` its one-time token, or answer a form ``person`` saved already.

    On a GET the token comes from the address (``?form=``, which apprentice.js keeps
    there) unless it was used, so a page fetched again by Back keeps its token; else a
    new one. A token already used by ``person``: the "already saved" page. None: go on.
    ``find(token, person)``: for records that keep their form's token themselves, one
    per person, and so have no receipt (a log entry): what ``person`` saved with it.
    """
    token = request.args.get("form") if request.method == "GET" else form.form_token.data
    if find is None:
        saved, free = receipts.look_up(token, person)
    else:
        free = receipts.well_formed(token)
        saved = find(token, person) if free and person is not None else None
    if saved is not None:
        return already_saved(saved)
    if request.method == "GET":
        form.form_token.data = token if free else receipts.new_token()
    return None
