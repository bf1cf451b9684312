"""Enrolment forms."""

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SubmitField
from wtforms.validators import InputRequired, Optional

from apprentice.forms import MultiCheckboxField, OnceForm


class EnrolForm(OnceForm, FlaskForm):
    person = SelectField("Apprentice", coerce=int, validators=[InputRequired("Choose a person.")])
    framework = SelectField("Framework", coerce=int,
                            validators=[InputRequired("Choose a framework.")])
    start_date = DateField("Start date", validators=[InputRequired("Enter the start date.")])
    target_date = DateField(
        "Target date", validators=[Optional()],
        description="Leave empty to use the time the framework allows.",
    )
    submit = SubmitField("Enrol")


class ElectivesForm(FlaskForm):
    electives = MultiCheckboxField("Elective areas", coerce=int)
    submit = SubmitField("Save electives")


class TargetDateForm(FlaskForm):
    target_date = DateField("Target date", validators=[InputRequired("Enter a date.")])
    submit = SubmitField("Change target date")
