"""The demo's Open Badge from end to end: Carmen sees Jordan's Access Services area
complete on the programme page and issues its credential; Jordan downloads it from the
portfolio; someone at another library, with no account, checks it on the verify page
(valid), then a copy with one character changed (not valid: signature); Carmen revokes
it with a reason, and the same file is then reported revoked. Every page axe-clean."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from tests.browser.steps import CARMEN, JORDAN, click_to_go, expect

pytestmark = pytest.mark.browser

AREA = "Access Services"


def one_character_changed(token: str) -> str:
    """The token with the achievement's name changed by one letter (still JSON)."""
    header, payload, signature = token.split(".")
    text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert AREA in text
    changed = text.replace(AREA, AREA.replace("Access", "Acces5"), 1)
    return ".".join([header, base64.urlsafe_b64encode(changed.encode()).decode().rstrip("="),
                     signature])


def check(verifier, text: str, check_axe) -> str:
    """Paste ``text`` on the verify page; the report's heading."""
    verifier.goto("/verify")
    verifier.get_by_label("Paste the credential").fill(text)
    click_to_go(verifier, verifier.get_by_role("button", name="Verify"))
    check_axe(verifier)
    return verifier.locator("#verdict").inner_text()


def test_a_credential_is_issued_handed_over_verified_and_revoked(page, page_at, sign_in,
                                                                  check_axe):
    sign_in(page, CARMEN)
    page.goto("/")
    click_to_go(page, page.get_by_role("link", name="Jordan Lee").first)
    click_to_go(page, page.get_by_role("link", name=re.compile("Issue or manage credentials")))
    check_axe(page)
    card = page.locator(".ap-card", has=page.get_by_role("heading", name=AREA, exact=True))
    click_to_go(page, card.get_by_role("button", name="Issue credential"))
    expect(page.locator(".ap-flash")).to_contain_text(f"Issued: {AREA}")
    check_axe(page)
    credentials_page = page.url

    jordan = page_at(page.apprentice_width)
    sign_in(jordan, JORDAN)
    click_to_go(jordan, jordan.get_by_role("link", name="Your portfolio", exact=True))
    expect(jordan.get_by_role("heading", name="Credentials")).to_be_visible()
    check_axe(jordan)
    with jordan.expect_download() as download:
        jordan.get_by_role("link", name="Credential file (JWT)").first.click()
    assert download.value.suggested_filename.endswith(".jwt")
    token = Path(download.value.path()).read_text(encoding="ascii").strip()

    verifier = page_at(page.apprentice_width)  # another library: no account here
    assert check(verifier, token, check_axe) == "Valid: every check passed"
    expect(verifier.locator("main")).to_contain_text(AREA)
    assert check(verifier, one_character_changed(token), check_axe) == \
        "Not valid: signature failed"

    page.goto(credentials_page)
    page.get_by_text("Revoke…").first.click()
    page.get_by_label("Why is it revoked?").fill("Signed off against the wrong programme.")
    click_to_go(page, page.get_by_role("button", name=re.compile("^Revoke")))
    expect(page.locator(".ap-credentials")).to_contain_text(
        "because: Signed off against the wrong programme.")
    check_axe(page)

    assert check(verifier, token, check_axe) == "Not valid: revoked by its issuer"
