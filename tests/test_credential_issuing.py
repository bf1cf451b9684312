"""Issuing and revoking credentials (apprentice/credentials/services.py) and the status
list that publishes revocations: through the coordinator's Credentials page, for an
area complete by the framework's rule, and refused for anything else."""

from __future__ import annotations

import base64
import json
import re
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pytest
from jwt import PyJWK
from jwt.api_jws import PyJWS
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from apprentice.audit import describe
from apprentice.audit.describe import Link
from apprentice.audit.models import AuditRecord
from apprentice.competencies import services as frameworks
from apprentice.core import receipts
from apprentice.credentials import jwt as vcjwt
from apprentice.credentials import keys, services, statuslist
from apprentice.credentials.models import CredentialRevocation, IssuedCredential
from apprentice.db import db_session
from apprentice.people.services import find_by_email, get_person
from apprentice.training import services as training
from apprentice.training.services import EntryDetails
from apprentice.validation import Invalid
from tests.loop import as_person
from tests.support.clients import form_token_on

DATA = Path(__file__).parent / "data" / "openbadges"
SCHEMA = json.loads((DATA / "ob_v3p0_achievementcredential_schema.json").read_text())


# -- helpers ------------------------------------------------------------------------------

def complete_area(app, loop, index: int = 0) -> int:
    """The loop's mentor signs off every competency of the framework's area ``index`` for
    the loop's apprentice, at "independent", citing verified entries: the area is then
    complete by the framework's rule. Its id."""
    with app.app_context():
        area = frameworks.get_framework(loop["framework"].id).current_areas[index]
        person, mentor = get_person(loop["apprentice"].id), get_person(loop["mentor"].id)
        competencies = area.current_competencies
        entries = []
        for start in range(0, len(competencies), training.MAX_COMPETENCIES_PER_ENTRY):
            part = competencies[start:start + training.MAX_COMPETENCIES_PER_ENTRY]
            entries.append((part, training.save_entry(person, EntryDetails(
                occurred_on=date.today() - timedelta(days=2), minutes=60, activity=5,
                mentor_id=mentor.id, competency_ids=[c.id for c in part],
                description="Ran the whole of it on my own."), submit=True)))
        training.verify_entries([entry for _, entry in entries], mentor)
        for part, entry in entries:
            for competency in part:
                training.sign_off(mentor, person, competency, level=5, entry_ids=[entry.id])
        return area.id


def area_id(app, loop, index: int) -> int:
    with app.app_context():
        return frameworks.get_framework(loop["framework"].id).current_areas[index].id


def page_of(client, person_id: int) -> str:
    response = client.get(f"/apprentices/{person_id}/credentials")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def issue_through_page(client, loop, area: int | str, **extra):
    """Press an Issue credential button for ``area``, with the page's form token (a new
    one when the page offers no button: a form from another tab)."""
    person_id = loop["apprentice"].id
    page = page_of(client, person_id)
    token = form_token_on(page) if "form_token" in page else receipts.new_token()
    return client.submit(f"/apprentices/{person_id}/credentials/issue", {
        "framework_id": str(loop["framework"].id), "area_id": str(area),
        "form_token": token, **extra}, follow_redirects=True)


def stored(app, person_id: int | None = None) -> list[IssuedCredential]:
    with app.app_context():
        query = select(IssuedCredential).order_by(IssuedCredential.id)
        if person_id is not None:
            query = query.where(IssuedCredential.person_id == person_id)
        found = list(db_session().scalars(query))
        for credential in found:
            _ = credential.revocation
        return found


def payload(token: str, part: int = 1) -> dict:
    text = token.split(".")[part]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def schema_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft201909Validator(
        SCHEMA, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(document)]


def revoked_bit(app, client, credential: IssuedCredential) -> bool:
    """Whether the published status list shows ``credential``'s bit set: the list read
    from its public URL, its signature checked with the issuer's published key."""
    response = client.get(f"/issuer/status/{credential.status_list}")
    assert response.status_code == 200
    token = response.get_data(as_text=True)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    with app.app_context():
        jwk = keys.public_key(header["kid"].rsplit("/", 1)[-1]).public_jwk
    document = json.loads(PyJWS().decode(token, key=PyJWK(jwk).key, algorithms=["EdDSA"]))
    subject = document["credentialSubject"]
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert subject["statusPurpose"] == "revocation"
    return statuslist.is_set(statuslist.decode(subject["encodedList"]),
                             credential.status_index)


