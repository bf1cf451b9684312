"""Handing a credential over (apprentice/credentials/handover.py): its holder downloads
it from their portfolio as the signed VC-JWT or as a VC 2.0 envelope of the very same
token; the portfolio's page, PDF and share link list each credential with its id, its
status and where to verify it; only the page offers the files, and only to who may.

The world (tests/support/credential_world.py): Robin completes "Circulation desk" and
Carmen issues the credential; Marian mentors Robin for every area, Samuel for the other
area only, Uma for nobody; Blake is another apprentice.
"""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader

from apprentice.credentials import services as credentials
from apprentice.credentials import verify
from apprentice.people.services import get_person
from apprentice.portfolios import pdf
from apprentice.sharing import services as sharing
from tests.loop import as_person
from tests.support import dates
from tests.support.credential_world import build_credential_world, complete_and_issue

VERIFY_URL = "http://localhost/verify"  # the public page (the tests mount no prefix)
FILE_STEM = "robin-quick-circulation-desk-desk-basics"


@pytest.fixture
def world(app, make_person):
    return build_credential_world(app, make_person)


@pytest.fixture
def issued(app, world):
    return complete_and_issue(app, world)


def squeezed(text: str) -> str:
    """Text without any white space: a PDF breaks a long id or URL where it likes."""
    return re.sub(r"\s+", "", text)


def portfolio_page(app, person, owner) -> str:
    response = as_person(app, person).get(f"/apprentices/{owner.id}/portfolio")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def pdf_text(app, person, owner) -> str:
    try:
        pdf.engine()
    except pdf.PdfUnavailable as exc:
        pytest.skip(f"no PDFs on this machine: {exc}")
    response = as_person(app, person).get(f"/apprentices/{owner.id}/portfolio.pdf")
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    return " ".join(page.extract_text() for page in reader.pages)


def revoke(app, world, issued, reason="Issued for the wrong area."):
    with app.test_request_context():
        credentials.revoke(credentials.get_credential(issued["id"]),
                           get_person(world.coordinator.id), reason)


# -- the files ----------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["apprentice", "coordinator", "mentor"])
def test_the_jwt_is_the_token_exactly_as_stored(app, world, issued, who):
    response = as_person(app, getattr(world, who)).get(f"/credentials/{issued['uuid']}.jwt")
    assert response.status_code == 200
    assert response.mimetype == "application/vc+jwt"
    assert response.get_data(as_text=True) == issued["token"]
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="{FILE_STEM}.jwt"'


@pytest.mark.parametrize("who", ["apprentice", "coordinator", "mentor"])
def test_the_json_is_a_vc2_envelope_of_the_same_token(app, world, issued, who):
    response = as_person(app, getattr(world, who)).get(f"/credentials/{issued['uuid']}.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="{FILE_STEM}.json"'
    body = response.get_data(as_text=True)
    assert json.loads(body) == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"data:application/vc+jwt,{issued['token']}",
        "type": "EnvelopedVerifiableCredential"}
    assert body.startswith('{\n  "@context": [\n')  # pretty-printed, for a person to read


def test_both_files_verify_as_the_same_credential(app, world, issued):
    client = as_person(app, world.apprentice)
    reports = []
    with app.test_request_context():
        for suffix in ("jwt", "json"):
            data = client.get(f"/credentials/{issued['uuid']}.{suffix}").data
            reports.append(verify.verify_credential(data, online=False))
    assert [report.verdict for report in reports] == [verify.Verdict.VALID] * 2, \
        [report.lines() for report in reports]
    assert reports[0].credential == reports[1].credential
    assert reports[0].credential["id"] == issued["credential_id"]


@pytest.mark.parametrize("who", ["other", "unpaired", "area_mentor"])
def test_nobody_else_downloads_it(app, world, issued, who):
    """Another apprentice, a mentor paired with nobody, and a mentor paired for the other
    area only (who sees part of Robin's record, not the whole): the plain 404."""
    client = as_person(app, getattr(world, who))
    for suffix in ("jwt", "json"):
        response = client.get(f"/credentials/{issued['uuid']}.{suffix}")
        assert response.status_code == 404
        assert issued["token"] not in response.get_data(as_text=True)


def test_without_signing_in_there_is_no_file(app, issued):
    response = app.test_client().get(f"/credentials/{issued['uuid']}.jwt")
    assert response.status_code in (302, 401)
    assert issued["token"] not in response.get_data(as_text=True)


