"""The mentors' daily digest: what waits for them, by e-mail or, with no mail
server configured, in the log. Sent by ``flask apprentice send-reminders`` (cron)
and never twice to the same mentor for the same day."""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage

from flask import current_app, url_for
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from apprentice.db import db_session
from apprentice.people.models import Role, StaffProfile, StaffRole
from apprentice.records import dashboards
from apprentice.training.models import ReminderSent

log = logging.getLogger("apprentice.mail")


@dataclass
class Digest:
    mentor: StaffProfile
    subject: str
    body: str


def digest_for(mentor: StaffProfile, today: date) -> Digest | None:
    """The mentor's digest, or None when nothing waits for them."""
    board = dashboards.mentor_dashboard(mentor, today)
    if not board.queue_count and not board.ready:
        return None
    lines = [f"Hello {mentor.name},", ""]
    if board.queue_count:
        many = board.queue_count != 1
        lines.append(f"{board.queue_count} log entr{'ies wait' if many else 'y waits'} for "
                     f"your review (the oldest for {board.oldest_days} "
                     f"day{'s' if board.oldest_days != 1 else ''}):")
        lines.append(url_for("apprentice.training.review", _external=True))
        lines.append("")
    if board.ready:
        lines.append("Ready to sign off (verified evidence at the required level):")
        for item in board.ready[:20]:
            lines.append(f"- {item.person.name}: {item.code} {item.statement}")
        lines.append("")
    lines.append("Thank you for mentoring.")
    subject = f"apprentice: {board.queue_count} to review, {len(board.ready)} ready to sign off"
    return Digest(mentor, subject, "\n".join(lines))


def _deliver(digest: Digest) -> None:
    config = current_app.config
    server = config.get("APPRENTICE_MAIL_SERVER")
    if not server:
        log.info("Digest for %s <%s>: %s\n%s", digest.mentor.name, digest.mentor.email,
                 digest.subject, digest.body)
        return
    message = EmailMessage()
    message["From"] = config.get("APPRENTICE_MAIL_FROM") or "apprentice@localhost"
    message["To"] = digest.mentor.email
    message["Subject"] = digest.subject
    message.set_content(digest.body)
    port = int(config.get("APPRENTICE_MAIL_PORT") or 25)
    with smtplib.SMTP(server, port, timeout=30) as smtp:
        if config.get("APPRENTICE_MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("APPRENTICE_MAIL_USERNAME"):
            smtp.login(config["APPRENTICE_MAIL_USERNAME"], config.get("APPRENTICE_MAIL_PASSWORD"))
        smtp.send_message(message)


@dataclass
class ReminderRun:
    sent: list[str]
    skipped_already_sent: list[str]
    nothing_waiting: int
    failed: list[str]


def send_reminders(today: date | None = None) -> ReminderRun:
    """Send each mentor's digest for ``today`` once.

    The day is claimed (a unique row) before sending, so two runs at once send
    one digest; a failed send gives the claim back, so a later run retries.
    """
    today = today or date.today()
    session = db_session()
    mentors = list(session.scalars(
        select(StaffProfile).where(
            StaffProfile.active.is_(True),
            StaffProfile.role_grants.any(StaffRole.role == Role.MENTOR.value))
        .order_by(StaffProfile.name)))
    run = ReminderRun([], [], 0, [])
    for mentor in mentors:
        digest = digest_for(mentor, today)
        if digest is None:
            run.nothing_waiting += 1
            continue
        session.add(ReminderSent(mentor_id=mentor.id, day=today))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            run.skipped_already_sent.append(mentor.email)
            continue
        try:
            _deliver(digest)
        except (OSError, smtplib.SMTPException) as exc:
            session.execute(delete(ReminderSent).where(ReminderSent.mentor_id == mentor.id,
                                                       ReminderSent.day == today))
            session.commit()
            run.failed.append(f"{mentor.email}: {exc}")
            continue
        run.sent.append(mentor.email)
    return run
