"""Forms for the framework browser and the coordinator's editor."""

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from apprentice.competencies.interchange import MAX_CODE, MAX_NAME, MAX_STATEMENT
from apprentice.competencies.models import AreaKind, SupervisionLevel
from apprentice.competencies.services import MAX_ELECTIVES
from apprentice.forms import Form, OnceForm, TextLimit

LEVEL_CHOICES = [SelectChoice(int(level), level.label) for level in SupervisionLevel]
KIND_CHOICES = [
    SelectChoice(AreaKind.REQUIRED.value, "Required: everyone completes it"),
    SelectChoice(AreaKind.ELECTIVE.value, "Elective: one of the areas people choose from"),
]


class NewFrameworkForm(OnceForm, Form):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=MAX_NAME)])
    description = TextAreaField("Description", validators=[Optional(), TextLimit(5000)])
    submit = SubmitField("Create draft")


class FrameworkForm(NewFrameworkForm):
    electives_required = IntegerField(
        "Electives each person completes",
        validators=[InputRequired("Enter a number."), NumberRange(0, MAX_ELECTIVES)],
    )
    level_required = SelectField(
        "Supervision level a sign-off must reach to count", choices=LEVEL_CHOICES, coerce=int,
        validators=[InputRequired()],
    )
    area_completion_percent = IntegerField(
        "Share of an area's competencies to sign off (%)",
        validators=[InputRequired("Enter a percentage."), NumberRange(1, 100)],
    )
    time_allowed_months = IntegerField(
        "Time allowed to finish (months)",
        validators=[InputRequired("Enter a number of months."), NumberRange(1, 600)],
        description="LSSC allows four years (48 months).",
    )
    submit = SubmitField("Save")


class AreaForm(OnceForm, Form):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=MAX_NAME)])
    kind = RadioField("Type", choices=KIND_CHOICES, validators=[InputRequired("Choose a type.")])
    description = TextAreaField("What this area covers", validators=[Optional(), TextLimit(5000)])
    min_hours = IntegerField(
        "Minimum logged hours", validators=[Optional(), NumberRange(0, 10000)],
        description="Leave empty when the area has no minimum.",
    )
    submit = SubmitField("Save area")


class CompetencyForm(OnceForm, Form):
    code = StringField(
        "Code", validators=[DataRequired("Enter a short code."), Length(max=MAX_CODE)],
        description="A short, unique code such as ACC-07.",
    )
    statement = TextAreaField(
        "Statement", validators=[DataRequired("Enter the statement."), TextLimit(MAX_STATEMENT)],
        description="What the person can do, in plain words, so a mentor can see it done.",
    )
    submit = SubmitField("Save competency")


class ImportForm(Form):
    file = FileField("Framework file (.json or .csv)", validators=[FileRequired("Choose a file.")])
    name = StringField(
        "Name (CSV files only)", validators=[Optional(), Length(max=MAX_NAME)],
        description="A CSV file has no name inside it; JSON files do.",
    )
    submit = SubmitField("Import")


class CompareForm(Form):
    old = IntegerField("From version", validators=[Optional(), NumberRange(1)])
    new = IntegerField("To version", validators=[Optional(), NumberRange(1)])
