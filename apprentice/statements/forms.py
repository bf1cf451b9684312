"""The learning statement's form: the overall statement and a box per area."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, SubmitField, TextAreaField
from wtforms.validators import Optional

from apprentice.competencies.models import CompetencyArea
from apprentice.forms import Form, OnceForm, TextLimit
from apprentice.statements.services import MAX_CHARS, area_field

MARKDOWN_HINT = "Markdown: ## headings, - lists, **bold**, [links](https://...)."


class StatementForm(OnceForm, Form):
    # Required by the service (services.NO_OVERALL), which says so next to the box; no
    # browser's own "required" message before the form is sent.
    overall = TextAreaField(
        "Overall statement", validators=[TextLimit(MAX_CHARS)],
        description="What you learned over the programme, and how you use it at work. "
                    + MARKDOWN_HINT)
    based_on = HiddenField()
    submit = SubmitField("Save a new revision")

    def area_fields(self) -> list:
        return [self[name] for name in self.area_names]

    def area_texts(self) -> dict[int, str]:
        return {area_id: self[name].data or "" for area_id, name in self.area_ids.items()}


def statement_form(areas: list[CompetencyArea], formdata: MultiDict | None = None,
                   **kwargs) -> StatementForm:
    """The form with an optional box for each of ``areas``, filled from ``formdata`` (a
    form kept across a sign-in) or the request."""

    class Form(StatementForm):
        pass

    for area in areas:
        setattr(Form, area_field(area.id), TextAreaField(
            area.name, validators=[Optional(), TextLimit(MAX_CHARS)],
            description="What you learned in this area, with examples from your log."))
    form = Form(**kwargs) if formdata is None else Form(formdata=formdata, **kwargs)
    form.area_ids = {area.id: area_field(area.id) for area in areas}
    form.area_names = list(form.area_ids.values())
    return form

