"""One world of people and records for the access matrix (tests/test_access_matrix.py):
who is paired with whom for which area, A's entries in each state, a sign-off, a
procedure draft, and a snapshot of every table to prove a refused request changed nothing.

The people are the matrix's roles: anonymous (nobody signed in), apprentice A and B,
A's mentor for every area, a mentor paired with A for the second area only, a mentor
paired with nobody, a coordinator, and a deactivated coordinator.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from apprentice.competencies import services as frameworks
from apprentice.credentials import keys as issuer_keys
from apprentice.credentials.models import IssuedCredential
from apprentice.db import db_session
from apprentice.kb import glossary
from apprentice.kb import services as kb
from apprentice.people.services import get_person
from apprentice.programmes import services as programmes
from apprentice.sharing import services as sharing
from apprentice.statements import services as statements
from apprentice.training import services
from tests.support import dates, tables

ANON, A, B = "anonymous", "apprentice A", "apprentice B"
MENTOR, AREA_MENTOR, UNPAIRED = "mentor of A", "area-only mentor", "unpaired mentor"
COORDINATOR, DEACTIVATED = "coordinator", "deactivated"
ROLES = (ANON, A, B, MENTOR, AREA_MENTOR, UNPAIRED, COORDINATOR, DEACTIVATED)

# A visitor's own typing, kept across an ended sign-in (apprentice.core.kept): stored
# for anyone who sends a form, and never acted upon, so not a change a refusal forbids.
# A share link's view counter: every visit to a working link counts, by design
# (apprentice/sharing/models.py keeps it in a table of its own for this). Either moves
# the data version, which counts every write (apprentice/core/versions.py).
NOT_COMPARED = {"apprentice_kept_forms", "apprentice_share_link_views",
                "apprentice_data_version"}


def build_world(app, make_person) -> dict:
    """The people (``world["people"][role]``: a StaffProfile) and the ids of their records.

    A's entries are all in the framework's first area ("X") but one, ``entry_y``, in the
    second ("Y"): the area-only mentor covers Y, so may see that one and none of the rest.
    """
    today = dates.today()
    people = {
        A: make_person(name="Apprentice Avery", roles=["apprentice"]),
        B: make_person(name="Apprentice Blake", roles=["apprentice"]),
        MENTOR: make_person(name="Mentor Marian", roles=["mentor"]),
        AREA_MENTOR: make_person(name="Area Mentor Samuel", roles=["mentor"]),
        UNPAIRED: make_person(name="Unpaired Uma", roles=["mentor"]),
        COORDINATOR: make_person(name="Coordinator Carmen", roles=["coordinator"]),
        DEACTIVATED: make_person(name="Former Coordinator Dana", roles=["coordinator"],
                                 active=False),
    }
    with app.app_context():
        staff = {role: get_person(person.id) for role, person in people.items()}
        a, b, mentor, area_mentor = staff[A], staff[B], staff[MENTOR], staff[AREA_MENTOR]
        coordinator = staff[COORDINATOR]
        framework = frameworks.load_default_framework()
        area_x, area_y = framework.current_areas[:2]
        cx, cy = area_x.current_competencies[0], area_y.current_competencies[0]
        # Moved and retired by the matrix's coordinator: nothing of A's is in them.
        area_spare = framework.current_areas[-1]
        competency_spare = area_spare.current_competencies[-1]
        electives = [area.id for area in framework.current_areas if not area.required][:3]
        start = today - timedelta(days=60)
        enrolment_a = programmes.enrol(a, framework, start=start, electives=electives)
        enrolment_b = programmes.enrol(b, framework, start=start, electives=electives)
        pairing_all = services.create_pairing(a, mentor, starts_on=start)
        pairing_y = services.create_pairing(a, area_mentor, starts_on=start,
                                            area_ids=[area_y.id])

        def entry(competency, by, text, submit=True):
            return services.save_entry(a, services.EntryDetails(
                occurred_on=today - timedelta(days=3), minutes=45, activity=5,
                mentor_id=by.id, competency_ids=[competency.id], description=text),
                submit=submit)

        draft = entry(cx, mentor, "A draft about the issue desk.", submit=False)
        submitted = entry(cx, mentor, "Ran the issue desk alone.")
        verified = entry(cx, mentor, "Closed the branch; the cash balanced.")
        entry_y = entry(cy, area_mentor, "Catalogued the new arrivals.")
        services.verify_entries([verified], mentor)
        sign_off = services.sign_off(mentor, a, cx, level=5, entry_ids=[verified.id])
        procedure_draft = kb.create(kb.ProcedureDraft(
            title="Avery's draft on shelving", body="Shelve by **call number**."), a)
        published = kb.create(kb.ProcedureDraft(
            title="Opening the branch", body="Unlock, lights, tills."), coordinator,
            publish=True)
        # A's proposed change to the published page: revision 2, waiting for a publisher.
        kb.save(published, kb.ProcedureDraft(title="Opening the branch",
                                             body="Unlock, lights, tills, radio."),
                a, based_on=1)
        version = glossary.save(glossary.shipped_text() + "\nzine, fanzine\n",
                                "Zines", coordinator)
        # A's learning statement, revision 1: an overall one and a section on area Y.
        statements.save(a, statements.StatementDraft(
            "I learned to run the issue desk.", {area_y.id: "Catalogued the new arrivals."}),
            a, based_on=0)
        # A's share links: one working, one revoked (its token opens nothing).
        share = sharing.create(a, label="Riverside Library hiring panel",
                               expires_on=today + timedelta(days=30), signed_only=False, by=a)
        withdrawn = sharing.create(a, label="An old application",
                                   expires_on=today + timedelta(days=30), signed_only=True,
                                   by=a)
        sharing.revoke(withdrawn.link, a)
        # A credential of A's for area X, stored as issuing stores one (the matrix asks
        # who may download it, and who may revoke it; its token is never verified here).
        credential_a = IssuedCredential(
            credential_id=f"urn:uuid:{uuid.uuid4()}", person_id=a.id,
            framework_id=framework.id, area_id=area_x.id,
            achievement_id=f"urn:example:achievement:{area_x.id}", name=area_x.name,
            issued_by_id=coordinator.id, kid=issuer_keys.current_key().kid,
            token="eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl", status_list=1, status_index=7)
        db_session().add(credential_a)
        db_session().commit()
        ids = {
            "framework": framework.id, "area_x": area_x.id, "area_y": area_y.id,
            "competency_x": cx.id, "competency_y": cy.id, "area_spare": area_spare.id,
            "competency_spare": competency_spare.id, "person_a": a.id, "person_b": b.id,
            "enrolment_a": enrolment_a.id, "enrolment_b": enrolment_b.id,
            "pairing_all": pairing_all.id, "pairing_y": pairing_y.id,
            "draft": draft.id, "submitted": submitted.id, "verified": verified.id,
            "entry_y": entry_y.id, "sign_off": sign_off.id,
            "procedure_draft": procedure_draft.id, "procedure_published": published.id,
            "glossary_version": version.id,
            "share_link": share.link.id, "share_token": share.token,
            "share_token_revoked": withdrawn.token,
            # The issuer's signing key, made on first use (apprentice/credentials/keys.py).
            "issuer_kid": issuer_keys.current_key().kid,
            "credential_a": credential_a.id,
            "credential_uuid_a": credential_a.credential_id.removeprefix("urn:uuid:"),
        }
    return {"people": people, "ids": ids,
            "person_ids": {role: person.id for role, person in people.items()}}


def snapshot(app) -> dict[str, tuple[int, str]]:
    """Every apprentice table but :data:`NOT_COMPARED` (tests/support/tables.py)."""
    return tables.snapshot(app, skip=NOT_COMPARED)