def test_an_unknown_credential_is_a_404_even_for_a_coordinator(app, world, issued):
    client = as_person(app, world.coordinator)
    assert client.get("/credentials/00000000-0000-4000-8000-000000000000.jwt"
                      ).status_code == 404
    assert client.get("/credentials/not-a-uuid.jwt").status_code == 404


def test_a_revoked_credential_still_downloads_and_says_so(app, world, issued):
    revoke(app, world, issued)
    client = as_person(app, world.apprentice)
    assert client.get(f"/credentials/{issued['uuid']}.jwt").get_data(as_text=True) == \
        issued["token"]
    page = portfolio_page(app, world.apprentice, world.apprentice)
    tools = page[page.index('class="ap-portfolio-downloads"'):page.index("<article")]
    assert f"(revoked on {dates.today().isoformat()})" in tools
    with app.test_request_context():
        report = verify.verify_credential(issued["token"], online=False)
    assert report.verdict is verify.Verdict.INVALID
    assert report.check("status").detail.startswith("revoked")


def test_the_holders_home_page_points_to_a_standing_credential(app, world, issued):
    client = as_person(app, world.apprentice)
    home = " ".join(client.get("/").get_data(as_text=True).split())
    assert f"Your credential: <strong>{issued['name']}</strong>" in home
    assert "/portfolio#portfolio-credentials" in home
    revoke(app, world, issued)
    assert "Your credential" not in client.get("/").get_data(as_text=True)


# -- the portfolio --------------------------------------------------------------------------

def credentials_part(page: str) -> str:
    """The document's Credentials section, tags taken out, as one line."""
    start = page.index('id="portfolio-credentials"')
    section = page[start:page.index("</section>", start)]
    return re.sub(r" ([,:.])", r"\1", " ".join(re.sub(r"<[^>]+>", " ", section).split()))


def test_the_page_lists_the_credential_and_offers_its_files(app, world, issued):
    page = portfolio_page(app, world.apprentice, world.apprentice)
    part = credentials_part(page)
    assert "Circulation desk (Desk basics)" in part
    assert f"Issued {dates.today().isoformat()}" in part
    assert f"Credential id {issued['credential_id']}" in part
    assert "Status Stands (not revoked)" in part
    assert f"Anyone can check one at {VERIFY_URL}" in part
    assert (f"Status list http://localhost/issuer/status/{issued['status_list']}, "
            f"entry {issued['status_index']}") in part
    for suffix in ("jwt", "json"):
        assert f'href="/credentials/{issued["uuid"]}.{suffix}"' in page


def test_the_page_says_when_it_was_revoked(app, world, issued):
    revoke(app, world, issued)
    part = credentials_part(portfolio_page(app, world.coordinator, world.apprentice))
    assert f"Status Revoked on {dates.today().isoformat()}: it no longer stands" in part
    assert "Stands (not revoked)" not in part


def test_a_mentor_of_one_area_sees_neither_the_credential_nor_its_files(app, world, issued):
    page = portfolio_page(app, world.area_mentor, world.apprentice)
    assert issued["credential_id"] not in page
    assert f"/credentials/{issued['uuid']}" not in page


def test_a_share_link_lists_the_credential_but_offers_no_file(app, world, issued):
    with app.app_context():
        robin = get_person(world.apprentice.id)
        link = sharing.create(robin, label="Hiring panel", signed_only=False, by=robin,
                              expires_on=dates.today() + timedelta(days=30))
    page = app.test_client().get(f"/shared/{link.token}").get_data(as_text=True)
    part = credentials_part(page)
    assert f"Credential id {issued['credential_id']}" in part
    assert VERIFY_URL in part
    assert f"/credentials/{issued['uuid']}" not in page
    assert "Credential file" not in page


def test_the_pdf_lists_the_ids_and_where_to_verify(app, world, issued):
    revoke(app, world, issued)
    second = complete_and_issue(app, world, index=1)
    text = pdf_text(app, world.apprentice, world.apprentice)
    for found in (issued, second):
        assert squeezed(found["credential_id"]) in squeezed(text)
    assert squeezed(VERIFY_URL) in squeezed(text)
    assert squeezed(f"Revoked on {dates.today().isoformat()}") in squeezed(text)
    assert "Credential file" not in text  # no download links in the PDF


def test_a_portfolio_as_of_before_the_issue_lists_no_credential(app, world, issued):
    from apprentice.portfolios.services import portfolio_of

    with app.test_request_context():
        before = portfolio_of(world.apprentice.id, as_of=dates.today() - timedelta(days=1))
        now = portfolio_of(world.apprentice.id)
    assert before.sections == ()
    assert [line.credential_id for line in now.sections[0].data.lines] == \
        [issued["credential_id"]]
