"""Two installations in one test: each an app from the app factory with its own instance
folder (its own database and issuer keys). A credential the first issues verifies in the
second given the first's public key set (its ``/issuer/keys``), through
``verify_credential`` and through the second's ``flask apprentice verify-credential``;
without it the second cannot vouch for the key; after the first rotates its key, old and
new credentials both verify with its new key set; and a credential of the second does
not pass for one of the first.

Then backups: the issuer's keys travel beside the database's backup (``flask apprentice
backup``), so a restored installation signs as the same issuer and what it issued still
verifies; restored key files stay owner-only.

The first installation is reached as ``http://library-one.test``, the second as
``http://library-two.test``: their credentials name different issuers and key URLs.
"""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from apprentice.credentials import keys, verify
from apprentice.credentials.jwt import Outcome
from tests.conftest import app_on_copy
from tests.factories import PersonFactory
from tests.support.credential_world import build_credential_world, complete_and_issue

ONE = "http://library-one.test"
TWO = "http://library-two.test"


class Installation:
    """One app with its instance folder and the address it is reached at."""

    def __init__(self, app, base_url: str, instance: Path):
        self.app, self.base_url, self.instance = app, base_url, instance
        self.world = build_credential_world(app, PersonFactory(app))
        self.issued_areas = 0

    def get(self, path: str):
        response = self.app.test_client().get(path, base_url=self.base_url)
        assert response.status_code == 200, (path, response.status_code)
        return response

    def issue(self) -> dict:
        """The next area of Robin's complete, and Carmen issues its credential."""
        found = complete_and_issue(self.app, self.world, self.issued_areas, self.base_url)
        self.issued_areas += 1
        return found

    def key_set(self) -> bytes:
        """The published key set, as a verifier elsewhere saves it."""
        return self.get("/issuer/keys").data

    def status_list(self, url: str) -> bytes | None:
        """A status list of this installation's, as its public URL serves it."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.base_url:
            return None
        return self.get(parts.path).data

    def cli(self, *args: str):
        return self.app.test_cli_runner().invoke(args=["apprentice", *args])

    def current_kid(self) -> str:
        with self.app.app_context():
            return keys.current_key().kid

    def verify(self, data, *, key_file=None, status_from=None) -> verify.Report:
        """``data`` checked by this installation, offline: with ``status_from``'s status
        lists (read as a verifier online would, without a network in the test)."""
        with self.app.test_request_context(base_url=self.base_url):
            return verify.verify_credential(
                data, key_file=key_file, online=False,
                status_lookup=status_from.status_list if status_from else None)


@pytest.fixture
def one(migrated_db, tmp_path):
    (tmp_path / "one").mkdir()
    with app_on_copy(migrated_db, tmp_path / "one") as app:
        yield Installation(app, ONE, tmp_path / "one")


@pytest.fixture
def two(migrated_db, tmp_path):
    (tmp_path / "two").mkdir()
    with app_on_copy(migrated_db, tmp_path / "two") as app:
        yield Installation(app, TWO, tmp_path / "two")


def outcome(report: verify.Report, name: str) -> Outcome:
    return report.check(name).outcome


# -- one installation's credential, checked by another ---------------------------------------

def test_the_second_verifies_the_firsts_credential_given_its_key_set(one, two):
    issued = one.issue()
    report = two.verify(issued["token"], key_file=one.key_set(), status_from=one)
    assert report.verdict is verify.Verdict.VALID, report.lines()
    assert report.check("key").detail.endswith("from the key file you gave")
    assert report.check("status").detail.startswith("not revoked")
    assert report.credential["issuer"]["id"] == f"{ONE}/issuer"
    # The .json handed over verifies as the token does.
    enveloped = one.app.test_client().get(f"/credentials/{issued['uuid']}.json",
                                          base_url=ONE)
    assert enveloped.status_code == 302  # nobody signed in: the files are the holder's
    from tests.loop import as_person

    data = as_person(one.app, one.world.apprentice).get(
        f"/credentials/{issued['uuid']}.json").data
    assert two.verify(data, key_file=one.key_set(), status_from=one).verdict \
        is verify.Verdict.VALID


def test_without_the_key_set_the_second_cannot_vouch_for_the_key(one, two):
    issued = one.issue()
    report = two.verify(issued["token"])
    assert report.verdict is not verify.Verdict.VALID
    assert outcome(report, "key") is Outcome.NOT_CHECKED
    assert "not a key of this installation" in report.check("key").detail
    assert outcome(report, "signature") is Outcome.NOT_CHECKED


def test_the_seconds_command_line_checks_the_firsts_credential_offline(one, two, tmp_path):
    issued = one.issue()
    token, key_file = tmp_path / "credential.jwt", tmp_path / "library-one-keys.json"
    token.write_text(issued["token"], encoding="ascii")
    key_file.write_bytes(one.key_set())
    result = two.cli("verify-credential", str(token), "--issuer-key", str(key_file),
                     "--offline")
    lines = result.output.splitlines()
    assert "Signature: passed - the signature matches the key" in lines
    assert any(line.startswith("Key: passed - ") and line.endswith(
        "from the key file you gave") for line in lines), lines
    assert any(line.startswith("Issuer: passed - ") for line in lines), lines
    # Offline, the first's status list is out of reach: said, never shown as fine.
    assert "Revocation status: not checked - could not be checked: offline: the issuer's " \
        "status list was not fetched" in lines, lines
    assert lines[-1] == "Verdict: UNVERIFIED (Not verified: revocation status could not be checked)"
    assert result.exit_code == 1
    # The same command without the key file: the key is unknown here.
    bare = two.cli("verify-credential", str(token), "--offline")
    assert any(line.startswith("Key: not checked - ") for line in bare.output.splitlines())
    assert "Verdict: VALID" not in bare.output


def test_the_status_list_as_a_file_completes_the_offline_check(one, two, tmp_path):
    """A verifier without a network saves the issuer's key set and status list once:
    the credential is then VALID offline, and REVOKED with a list saved after the
    revocation; each report says when the issuer made the list it read."""
    from apprentice.credentials import services as credentials
    from apprentice.people.services import get_person

    issued = one.issue()
    token, key_file = tmp_path / "credential.jwt", tmp_path / "keys.json"
    token.write_text(issued["token"], encoding="ascii")
    key_file.write_bytes(one.key_set())
    status_url = json.loads(base64.urlsafe_b64decode(
        issued["token"].split(".")[1] + "==="))["credentialStatus"]["statusListCredential"]
    before = tmp_path / "status-before.jwt"
    before.write_bytes(one.status_list(status_url))

    valid = two.cli("verify-credential", str(token), "--issuer-key", str(key_file),
                    "--status-list", str(before), "--offline")
    assert valid.exit_code == 0, valid.output
    assert any(line.startswith("Revocation status: passed - not revoked (list read at ")
               and ", made by the issuer at " in line for line in valid.output.splitlines())

    with one.app.test_request_context(base_url=ONE):
        credentials.revoke(credentials.get_credential(issued["id"]),
                           get_person(one.world.coordinator.id), "Signed off in error.")
    after = tmp_path / "status-after.jwt"
    after.write_bytes(one.status_list(status_url))
    revoked = two.cli("verify-credential", str(token), "--issuer-key", str(key_file),
                      "--status-list", str(after), "--offline")
    assert revoked.exit_code == 1
    assert revoked.output.splitlines()[-1] == \
        "Verdict: INVALID (Not valid: revoked by its issuer)"

    # A list from another issuer (the second's own) is not taken for the first's.
    two.issue()
    with two.app.test_request_context(base_url=TWO):
        other = credentials.status_list_token(1)
    foreign = tmp_path / "status-foreign.jwt"
    foreign.write_text(other, encoding="ascii")
    mixed = two.cli("verify-credential", str(token), "--issuer-key", str(key_file),
                    "--status-list", str(foreign), "--offline")
    assert mixed.exit_code == 1
    assert "Revocation status: not checked - could not be checked: the status list was " \
        "issued by someone else" in mixed.output, mixed.output


def test_after_a_rotation_old_and_new_credentials_verify_with_the_new_key_set(one, two):
    old = one.issue()
    keys_before = one.key_set()
    old_kid = one.current_kid()
    rotated = one.cli("keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    new_kid = one.current_kid()
    assert new_kid != old_kid
    new = one.issue()
    key_set = one.key_set()
    assert {key["kid"] for key in json.loads(key_set)["keys"]} == {old_kid, new_kid}
    for issued, kid in ((old, old_kid), (new, new_kid)):
        report = two.verify(issued["token"], key_file=key_set, status_from=one)
        assert report.verdict is verify.Verdict.VALID, report.lines()
        assert report.kid == f"{ONE}/issuer/keys/{kid}"
    # The key set saved before the rotation does not know the new key.
    report = two.verify(new["token"], key_file=keys_before, status_from=one)
    assert report.verdict is verify.Verdict.INVALID
    assert report.check("key").detail.startswith("unknown key")


def test_a_credential_of_the_second_does_not_pass_with_the_firsts_keys(one, two):
    one.issue()
    theirs = two.issue()
    report = one.verify(theirs["token"], key_file=one.key_set(), status_from=two)
    assert report.verdict is verify.Verdict.INVALID
    assert report.check("key").detail.startswith("unknown key")
    assert outcome(report, "signature") is Outcome.NOT_CHECKED
    # Nor does a token of the second, re-signed claims aside, borrow the first's kid:
    # the first's key does not match the second's signature.
    _, payload, signature = theirs["token"].split(".")
    first_kid = one.current_kid()
    forged_header = _b64(json.dumps({"alg": "EdDSA", "kid": f"{ONE}/issuer/keys/{first_kid}",
                                     "typ": "JWT"}, separators=(",", ":")).encode())
    forged = f"{forged_header}.{payload}.{signature}"
    report = one.verify(forged, key_file=one.key_set(), status_from=two)
    assert report.verdict is verify.Verdict.INVALID
    assert outcome(report, "signature") is Outcome.FAILED


def _b64(data: bytes) -> str:
    return keys.b64url(data)


# -- backup and restore carry the keys ------------------------------------------------------

def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_backup_takes_the_keys_to_a_new_installation(one, two, tmp_path):
    issued = one.issue()
    kid = one.current_kid()
    own_kid = two.current_kid()  # the new server made a key of its own on first use
    backups = tmp_path / "backups"
    backups.mkdir()
    made = one.cli("backup", str(backups / "library-one.sqlite3"))
    assert made.exit_code == 0, made.output
    beside = backups / "library-one.sqlite3.keys"
    assert f"{beside}" in made.output
    assert mode(beside) == 0o700
    assert {p.name for p in beside.iterdir()} == {"current", f"{kid}.json", f"{kid}.pem"}
    assert all(mode(p) == 0o600 for p in beside.iterdir())

    restored = two.cli("restore", str(backups / "library-one.sqlite3"), "--yes")
    assert restored.exit_code == 0, restored.output
    two.base_url = ONE  # the new server now answers at the library's address
    assert f"key {kid} signs" in restored.output
    assert "revoke again any credential withdrawn since" in restored.output
    assert two.current_kid() == kid  # it signs as the first did
    folder = two.instance / keys.KEY_FOLDER
    assert mode(folder) == 0o700
    assert {p.name for p in folder.glob("*.pem")} == {f"{kid}.pem", f"{own_kid}.pem"}
    assert all(mode(p) == 0o600 for p in folder.iterdir() if not p.name.startswith("."))
    with two.app.app_context():
        published = {key.kid: key for key in keys.public_keys()}
    assert published[kid].current and not published[own_kid].current
    # What the first issued verifies on the restored installation with its own keys,
    # and the next credential is signed by the same key.
    report = two.verify(issued["token"])
    assert report.verdict is verify.Verdict.VALID, report.lines()
    assert report.check("key").detail.endswith("(current key)")
    # The restored database holds the first's people and records: Robin's second area
    # completed there gets a credential signed with the same key.
    again = complete_and_issue(two.app, one.world, 1, ONE)
    header = json.loads(base64.urlsafe_b64decode(again["token"].split(".")[0] + "=="))
    assert header["kid"] == f"{ONE}/issuer/keys/{kid}"
    assert two.verify(again["token"]).verdict is verify.Verdict.VALID


def test_restoring_an_older_backup_keeps_the_newer_signing_key(one, tmp_path):
    one.issue()
    old_kid = one.current_kid()
    made = one.cli("backup", str(tmp_path / "before.sqlite3"))
    assert made.exit_code == 0, made.output
    assert one.cli("keys", "rotate").exit_code == 0
    new_kid = one.current_kid()
    restored = one.cli("restore", str(tmp_path / "before.sqlite3"), "--yes")
    assert restored.exit_code == 0, restored.output
    # A key rotated since (perhaps because the old one leaked) is not undone.
    assert one.current_kid() == new_kid
    assert f"key {new_kid} signs (this installation's newer key)" in restored.output
    with one.app.app_context():
        assert {key.kid for key in keys.public_keys()} == {old_kid, new_kid}


def test_a_backup_whose_keys_were_tampered_with_restores_nothing(one, two, tmp_path):
    one.issue()
    kid = one.current_kid()
    two_kid = two.current_kid()
    assert one.cli("backup", str(tmp_path / "b.sqlite3")).exit_code == 0
    beside = tmp_path / "b.sqlite3.keys"
    # Another key's private half under this kid's name: not the key it claims to be.
    (beside / f"{kid}.pem").write_bytes(
        (two.instance / keys.KEY_FOLDER / f"{two_kid}.pem").read_bytes())
    with two.app.app_context():
        from apprentice.core.backup import table_counts

        before = table_counts()
    restored = two.cli("restore", str(tmp_path / "b.sqlite3"), "--yes")
    assert restored.exit_code != 0
    assert f"{kid}.pem is not the key {kid}" in restored.output
    assert two.current_kid() == two_kid
    with two.app.app_context():
        assert table_counts() == before  # the database was not touched either
