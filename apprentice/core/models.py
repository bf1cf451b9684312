"""Records that serve every feature's forms: receipts of saved forms, and forms kept
while their author signs in again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from apprentice.db import Base, UTCDateTime, utcnow


class FormReceipt(Base):
    """A create form's one-time token, consumed by its first save.

    Written in the same transaction as the record it created, so a second
    submit of the same form (Back, then Submit again; a double tap) finds the
    receipt and is shown "already saved" with a link, instead of making a copy.
    """

    __tablename__ = "apprentice_form_receipts"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("apprentice_staff.id", ondelete="CASCADE"), index=True)
    # What was created (e.g. "sign_off", "pairing") and its id, to link back to it.
    kind: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class KeptForm(Base):
    """What someone typed into a form when their sign-in had ended, under a one-time key.

    Only a hash of the key (with the browser's keeper cookie, see apprentice.core.kept)
    is stored; the key itself travels in the sign-in link, and
    the form page takes the text back (once) after the person signs in again.
    Old rows are swept when new ones are written.
    """

    __tablename__ = "apprentice_kept_forms"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(String(400))
    payload: Mapped[str] = mapped_column(Text)  # JSON: {field name: [values]}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class DataVersion(Base):
    """One row counting the transactions that changed apprentice's data (see
    apprentice.core.versions): what a page was built from, in one number."""

    __tablename__ = "apprentice_data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
