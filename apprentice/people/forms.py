"""Forms a coordinator uses to manage people."""

from wtforms import (
    EmailField,
    PasswordField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from apprentice.forms import ChoiceField, Form, MultiCheckboxField, OnceForm
from apprentice.people.models import Role

ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in Role]


class PersonForm(Form):
    name = StringField(
        "Name", validators=[DataRequired("Enter the person's name."), Length(max=120)]
    )
    email = EmailField(
        "E-mail",
        validators=[
            DataRequired("Enter an e-mail address."),
            Length(max=254),
            Email("That is not a valid e-mail address, for example name@library.org."),
        ],
    )
    job_title = StringField(
        "Job title", validators=[Optional(), Length(max=120)],
        description="For example: Library Assistant, Reference Librarian.",
    )
    branch = StringField("Branch", validators=[Optional(), Length(max=120)])
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES)
    submit = SubmitField("Save")


class NewPersonForm(OnceForm, PersonForm):
    password = PasswordField(
        "Temporary password",
        validators=[DataRequired("Give a temporary password; they change it at first sign-in.")],
        description="Tell it to the person; they must change it when they first sign in.",
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Add person")


class EditPersonForm(PersonForm):
    temporary_password = PasswordField(
        "New temporary password",
        validators=[Optional()],
        description="Leave empty to keep their password. Use it when someone forgot theirs.",
        render_kw={"autocomplete": "new-password"},
    )


class PeopleFilterForm(Form):
    """The filter above the list of people (a GET form: no CSRF token needed)."""

    q = SearchField("Name, e-mail or branch", validators=[Optional(), Length(max=100)])
    # No Optional(): it let "?role=%20" through as " " (whitespace counts as empty for it,
    # and it clears the choice check's error), and Role(" ") was a 500. "" is offered.
    role = ChoiceField(
        "Role", choices=[SelectChoice("", "Any role"), *ROLE_CHOICES], default=""
    )
    inactive = SelectField(
        "Show", choices=[
            SelectChoice("", "Active people"),
            SelectChoice("1", "Everyone, deactivated too"),
        ],
        validators=[Optional()],
    )
