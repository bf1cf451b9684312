"""The filter above the audit trail (a GET form: no CSRF token needed)."""

from __future__ import annotations

from wtforms import DateField, SelectChoice
from wtforms.validators import Optional, ValidationError

from apprentice.audit.describe import KINDS, OTHER
from apprentice.forms import ChoiceField, Form


class DayField(DateField):
    """A date field whose refusal of an unreadable date shows the form it wants."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a date like 2026-06-15.") from exc


class AuditFilterForm(Form):
    person = ChoiceField("Person", validators=[Optional()],
                         description="Records by them, or about them.")
    kind = ChoiceField("Kind", validators=[Optional()], choices=[
        SelectChoice("", "Everything"),
        *(SelectChoice(kind.slug, kind.label) for kind in (*KINDS, OTHER)),
    ])
    since = DayField("From (UTC)", validators=[Optional()])
    until = DayField("To (UTC)", validators=[Optional()])

    def offer_people(self, people: list[tuple[int, str, bool]]) -> None:
        """Fill the person list: (id, name, active) by name."""
        self.person.choices = [SelectChoice("", "Anyone")] + [
            SelectChoice(str(id_), name if active else f"{name} (deactivated)")
            for id_, name, active in people]

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date must be on or after the start date.")