def audit_rows(app, action: str) -> list[AuditRecord]:
    with app.app_context():
        return list(db_session().scalars(select(AuditRecord).where(
            AuditRecord.action == action).order_by(AuditRecord.id)))


# -- issuing ------------------------------------------------------------------------------

def test_a_coordinator_issues_a_credential_for_a_complete_area(app, loop):
    area = complete_area(app, loop)
    client = as_person(app, loop["coordinator"])
    person_id = loop["apprentice"].id
    page = page_of(client, person_id)
    assert "Foundations of Library Services" in page and "Issue credential" in page
    assert "No credential has been issued to Jordan Lee." in page

    answer = issue_through_page(client, loop, area).get_data(as_text=True)

    [credential] = stored(app, person_id)
    assert "Issued: Foundations of Library Services" in answer
    assert credential.credential_id in answer and "Standing" in answer
    assert (credential.area_id, credential.issued_by_id) == (area, loop["coordinator"].id)
    # The token as stored verifies with this installation's published keys...
    with app.app_context():
        verification = vcjwt.verify(credential.token, vcjwt.installation_keys())
    assert verification.ok, verification.failures
    # ...its payload is a valid OB 3.0 AchievementCredential...
    document = payload(credential.token)
    assert schema_errors(document) == []
    assert document["id"] == credential.credential_id == document["jti"]
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["name"] == "Foundations of Library Services"
    assert achievement["id"] == credential.achievement_id
    assert len(achievement["alignment"]) == 1 + 12  # the framework and each competency
    assert document["credentialSubject"]["result"][0]["achievedLevel"].endswith(
        "#level-independent")
    assert document["credentialSubject"]["result"][1]["value"] == "2"  # two verified hours
    # ...and points at its place in the status list.
    assert document["credentialStatus"] == statuslist.entry(
        f"http://localhost/issuer/status/{credential.status_list}", credential.status_index)
    [row] = audit_rows(app, "credential.issued")
    assert (row.actor_id, row.object_id) == (loop["coordinator"].id, credential.id)
    assert json.loads(row.details)["credential"] == credential.credential_id
    assert json.loads(row.details)["name"] == credential.name


def test_an_incomplete_area_is_refused_with_what_is_missing(app, loop):
    complete_area(app, loop)
    client = as_person(app, loop["coordinator"])
    second = area_id(app, loop, 1)
    page = issue_through_page(client, loop, second).get_data(as_text=True)
    assert "Communication and Teamwork is not complete yet for Jordan Lee: 0 of the 12 " \
           "competencies needed are signed off" in page
    assert stored(app) == [] and audit_rows(app, "credential.issued") == []
    # Nor the programme: one area of six.
    page = issue_through_page(client, loop, "programme").get_data(as_text=True)
    assert "Jordan Lee has not completed this programme yet" in page
    assert stored(app) == []


def test_a_second_standing_credential_is_refused_until_the_first_is_revoked(app, loop):
    area = complete_area(app, loop)
    client = as_person(app, loop["coordinator"])
    issue_through_page(client, loop, area)
    page = issue_through_page(client, loop, area).get_data(as_text=True)
    assert "Jordan Lee already holds a credential for Foundations of Library Services" in page
    [first] = stored(app)
    with app.app_context():
        services.revoke(services.get_credential(first.id), get_person(loop["coordinator"].id),
                        "Issued with a typo in the name.")
    issue_through_page(client, loop, area)
    first, second = stored(app)
    assert first.revoked and not second.revoked
    # Never the same place in the list, so revoking one never marks the other.
    assert (first.status_list, first.status_index) != (second.status_list, second.status_index)


def test_the_same_form_sent_twice_issues_one_credential(app, loop):
    area = complete_area(app, loop)
    client = as_person(app, loop["coordinator"])
    person_id = loop["apprentice"].id
    data = {"framework_id": str(loop["framework"].id), "area_id": str(area),
            "form_token": form_token_on(page_of(client, person_id))}
    url = f"/apprentices/{person_id}/credentials/issue"
    assert client.submit(url, data).status_code == 302
    again = client.submit(url, data)
    assert "already saved" in again.get_data(as_text=True).lower()
    assert len(stored(app)) == 1


