"""Form pieces shared by every feature."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash
from wtforms import SelectMultipleField, widgets
from wtforms.validators import ValidationError

from apprentice.validation import Invalid

# The largest database id (a 32-bit integer): bigger numbers are not ids and would overflow.
MAX_ID = 2_147_483_647
# URL rule for a database id.
ID = f"int(max={MAX_ID})"
MAX_PAGE = 100_000


def id_number(value) -> int | None:
    """An id from a query string or form: a whole number in the database's range, or None."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


def page_number(value) -> int:
    """A page number from the query string: a whole number from 1 to MAX_PAGE."""
    try:
        return min(max(int(value), 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes (a fieldset of choices), easier on a phone than a multi-select."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Choose from the list.") from exc

    def pre_validate(self, form):
        try:
            super().pre_validate(form)
        except ValidationError as exc:
            raise ValidationError("Choose from the list.") from exc


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


def flash_invalid(exc: Invalid) -> None:
    """Show a refusal as messages at the top of the next page (for POST buttons, which
    have no form to put the message next to)."""
    for messages in exc.errors.values():
        for message in messages:
            flash(message, "error")


def act(action, success) -> bool:
    """Run a service call behind a POST button and say how it went, as a message on the
    next page: the refusal, or ``success`` (text, or a function of the result)."""
    try:
        result = action()
    except Invalid as exc:
        flash_invalid(exc)
        return False
    flash(success(result) if callable(success) else success, "success")
    return True
