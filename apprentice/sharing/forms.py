"""The form that makes a share link: whom it is for, until when, and what it shows."""

from __future__ import annotations

from wtforms import DateField, RadioField, SelectChoice, StringField, SubmitField
from wtforms.validators import InputRequired

from apprentice.forms import Form, OnceForm, TextLimit
from apprentice.sharing.services import MAX_LABEL, NO_EXPIRY

SHOWS = [
    SelectChoice("signed", "Signed-off competencies only, with their evidence, hours and "
                           "your statement"),
    SelectChoice("all", "Everything: also competencies in progress or not started"),
]


class ShareLinkForm(OnceForm, Form):
    # Required by the service (services.NO_LABEL), which says so next to the box.
    label = StringField(
        "Who is it for?", validators=[TextLimit(MAX_LABEL)],
        description="Only you see this, in your list of links: e.g. "
                    "\u201cRiverside Library hiring panel\u201d.")
    expires_on = DateField(
        "Works until", validators=[InputRequired(NO_EXPIRY)],
        description="The link stops working after this day; a year from today at most.")
    shows = RadioField("What it shows", choices=SHOWS, default="signed",
                       validators=[InputRequired("Choose what the link shows.")])
    submit = SubmitField("Make the link")

    @property
    def signed_only(self) -> bool:
        return self.shows.data != "all"