@pytest.mark.parametrize("role", ["apprentice", "mentor"])
def test_mentors_and_apprentices_cannot_issue_or_revoke(app, loop, role):
    area = complete_area(app, loop)
    person_id = loop["apprentice"].id
    coordinator = as_person(app, loop["coordinator"])
    issue_through_page(coordinator, loop, area)
    [credential] = stored(app)
    client = as_person(app, loop[role])
    assert client.get(f"/apprentices/{person_id}/credentials").status_code == 403
    issued = client.submit(f"/apprentices/{person_id}/credentials/issue", {
        "framework_id": str(loop["framework"].id), "area_id": str(area)})
    revoked = client.submit(f"/apprentices/{person_id}/credentials/{credential.id}/revoke",
                            {f"c{credential.id}-reason": "Not theirs to revoke."})
    assert (issued.status_code, revoked.status_code) == (403, 403)
    # The service asks again.
    with app.app_context():
        who = get_person(loop[role].id)
        with pytest.raises(Invalid, match="Only a coordinator issues"):
            services.issue(get_person(person_id), loop["framework"].id, area, by=who)
        with pytest.raises(Invalid, match="Only a coordinator revokes"):
            services.revoke(services.get_credential(credential.id), who, "No.")
    assert [c.revoked for c in stored(app)] == [False]


def test_a_coordinator_cannot_issue_to_themselves(app, loop):
    with app.app_context():
        carmen = get_person(loop["coordinator"].id)
        with pytest.raises(Invalid, match="never to themselves"):
            services.issue(carmen, loop["framework"].id, None, by=carmen)


def test_the_apprentice_page_links_to_credentials_for_coordinators_only(app, loop):
    person_id = loop["apprentice"].id
    link = f'href="/apprentices/{person_id}/credentials"'
    assert link in as_person(app, loop["coordinator"]).get(
        f"/apprentices/{person_id}").get_data(as_text=True)
    assert link not in as_person(app, loop["mentor"]).get(
        f"/apprentices/{person_id}").get_data(as_text=True)


# -- revoking -----------------------------------------------------------------------------

def test_revoking_needs_a_reason_said_next_to_the_box(app, loop):
    area = complete_area(app, loop)
    client = as_person(app, loop["coordinator"])
    issue_through_page(client, loop, area)
    [credential] = stored(app)
    url = f"/apprentices/{loop['apprentice'].id}/credentials/{credential.id}/revoke"
    field = f"c{credential.id}-reason"

    for reason in ("", "   \n "):
        page = client.submit(url, {field: reason}).get_data(as_text=True)
        assert re.search(rf'id="{field}-error">\s*<p><span class="ap-visually-hidden">Error: '
                         rf'</span>{re.escape(services.NO_REASON)}', page)
    page = client.submit(url, {field: "x" * 501}).get_data(as_text=True)
    assert "the limit is 500" in page
    assert stored(app)[0].revocation is None and audit_rows(app, "credential.revoked") == []

    page = client.submit(url, {field: "Issued to the wrong Jordan."},
                         follow_redirects=True).get_data(as_text=True)
    [credential] = stored(app)
    assert credential.revocation.reason == "Issued to the wrong Jordan."
    assert "Revoked on" in page and "by Carmen Ortiz because: Issued to the wrong Jordan." in page
    [row] = audit_rows(app, "credential.revoked")
    assert json.loads(row.details)["reason"] == "Issued to the wrong Jordan."
    assert json.loads(row.details)["credential"] == credential.credential_id
    # Once only.
    with app.app_context(), pytest.raises(Invalid, match="already revoked"):
        services.revoke(services.get_credential(credential.id),
                        get_person(loop["coordinator"].id), "Again.")
    assert len(audit_rows(app, "credential.revoked")) == 1


