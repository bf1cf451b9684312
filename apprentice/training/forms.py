"""Forms of the apprenticeship loop; choices are filled in by the views."""

from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, NumberRange, Optional

from apprentice.competencies.models import LEVEL_LABELS
from apprentice.forms import ChoiceField, Form, MultiCheckboxField, OnceForm, TextLimit, id_number
from apprentice.training.models import ACTIVITY_LABELS
from apprentice.training.services import MAX_DESCRIPTION, MAX_REFLECTION

ACTIVITY_CHOICES = [SelectChoice(int(level), label) for level, label in ACTIVITY_LABELS.items()]
LEVEL_CHOICES = [SelectChoice(int(level), label) for level, label in LEVEL_LABELS.items()]


class EntryForm(OnceForm, Form):
    occurred_on = DateField("Date", validators=[InputRequired("Enter the date.")])
    minutes = IntegerField(
        "Minutes", validators=[InputRequired("Enter how many minutes."),
                               NumberRange(1, 1440, "Between 1 minute and 24 hours (1440).")],
    )
    activity = RadioField("What you did", coerce=int, choices=ACTIVITY_CHOICES,
                          validators=[InputRequired("Choose what you did.")])
    # A pairing ended since the form was opened: the mentor is no longer offered. The
    # list may start with "Choose..." (no value: training.views._ask_for_mentor).
    mentor_id = ChoiceField("Mentor", coerce=id_number,
                            validators=[InputRequired("Choose your mentor.")],
                            not_offered="Choose one of your current mentors.")
    # The person's programme, listed by the page (training.views); the service checks
    # what is ticked, with its own message: a long programme is not checked twice.
    competency_ids = MultiCheckboxField("Competencies practised", coerce=int,
                                        validate_choice=False)
    # Offered from the ticked competencies; the service checks what may be linked.
    procedure_ids = MultiCheckboxField("Procedures you followed", coerce=int,
                                       validate_choice=False)
    description = TextAreaField(
        "What happened", validators=[InputRequired("Write a few words about what happened."),
                                     TextLimit(MAX_DESCRIPTION)],
        description="A sentence or two is enough.",
    )
    reflection = TextAreaField(
        "Reflection", validators=[Optional(), TextLimit(MAX_REFLECTION)],
        description="What you learned, what you would do differently.",
    )
    submit = SubmitField("Submit for review")
    save_draft = SubmitField("Save as draft")
    suggest = SubmitField("Suggest procedures")


class ReturnForm(Form):
    comment = TextAreaField("What to fix", validators=[
        InputRequired("Say what to fix, so the apprentice knows."), TextLimit(MAX_DESCRIPTION)])
    submit = SubmitField("Return to the apprentice")


class ReasonForm(Form):
    reason = TextAreaField("Reason (kept in the record)", validators=[
        InputRequired("Write the reason; it is kept."), TextLimit(MAX_DESCRIPTION)])
    submit = SubmitField("Confirm")


class SignOffForm(OnceForm, Form):
    # No level is chosen in advance: the mentor says what they saw.
    level = RadioField("Supervision level", coerce=int, choices=LEVEL_CHOICES,
                       validators=[InputRequired("Choose a level.")])
    # Shown when the level is above every cited entry; its label names person and level.
    confirm_above_evidence = BooleanField("I saw it myself at this level")
    # Listed from their verified entries; the service checks what is ticked (a value that
    # is no id is nobody's entry: its message says so).
    entry_ids = MultiCheckboxField("Evidence: verified log entries", coerce=id_number,
                                   validate_choice=False)
    comment = TextAreaField("Comment", validators=[Optional(), TextLimit(MAX_DESCRIPTION)])
    password = PasswordField(
        "Your password", description="Signing off is a record of someone's qualification: "
        "confirm it is you.", render_kw={"autocomplete": "current-password"})
    submit = SubmitField("Sign off")


class ChangePairingForm(Form):
    """What can change in a pairing: its end and its areas."""

    ends_on = DateField("Until", validators=[Optional()],
                        description="Leave empty while the pairing lasts; a date ends it.")
    area_ids = MultiCheckboxField("Areas", coerce=int,
                                  description="None ticked: the mentor helps in every area.")
    submit = SubmitField("Save pairing")


class PairingForm(OnceForm, ChangePairingForm):
    apprentice_id = SelectField("Apprentice", coerce=int,
                                validators=[InputRequired("Choose the apprentice.")])
    mentor_id = SelectField("Mentor", coerce=int, validators=[InputRequired("Choose a mentor.")])
    starts_on = DateField("From", validators=[InputRequired("Enter the start date.")])


class MentorAreaFilter(Form):
    area = SelectField("Suggest mentors for", coerce=int, validators=[Optional()])
