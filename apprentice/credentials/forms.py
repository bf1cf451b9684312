"""The forms of an apprentice's Credentials page: issue one (a button per achievement)
and revoke one (with the reason, which the service requires)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import HiddenField, SubmitField, TextAreaField

from apprentice.credentials.services import MAX_REASON
from apprentice.forms import Form, OnceForm, TextLimit, id_number

PROGRAMME = "programme"  # the area field's value for the whole programme


class IssueForm(OnceForm, Form):
    """Which achievement: the framework, and an area's id or :data:`PROGRAMME`. Hidden:
    the page offers one button per achievement complete now; the service checks again."""

    framework_id = HiddenField()
    area_id = HiddenField()
    submit = SubmitField("Issue credential")

    def achievement(self) -> tuple[int, int | None] | None:
        """(framework id, area id or None for the programme); None when the fields do not
        name one (edited by hand)."""
        framework = id_number(self.framework_id.data)
        if framework is None:
            return None
        if self.area_id.data == PROGRAMME:
            return framework, None
        area = id_number(self.area_id.data)
        return None if area is None else (framework, area)


class RevokeForm(Form):
    """One per credential on the page (``prefix`` keeps their fields apart)."""

    # Required by the service (services.NO_REASON), which says so next to the box.
    reason = TextAreaField(
        "Why is it revoked?", validators=[TextLimit(MAX_REASON)],
        description="Kept with the credential and in the audit trail. Revoking cannot "
                    "be undone; a new credential can be issued while the achievement is "
                    "complete.")
    submit = SubmitField("Revoke")


class VerifyForm(Form):
    """A credential to check on the public /verify page: pasted, or its file (the .json
    or .jwt handed over). Sizes are checked by the page (1 MB, verify.MAX_INPUT_BYTES)."""

    credential = TextAreaField(
        "Paste the credential",
        description="The VC-JWT (three parts separated by dots) or the JSON of the "
                    "credential's .json file.")
    file = FileField("Or choose its file", description="The .json or .jwt file, up to 1 MB.")