def test_the_audit_trail_reads_issuing_and_revoking_as_sentences(app, loop):
    area = complete_area(app, loop)
    client = as_person(app, loop["coordinator"])
    issue_through_page(client, loop, area)
    [credential] = stored(app)
    client.submit(f"/apprentices/{loop['apprentice'].id}/credentials/{credential.id}/revoke",
                  {f"c{credential.id}-reason": "Issued to the wrong Jordan."})
    with app.app_context():
        records = audit_rows(app, "credential.issued") + audit_rows(app, "credential.revoked")
        issued, revoked = describe.describe_all(records)
    what = (f"Jordan Lee's credential 'Foundations of Library Services (Library Support "
            f"Staff Competencies)' ({credential.credential_id})")
    assert str(issued[1]) == f"Carmen Ortiz issued {what}"
    assert str(revoked[1]) == f"Carmen Ortiz revoked {what}: 'Issued to the wrong Jordan.'"
    assert Link("credential", "credentials", loop["apprentice"].id) in issued[1].parts
    assert describe.kind_label("credential.revoked") == "Credential"
    page = client.get("/audit/").get_data(as_text=True)
    assert f'href="/apprentices/{loop["apprentice"].id}/credentials">credential</a>' in page


def test_another_persons_credential_is_not_found_at_this_address(app, loop, make_person):
    area = complete_area(app, loop)
    client = as_person(app, loop["coordinator"])
    issue_through_page(client, loop, area)
    [credential] = stored(app)
    other = make_person(name="Priya Shah", roles=["apprentice"])
    response = client.submit(f"/apprentices/{other.id}/credentials/{credential.id}/revoke",
                             {f"c{credential.id}-reason": "Wrong address."})
    assert response.status_code == 404
    assert stored(app)[0].revocation is None


# -- the status list ----------------------------------------------------------------------

def test_the_status_list_shows_the_bit_after_revocation_and_not_before(app, loop, client):
    area = complete_area(app, loop)
    coordinator = as_person(app, loop["coordinator"])
    issue_through_page(coordinator, loop, area)
    [credential] = stored(app)

    response = client.get(f"/issuer/status/{credential.status_list}")  # nobody signed in
    assert response.mimetype == "application/vc+jwt"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    body = json.dumps(payload(response.get_data(as_text=True)))
    assert "Jordan" not in body and loop["apprentice"].email not in body  # bits only
    assert revoked_bit(app, client, credential) is False

    coordinator.submit(
        f"/apprentices/{loop['apprentice'].id}/credentials/{credential.id}/revoke",
        {f"c{credential.id}-reason": "Signed off by mistake."})
    assert revoked_bit(app, client, credential) is True
    assert client.get(f"/issuer/status/{credential.status_list + 1}").status_code == 404
    assert client.get("/issuer/status/0").status_code == 404


def test_the_status_list_is_a_signed_credential_naming_itself(app, loop):
    area = complete_area(app, loop)
    issue_through_page(as_person(app, loop["coordinator"]), loop, area)
    with app.test_request_context():
        token = services.status_list_token(1)
        assert services.status_list_token(2) is None
    document = payload(token)
    url = "http://localhost/issuer/status/1"
    assert (document["id"], document["credentialSubject"]["id"]) == (url, url + "#list")
    assert (document["iss"], document["sub"]) == (document["issuer"]["id"], url + "#list")


def issue_revoke_and_issue_again(app, loop, area) -> None:
    """Two credentials for the same area: the first revoked before the second."""
    client = as_person(app, loop["coordinator"])
    issue_through_page(client, loop, area)
    with app.app_context():
        services.revoke(services.get_credential(stored(app)[0].id),
                        get_person(loop["coordinator"].id), "Reissued.")
    issue_through_page(client, loop, area)


def test_places_are_random_and_never_shared(app, loop, monkeypatch):
    """Two credentials never share an index, even when the random choice repeats."""
    area = complete_area(app, loop)
    picks = iter([7, 7, 7, 11])
    monkeypatch.setattr(services.secrets, "randbelow", lambda _n: next(picks))
    issue_revoke_and_issue_again(app, loop, area)
    assert [(c.status_list, c.status_index) for c in stored(app)] == [(1, 7), (1, 11)]


def test_a_full_list_gives_way_to_the_next(app, loop, monkeypatch):
    area = complete_area(app, loop)
    monkeypatch.setattr(statuslist, "LIST_SIZE", 1)
    issue_revoke_and_issue_again(app, loop, area)
    assert [(c.status_list, c.status_index) for c in stored(app)] == [(1, 0), (2, 0)]
    assert payload(stored(app)[1].token)["credentialStatus"]["statusListCredential"] \
        == "http://localhost/issuer/status/2"


