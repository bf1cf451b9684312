"""The filters above the reports (GET forms: no CSRF token). A value that is not
right gets its message next to its field and is left out of the filter; the report
is then shown without it, never a 500."""

from __future__ import annotations

from datetime import date

from wtforms import SelectChoice
from wtforms.validators import Optional, ValidationError

from apprentice.audit.forms import DayField
from apprentice.forms import ChoiceField, Form

MAX_DAYS = 3 * 366 + 7  # the longest range a report is asked for: about three years


EARLIEST = date(2000, 1, 1)  # nobody logged anything in apprentice before


def _within_the_log(day: date | None) -> None:
    if day and day > date.today():
        raise ValidationError("Choose a day up to today: nothing is logged ahead.")
    if day and day < EARLIEST:
        raise ValidationError(f"Choose a day from {EARLIEST.isoformat()} on.")


class _Range:
    """From and to: to on or after from, and not years apart."""

    def validate_until(self, field):
        if field.data and self.since.data:
            if field.data < self.since.data:
                raise ValidationError("The end date must be on or after the start date.")
            if (field.data - self.since.data).days > MAX_DAYS:
                raise ValidationError("Choose at most three years.")


def _choices(blank: str, options: list[tuple[int, str]]) -> list[SelectChoice]:
    """A select's choices: ``blank`` (no filter), then (id, name) pairs."""
    return [SelectChoice("", blank)] + [SelectChoice(str(id_), name) for id_, name in options]


class _Frameworks:
    def offer_frameworks(self, frameworks: list[tuple[int, str]]) -> None:
        self.framework.choices = _choices("All frameworks", frameworks)


class CohortFilterForm(_Range, _Frameworks, Form):
    """Active programmes, of a framework, of people paired (with a mentor) between dates."""

    framework = ChoiceField("Framework", validators=[Optional()])
    mentor = ChoiceField("Mentor", validators=[Optional()],
                         description="People paired with them.")
    since = DayField("Paired from", validators=[Optional()],
                     description="People with a pairing on or after this day.")
    until = DayField("Paired until", validators=[Optional()],
                     description="... and on or before this one.")

    def offer_mentors(self, mentors: list[tuple[int, str]]) -> None:
        self.mentor.choices = _choices("Any mentor", mentors)


class ActivityFilterForm(_Range, _Frameworks, Form):
    """The weeks shown, and the cohort's framework (for one person: their weeks)."""

    framework = ChoiceField("Framework", validators=[Optional()])
    since = DayField("From", validators=[Optional()])
    until = DayField("To", validators=[Optional()],
                     description="Up to today; twelve weeks unless you choose.")

    def validate_since(self, field):
        _within_the_log(field.data)

    def validate_until(self, field):
        _within_the_log(field.data)
        super().validate_until(field)


class HealthFilterForm(_Frameworks, Form):
    framework = ChoiceField("Framework", validators=[Optional()])
