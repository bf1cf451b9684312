"""Enrolment forms."""

from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import InputRequired, Optional

from apprentice.forms import Form, MultiCheckboxField, OnceForm


class EnrolForm(OnceForm, Form):
    person = SelectField("Apprentice", coerce=int, validators=[InputRequired("Choose a person.")])
    framework = SelectField("Framework", coerce=int,
                            validators=[InputRequired("Choose a framework.")])
    start_date = DateField("Start date", validators=[InputRequired("Enter the start date.")])
    target_date = DateField(
        "Target date", validators=[Optional()],
        description="Leave empty to use the time the framework allows.",
    )
    submit = SubmitField("Enrol")


class ElectivesForm(Form):
    electives = MultiCheckboxField("Elective areas", coerce=int)
    submit = SubmitField("Save electives")


class TargetDateForm(Form):
    target_date = DateField("Target date", validators=[InputRequired("Enter a date.")])
    submit = SubmitField("Change target date")
