"""Forms of the procedures wiki."""

from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import BooleanField, HiddenField, SearchField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from apprentice.forms import Form, MultiCheckboxField, OnceForm, TextLimit
from apprentice.kb import glossary
from apprentice.kb.importer import UPLOAD_SUFFIXES
from apprentice.kb.services import MAX_BODY, MAX_SUMMARY, MAX_TITLE


class ProcedureForm(OnceForm, Form):
    title = StringField("Title", validators=[DataRequired("Give the procedure a title."),
                                             Length(max=MAX_TITLE)])
    body = TextAreaField(
        "Text (Markdown)", validators=[TextLimit(MAX_BODY, message=(
            f"The text is too long (the limit is {MAX_BODY:,} characters). "
            "Split it into several procedures."))],
        description="Headings with #, lists with - or 1., tables with |, links [text](https://...).")
    tags = StringField("Tags", validators=[Optional(), TextLimit(500)],
                       description="Separated by commas, e.g. circulation, holds, desk.")
    area_ids = MultiCheckboxField("Competency areas", coerce=int)
    competency_ids = MultiCheckboxField("Competencies it teaches", coerce=int)
    summary = StringField("What you changed", validators=[Optional(), TextLimit(MAX_SUMMARY)])
    based_on = HiddenField()


class ProcedureFilter(Form):
    q = SearchField("Find a procedure")  # any length: search cuts a long one (search.MAX_QUERY)


class GlossaryForm(Form):
    """The whole vocabulary in one text box: the service checks it line by line."""

    text = TextAreaField(
        "Groups of equivalent terms",
        description="One group per line: the preferred term first, then the others, separated "
                    "by commas (e.g. interlibrary loan, ILL, resource sharing). Lines starting "
                    "with # are notes.")
    summary = StringField("What you changed", validators=[
        Optional(), TextLimit(glossary.MAX_SUMMARY)])
    based_on = HiddenField()
    # Shown only once a list with no groups was refused (glossary.EmptyGlossary).
    confirm_empty = BooleanField(
        "Save an empty list",
        description="Search then uses no equivalent terms until a coordinator adds some.")


class ImportForm(Form):
    files = MultipleFileField(
        "Files", validators=[FileRequired("Choose one or more files to import.")],
        description="Markdown, HTML or text files, or a .zip of them. A file imported before "
                    "(same name) is updated, not added twice.",
        render_kw={"accept": ",".join(sorted(UPLOAD_SUFFIXES))})
