"""How services refuse bad input: one exception that views put next to the fields."""

from __future__ import annotations


class Invalid(Exception):
    """Raised by a service when input breaks a rule; nothing has been saved.

    ``errors`` maps a form field name (or ``None`` for the form as a whole) to
    the messages to show next to it.
    """

    def __init__(self, errors: dict[str | None, list[str] | str]):
        self.errors = {
            field: [messages] if isinstance(messages, str) else list(messages)
            for field, messages in errors.items()
        }
        super().__init__("; ".join(m for ms in self.errors.values() for m in ms))

    def attach_to(self, form) -> list[str]:
        """Add the messages to ``form``'s fields; return those that belong to no field.
        The refused write's transaction ends here (apprentice.db.after_refusal): the page
        drawn with the messages does not hold the database's write lock."""
        from apprentice.db import after_refusal  # the data layer builds on nothing here

        after_refusal()
        general = []
        for field, messages in self.errors.items():
            if field is not None and field in form:
                form[field].errors = [*form[field].errors, *messages]
            else:
                general.extend(messages)
        form.form_errors.extend(general)
        return general


def refuse_unless(allowed: bool, by: object | None, message: str) -> None:
    """A service asks a feature's permission predicate again before a change:
    :class:`Invalid` with ``message`` when ``by`` may not. ``by=None`` is the command
    line or the demo data, run by whoever owns the server, and is not asked."""
    if by is not None and not allowed:
        raise Invalid({None: message})