def test_the_database_refuses_a_shared_place(app, loop):
    area = complete_area(app, loop)
    issue_through_page(as_person(app, loop["coordinator"]), loop, area)
    [credential] = stored(app)
    with app.app_context():
        session = db_session()
        session.add(IssuedCredential(
            credential_id="urn:uuid:00000000-0000-4000-8000-000000000000",
            person_id=credential.person_id, framework_id=credential.framework_id,
            achievement_id=credential.achievement_id, name=credential.name,
            issued_by_id=credential.issued_by_id, kid=credential.kid, token="x",
            status_list=credential.status_list, status_index=credential.status_index))
        with pytest.raises(DatabaseError):
            session.commit()
        session.rollback()


@pytest.mark.parametrize("statement", [
    pytest.param("UPDATE apprentice_credentials SET name = 'Changed'", id="update credential"),
    pytest.param("DELETE FROM apprentice_credentials", id="delete credential"),
    pytest.param("UPDATE apprentice_credential_revocations SET reason = 'Changed'",
                 id="update revocation"),
    pytest.param("DELETE FROM apprentice_credential_revocations", id="delete revocation"),
])
def test_issued_credentials_and_revocations_are_append_only(app, loop, statement):
    area = complete_area(app, loop)
    issue_through_page(as_person(app, loop["coordinator"]), loop, area)
    with app.app_context():
        services.revoke(services.get_credential(stored(app)[0].id),
                        get_person(loop["coordinator"].id), "Reissued.")
        session = db_session()
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
        assert session.scalar(select(CredentialRevocation.reason)) == "Reissued."
    assert stored(app)[0].name == "Foundations of Library Services (Library Support Staff " \
                                  "Competencies)"


# -- the demo -----------------------------------------------------------------------------

def test_in_the_demo_carmen_can_issue_jordan_a_credential(app):
    assert app.test_cli_runner().invoke(args=["apprentice", "demo"]).exit_code == 0
    with app.app_context():
        carmen, jordan = (find_by_email("coordinator@example.org"),
                          find_by_email("apprentice@example.org"))
        [award] = services.awards_for(jordan)
        assert (award.name, award.issued) == ("Access Services", False)
        framework_id, access = award.framework_id, award.area_id
    client = as_person(app, carmen)
    page = page_of(client, jordan.id)
    assert "Access Services" in page and "Issue credential" in page
    response = client.submit(f"/apprentices/{jordan.id}/credentials/issue", {
        "framework_id": str(framework_id), "area_id": str(access),
        "form_token": form_token_on(page)}, follow_redirects=True)
    assert "Issued: Access Services" in response.get_data(as_text=True)
    [credential] = stored(app, jordan.id)
    with app.app_context():
        assert vcjwt.verify(credential.token, vcjwt.installation_keys()).ok
    assert schema_errors(payload(credential.token)) == []


def test_a_configured_base_address_is_named_whatever_address_the_page_was_opened_at(
        app, loop):
    """APPRENTICE_CREDENTIAL_BASE_URL: a coordinator on an intranet name, or a request
    with a forged Host header, still issues and publishes under the public address."""
    app.config["APPRENTICE_CREDENTIAL_BASE_URL"] = "https://badges.library.example/"
    area = complete_area(app, loop)
    client = as_person(app, loop["coordinator"])
    client.environ_base["HTTP_HOST"] = "intranet-pc-42"
    issue_through_page(client, loop, area)
    credential = payload(stored(app)[0].token)
    public = "https://badges.library.example/"
    assert credential["issuer"]["id"] == public + "issuer"
    assert credential["credentialStatus"]["statusListCredential"] == public + "issuer/status/1"
    assert payload(stored(app)[0].token, part=0)["kid"].startswith(public + "issuer/keys/")
    forged = app.test_client().get("/issuer/status/1", headers={"Host": "evil.example"})
    listed = payload(forged.get_data(as_text=True))
    assert listed["id"] == public + "issuer/status/1"
    assert listed["issuer"]["id"] == public + "issuer"
