"""Forms of the procedures wiki."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SearchField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from apprentice.forms import MultiCheckboxField
from apprentice.kb.services import MAX_BODY, MAX_SUMMARY, MAX_TITLE


class ProcedureForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give the procedure a title."),
                                             Length(max=MAX_TITLE)])
    body = TextAreaField(
        "Text (Markdown)", validators=[Length(max=MAX_BODY, message=(
            f"The text is too long (the limit is {MAX_BODY:,} characters). "
            "Split it into several procedures."))],
        description="Headings with #, lists with - or 1., tables with |, links [text](https://...).")
    tags = StringField("Tags", validators=[Optional(), Length(max=500)],
                       description="Separated by commas, e.g. circulation, holds, desk.")
    area_ids = MultiCheckboxField("Competency areas", coerce=int)
    competency_ids = MultiCheckboxField("Competencies it teaches", coerce=int)
    summary = StringField("What you changed", validators=[Optional(), Length(max=MAX_SUMMARY)])
    based_on = HiddenField()


class ProcedureFilter(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField("Find a procedure", validators=[Optional(), Length(max=200)])
