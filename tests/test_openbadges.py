"""Open Badges 3.0 credentials and their VC-JWT proof (apprentice.credentials).

Built credentials are checked against 1EdTech's own JSON Schema and context
(tests/data/openbadges, copied from the specification's repository); tokens are made
with keys built here with ``cryptography``, and tampered with one field at a time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import jsonschema
import pytest
from jwt.api_jws import PyJWS

from apprentice.competencies.models import SupervisionLevel
from apprentice.credentials import jwt as vcjwt
from apprentice.credentials import openbadges as ob
from apprentice.credentials.jwt import Outcome
from tests.support.credentials import b64url, make_key

DATA = Path(__file__).parent / "data" / "openbadges"
SCHEMA = json.loads((DATA / "ob_v3p0_achievementcredential_schema.json").read_text())
OB_CONTEXT = json.loads((DATA / "context-3.0.3.json").read_text())["@context"]
SPEC_EXAMPLE = json.loads((DATA / "basic-openbadgecredential.json").read_text())

ISSUER = {"id": "https://library.example/apprentice/issuer", "type": "Profile",
          "name": "Riverside Library", "url": "https://library.example/apprentice/",
          "email": "badges@library.example"}
ISSUED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
CREDENTIAL_ID = "urn:uuid:6f1d8a52-3f0e-4a43-9d1b-0c9e2f6b7a10"
FRAMEWORK = ob.FrameworkRef(name="Library Support Staff Certification", lineage="f" * 32,
                            version=3, area_completion_percent=100, electives_required=3)


def circulation(name="Circulation", lineage="a" * 32, wording=("Checks items out",
                                                                 "Renews loans")):
    return ob.AreaRef(lineage=lineage, name=name, competencies=(
        ob.CompetencyRef(code="CIRC.1", lineage="1" * 32, statement=wording[0]),
        ob.CompetencyRef(code="CIRC.2", lineage="2" * 32, statement=wording[1]),
    ))


def award(areas=None, **changes) -> ob.Award:
    values = dict(person_name="Jordan Reyes", email="Jordan.Reyes@library.example",
                  issued_on=ISSUED, framework=FRAMEWORK,
                  areas=(circulation(),) if areas is None else areas,
                  level_required=SupervisionLevel.INDEPENDENT,
                  level_reached=SupervisionLevel.CAN_TRAIN, minutes_verified=750)
    return ob.Award(**{**values, **changes})


def area_credential(**options) -> dict:
    return ob.area_credential(award(), issuer=ISSUER, credential_id=CREDENTIAL_ID,
                              salt="sea-salt", **options)


def programme_credential() -> dict:
    reference = ob.AreaRef(lineage="b" * 32, name="Reference", competencies=(
        ob.CompetencyRef(code="REF.1", lineage="3" * 32, statement="Answers questions"),))
    return ob.programme_credential(award(areas=(circulation(), reference)), issuer=ISSUER,
                                   credential_id=CREDENTIAL_ID, salt="sea-salt")


# -- keys, made here ----------------------------------------------------------------------

KEY = make_key("key-one")
OTHER_KEY = make_key("key-two")
LOOKUP = vcjwt.key_set({"keys": [KEY.public_jwk, OTHER_KEY.public_jwk]}, "the test key file")


def parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload), signature


def encode(value) -> str:
    return b64url(json.dumps(value).encode())


def signed_raw(header: dict, payload: dict, key=KEY) -> str:
    """A token signed with a valid key but made by hand (claims we choose)."""
    headers = {k: v for k, v in header.items() if k != "alg"}
    return PyJWS().encode(json.dumps(payload).encode(), key.private_key, algorithm="EdDSA",
                          headers=headers)


def outcomes(verification) -> dict[str, Outcome]:
    return {check.name: check.outcome for check in verification.checks}


# -- the document ---------------------------------------------------------------------------

def schema_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft201909Validator(
        SCHEMA, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(document)]


@pytest.mark.parametrize("build", [pytest.param(area_credential, id="area"),
                                   pytest.param(programme_credential, id="programme")])
def test_built_credentials_validate_against_the_official_schema(build):
    assert schema_errors(build()) == []


def test_the_schema_check_accepts_the_spec_example_and_catches_a_broken_one():
    assert schema_errors(SPEC_EXAMPLE) == []
    broken = area_credential()
    del broken["credentialSubject"]["achievement"]["criteria"]
    broken["credentialSubject"]["identifier"][0]["identityType"] = "e-mail"
    errors = schema_errors(broken)
    assert any("criteria" in error for error in errors)
    assert any("identifier/0/identityType" in error for error in errors)


# The terms of VC 2.0's VerifiableCredential; the OB 3.0 terms are read from its context.
VC_TERMS = {"@context", "id", "type", "issuer", "validFrom", "validUntil", "name",
            "description", "credentialSubject", "credentialStatus", "credentialSchema",
            "evidence", "proof", "refreshService", "termsOfUse"}
OB_TOP = {term for term in OB_CONTEXT if not term.startswith("@")}
SCOPED = {term: set(definition["@context"]) - {"@protected"}
          for term, definition in OB_CONTEXT.items()
          if isinstance(definition, dict) and "@context" in definition}
SCOPED["VerifiableCredential"] = VC_TERMS
ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


def undefined_terms(node, path="$") -> list[str]:
    """What a JSON-LD processor in safe mode would refuse, approximately: a property or
    type no context defines where it is used (type-scoped terms hold in their node only,
    as JSON-LD 1.1 says), or an id that is not an absolute IRI."""
    found = []
    if isinstance(node, list):
        for index, item in enumerate(node):
            found += undefined_terms(item, f"{path}[{index}]")
    elif isinstance(node, dict):
        types = node.get("type", [])
        types = [types] if isinstance(types, str) else types
        allowed = OB_TOP | {"id", "type"}
        for name in types:
            allowed |= SCOPED.get(name, set())
            if name not in OB_TOP and name != "VerifiableCredential":
                found.append(f"{path}.type: {name}")
        if "id" in node and not ABSOLUTE_IRI.match(node["id"]):
            found.append(f"{path}.id: {node['id']}")
        for key, value in node.items():
            if key not in allowed:
                found.append(f"{path}.{key}")
            elif key not in ("@context", "type"):
                found += undefined_terms(value, f"{path}.{key}")
    return found


@pytest.mark.parametrize("build", [pytest.param(area_credential, id="area"),
                                   pytest.param(programme_credential, id="programme")])
def test_only_terms_the_contexts_define_are_used(build):
    assert undefined_terms(build()) == []


def test_the_term_check_accepts_the_spec_example_and_catches_our_own_terms():
    assert undefined_terms(SPEC_EXAMPLE) == []
    credential = area_credential()
    credential["credentialSubject"]["hoursVerified"] = 12.5
    credential["credentialSubject"]["achievement"]["criteria"]["level"] = "independent"
    assert sorted(undefined_terms(credential)) == [
        "$.credentialSubject.achievement.criteria.level", "$.credentialSubject.hoursVerified"]


def test_the_credential_has_what_the_issue_lists():
    credential = area_credential()
    assert credential["@context"] == ["https://www.w3.org/ns/credentials/v2",
                                      "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert credential["id"] == CREDENTIAL_ID
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["issuer"] == {**ISSUER, "type": ["Profile"]}
    assert credential["validFrom"] == "2026-11-02T09:30:00Z"
    assert credential["name"] == "Circulation (Library Support Staff Certification)"
    subject = credential["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["id"].startswith("urn:uuid:")
    assert subject["identifier"][1] == {"type": "IdentityObject", "hashed": False,
                                        "identityHash": "Jordan Reyes", "identityType": "name"}
    achievement = subject["achievement"]
    assert achievement["id"] == \
        f"https://library.example/apprentice/achievements/{'f' * 32}/{'a' * 32}"
    assert achievement["type"] == ["Achievement"]
    assert achievement["name"] == "Circulation"
    assert achievement["version"] == "3"
    narrative = achievement["criteria"]["narrative"]
    assert "- CIRC.1: Checks items out\n- CIRC.2: Renews loans" in narrative
    assert "every competency" in narrative and "*Does it independently* or above" in narrative
    framework, *competencies = achievement["alignment"]
    assert framework["targetName"] == "Library Support Staff Certification"
    assert [(a["targetCode"], a["targetName"]) for a in competencies] == [
        ("CIRC.1", "Checks items out"), ("CIRC.2", "Renews loans")]


def test_level_and_hours_are_results_that_point_into_the_achievement():
    subject = area_credential()["credentialSubject"]
    descriptions = {d["id"]: d for d in subject["achievement"]["resultDescription"]}
    level, hours = subject["result"]
    levels = descriptions[level["resultDescription"]]
    assert levels["resultType"] == "RubricCriterionLevel"
    names = {rung["id"]: rung["name"] for rung in levels["rubricCriterionLevel"]}
    assert names[level["achievedLevel"]] == "Can train others"
    assert names[levels["requiredLevel"]] == "Does it independently"
    assert [rung["points"] for rung in levels["rubricCriterionLevel"]] == list("123456")
    assert descriptions[hours["resultDescription"]]["resultType"] == "ext:VerifiedHours"
    assert hours["value"] == "12.5"  # 750 minutes


def test_the_identity_hash_is_the_specs():
    # The specification's own example: 'a@example.com' salted with 'Kosher'.
    assert ob.identity_hash("a@example.com", "Kosher") == \
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    identifier = area_credential()["credentialSubject"]["identifier"][0]
    expected = hashlib.sha256(b"jordan.reyes@library.example" + b"sea-salt").hexdigest()
    assert identifier == {"type": "IdentityObject", "hashed": True,
                          "identityHash": f"sha256${expected}",
                          "identityType": "emailAddress", "salt": "sea-salt"}
    assert ob.email_matches(identifier, " jordan.REYES@library.example")
    assert not ob.email_matches(identifier, "jordan@library.example")


def test_each_credential_gets_its_own_salt_when_none_is_given():
    first, second = (ob.area_credential(award(), issuer=ISSUER, credential_id=CREDENTIAL_ID)
                     ["credentialSubject"]["identifier"][0] for _ in range(2))
    assert first["salt"] != second["salt"] and first["identityHash"] != second["identityHash"]
    assert ob.email_matches(first, "jordan.reyes@library.example")


def test_the_achievement_id_follows_lineage_not_wording_or_rows():
    def achievement_of(area):
        credential = ob.area_credential(award(areas=(area,)), issuer=ISSUER,
                                        credential_id=CREDENTIAL_ID)
        return credential["credentialSubject"]["achievement"]["id"]

    # The same area read from another row (id 7 -> 42), renamed and reworded: the
    # lineage is all that the id is made from.
    rows = {7: circulation(), 42: circulation(name="Circulation desk",
                                              wording=("Lends items", "Extends loans"))}
    assert achievement_of(rows[7]) == achievement_of(rows[42])
    assert achievement_of(circulation(lineage="c" * 32)) != achievement_of(rows[7])
    programme = programme_credential()["credentialSubject"]["achievement"]["id"]
    assert programme == f"https://library.example/apprentice/achievements/{'f' * 32}"


def test_user_text_cannot_become_markdown_links_in_the_criteria():
    area = circulation(wording=("[Prize](https://evil.example) *now*", "<b>Renews</b>"))
    narrative = ob.area_credential(award(areas=(area,)), issuer=ISSUER,
                                   credential_id=CREDENTIAL_ID
                                   )["credentialSubject"]["achievement"]["criteria"]["narrative"]
    assert r"\[Prize\](https://evil.example) \*now\*" in narrative
    assert r"\<b\>Renews\</b\>" in narrative


def test_the_status_hook_and_an_end_date_go_into_the_credential():
    status = {"id": "https://library.example/apprentice/status/1#7",
              "type": "BitstringStatusListEntry"}
    credential = area_credential(status=status, valid_until=ISSUED + timedelta(days=365))
    assert credential["credentialStatus"] == status
    assert credential["validUntil"] == "2027-11-02T09:30:00Z"
    assert schema_errors(credential) == []


@pytest.mark.parametrize("change, message", [
    pytest.param({"areas": ()}, "exactly one area", id="no-area"),
    pytest.param({"issued_on": datetime(2026, 11, 2, 9, 30)}, "time zone", id="naive-date"),
    pytest.param({"minutes_verified": -5}, "not negative", id="negative-minutes"),
])
def test_inputs_that_cannot_make_a_credential_are_refused(change, message):
    with pytest.raises(ob.InvalidAward, match=message):
        ob.area_credential(award(**change), issuer=ISSUER, credential_id=CREDENTIAL_ID)


# -- the VC-JWT proof -------------------------------------------------------------------------

def test_a_signed_credential_verifies_and_says_which_key():
    credential = area_credential()
    token = vcjwt.sign(credential, KEY)
    result = vcjwt.verify(token, LOOKUP, now=ISSUED + timedelta(days=1))
    assert result.ok, result.failures
    assert set(outcomes(result).values()) == {Outcome.PASSED}
    assert result.check("key").detail == "key key-one from the test key file"
    assert result.kid == "key-one" and result.key_source == "the test key file"
    assert result.credential == credential


def test_the_token_is_the_credential_with_the_claims_ob_asks_for():
    credential = area_credential(valid_until=ISSUED + timedelta(days=30))
    header, payload, _ = parts(vcjwt.sign(credential, KEY, kid="https://library.example/k/1"))
    assert header == {"alg": "EdDSA", "kid": "https://library.example/k/1", "typ": "JWT"}
    assert payload == {**credential, "iss": ISSUER["id"],
                       "sub": credential["credentialSubject"]["id"], "jti": CREDENTIAL_ID,
                       "nbf": int(ISSUED.timestamp()),
                       "exp": int((ISSUED + timedelta(days=30)).timestamp())}
    assert "vc" not in payload


def test_a_key_url_as_kid_is_found_by_its_last_segment():
    token = vcjwt.sign(area_credential(), KEY, kid="https://library.example/issuer/keys/key-one")
    assert vcjwt.verify(token, LOOKUP, now=ISSUED).ok


def tampered_payload(token: str, change) -> str:
    header, _, signature = token.split(".")
    _, body, _ = parts(token)
    change(body)
    return f"{header}.{encode(body)}.{signature}"


def set_path(*path_and_value):
    *path, value = path_and_value

    def change(body):
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


@pytest.mark.parametrize("change", [
    pytest.param(set_path("credentialSubject", "identifier", 0, "identityHash",
                          "sha256$" + "0" * 64), id="subject-identity"),
    pytest.param(set_path("credentialSubject", "identifier", 1, "identityHash",
                          "Someone Else"), id="subject-name"),
    pytest.param(set_path("validFrom", "2020-01-01T00:00:00Z"), id="validFrom"),
    pytest.param(lambda body: body.update(validFrom="2020-01-01T00:00:00Z",
                                          nbf=1577836800), id="validFrom-and-nbf"),
    pytest.param(set_path("credentialSubject", "achievement", "name", "Cataloguing"),
                 id="achievement-name"),
    pytest.param(set_path("credentialSubject", "result", 1, "value", "1200"),
                 id="hours"),
    pytest.param(set_path("issuer", "name", "Another Library"), id="issuer-name"),
])
def test_any_changed_field_of_the_payload_fails_the_signature(change):
    token = tampered_payload(vcjwt.sign(area_credential(), KEY), change)
    result = vcjwt.verify(token, LOOKUP, now=ISSUED + timedelta(days=1))
    assert not result.ok
    assert result.check("signature").outcome is Outcome.FAILED
    assert "signature does not match" in result.check("signature").detail
    assert result.check("key").outcome is Outcome.PASSED


def test_a_changed_signature_fails():
    header, payload, signature = vcjwt.sign(area_credential(), KEY).split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    token = f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1:]}"
    result = vcjwt.verify(token, LOOKUP, now=ISSUED)
    assert outcomes(result)["signature"] is Outcome.FAILED and not result.ok


def test_a_header_naming_another_known_key_fails_the_signature():
    _, payload, signature = vcjwt.sign(area_credential(), KEY).split(".")
    header = encode({"alg": "EdDSA", "kid": "key-two", "typ": "JWT"})
    result = vcjwt.verify(f"{header}.{payload}.{signature}", LOOKUP, now=ISSUED)
    assert result.check("key").detail == "key key-two from the test key file"
    assert result.check("signature").outcome is Outcome.FAILED and not result.ok


def test_a_header_naming_an_unknown_key_is_reported_and_not_checked_further():
    _, payload, signature = vcjwt.sign(area_credential(), KEY).split(".")
    header = encode({"alg": "EdDSA", "kid": "key-nobody-has", "typ": "JWT"})
    result = vcjwt.verify(f"{header}.{payload}.{signature}", LOOKUP, now=ISSUED)
    assert result.check("key").detail == "unknown key key-nobody-has"
    assert result.check("signature").outcome is Outcome.NOT_CHECKED
    assert not result.ok


def test_a_token_signed_with_a_key_the_verifier_does_not_hold_is_unknown():
    token = vcjwt.sign(area_credential(), make_key("key-elsewhere"))
    result = vcjwt.verify(token, LOOKUP, now=ISSUED)
    assert outcomes(result)["key"] is Outcome.FAILED
    assert result.check("key").detail == "unknown key key-elsewhere"


def test_alg_none_is_refused():
    _, payload, _ = vcjwt.sign(area_credential(), KEY).split(".")
    header = encode({"alg": "none", "kid": "key-one", "typ": "JWT"})
    result = vcjwt.verify(f"{header}.{payload}.", LOOKUP, now=ISSUED)
    assert result.check("shape").detail == "algorithm 'none' refused: only EdDSA is accepted"
    assert outcomes(result)["signature"] is Outcome.NOT_CHECKED and not result.ok


def test_hs256_signed_with_the_public_key_is_refused():
    """The classic confusion: an HMAC keyed with the (public) key bytes."""
    _, payload, _ = parts(vcjwt.sign(area_credential(), KEY))
    public = base64.urlsafe_b64decode(KEY.public_jwk["x"] + "=")
    token = PyJWS().encode(json.dumps(payload).encode(), public, algorithm="HS256",
                           headers={"kid": "key-one"})
    result = vcjwt.verify(token, LOOKUP, now=ISSUED)
    assert result.check("shape").detail == "algorithm 'HS256' refused: only EdDSA is accepted"
    assert not result.ok


def test_not_yet_valid_and_expired_are_reported_with_their_dates():
    """Beyond the clock-skew leeway either side; within it, two servers' clocks may
    differ by that much (a status list made a moment after the verifier's clock read)."""
    token = vcjwt.sign(area_credential(valid_until=ISSUED + timedelta(days=30)), KEY)
    skew, second = vcjwt.CLOCK_SKEW, timedelta(seconds=1)
    early = vcjwt.verify(token, LOOKUP, now=ISSUED - skew - second)
    assert early.check("dates").detail == "not yet valid: valid from 2026-11-02 09:30:00 UTC"
    late = vcjwt.verify(token, LOOKUP, now=ISSUED + timedelta(days=30) + skew)
    assert late.check("dates").detail == "expired on 2026-12-02 09:30:00 UTC"
    assert vcjwt.verify(token, LOOKUP, now=ISSUED - skew).check("dates").passed
    assert vcjwt.verify(token, LOOKUP, now=ISSUED + timedelta(days=30) + skew - second
                        ).check("dates").passed
    for result in (early, late):
        assert not result.ok
        assert {n for n, o in outcomes(result).items() if o is not Outcome.PASSED} == {"dates"}
    assert vcjwt.verify(token, LOOKUP, now=ISSUED).check("dates").detail == \
        "valid from 2026-11-02 09:30:00 UTC until 2026-12-02 09:30:00 UTC"


def claims_changed(**claims) -> dict:
    credential = area_credential()
    payload = {**credential, **vcjwt.claims_for(credential)}
    for name, value in claims.items():
        if value is None:
            del payload[name]
        else:
            payload[name] = value
    return payload


@pytest.mark.parametrize("payload, reason", [
    pytest.param(claims_changed(iss="https://other.example/issuer"),
                 "iss is 'https://other.example/issuer' but the credential's issuer.id is "
                 "'https://library.example/apprentice/issuer'", id="iss"),
    pytest.param(claims_changed(sub="urn:uuid:00000000-0000-0000-0000-000000000000"),
                 "sub is 'urn:uuid:00000000-0000-0000-0000-000000000000' but", id="sub"),
    pytest.param(claims_changed(jti="urn:uuid:11111111-1111-1111-1111-111111111111"),
                 "jti is 'urn:uuid:11111111-1111-1111-1111-111111111111' but", id="jti"),
    pytest.param(claims_changed(nbf=int(ISSUED.timestamp()) - 3600),
                 f"nbf ({int(ISSUED.timestamp()) - 3600}) is not the credential's validFrom",
                 id="nbf"),
    pytest.param(claims_changed(sub=None), "no sub claim", id="no-sub"),
    pytest.param(claims_changed(exp=int(ISSUED.timestamp()) + 60),
                 "exp is set but the credential has no validUntil", id="exp-without-validUntil"),
])
def test_claims_that_disagree_with_the_credential_fail(payload, reason):
    token = signed_raw({"kid": "key-one", "typ": "JWT"}, payload)
    result = vcjwt.verify(token, LOOKUP, now=ISSUED + timedelta(seconds=30))
    assert result.check("signature").outcome is Outcome.PASSED
    assert result.check("claims").outcome is Outcome.FAILED
    assert reason in result.check("claims").detail
    assert not result.ok


def header_and(payload_text: str, header=None) -> str:
    header = header or {"alg": "EdDSA", "kid": "key-one", "typ": "JWT"}
    return f"{encode(header)}.{b64url(payload_text.encode())}.c2ln"


GOOD_PAYLOAD = json.dumps(claims_changed())


@pytest.mark.parametrize("token, reason", [
    pytest.param("", "expected 3 parts separated by dots, found 1", id="empty"),
    pytest.param("not a token", "expected 3 parts", id="words"),
    pytest.param("a.b.c.d.e", "found 5", id="jwe-shaped"),
    pytest.param("!!.$$.%%", "the header is empty or not base64url", id="not-base64url"),
    pytest.param(f"{b64url(b'{not json')}.e30.c2ln", "the header is not JSON",
                 id="header-not-json"),
    pytest.param(f"{encode([1, 2])}.e30.c2ln", "the header is not a JSON object",
                 id="header-array"),
    pytest.param(header_and("[1, 2]"), "the payload is not a JSON object", id="payload-array"),
    pytest.param(header_and(GOOD_PAYLOAD[:-20]), "the payload is not JSON", id="payload-cut"),
    pytest.param(header_and('{"id": "a", "id": "b"}'), "a name given twice", id="duplicate-name"),
    pytest.param(header_and('{"nbf": NaN}'), "NaN", id="nan"),
    pytest.param(header_and("[" * 200_000 + "]" * 200_000), "the payload is not JSON",
                 id="deeply-nested"),
    pytest.param(header_and(GOOD_PAYLOAD).rsplit(".", 1)[0] + ".", "signature is empty",
                 id="no-signature"),
    pytest.param(header_and('{"vc": {}}'), "VC 1.1", id="vc-1.1"),
    pytest.param(header_and('{"@context": ["https://www.w3.org/ns/credentials/v2"]}'),
                 "not a VC 2.0 credential", id="not-open-badges"),
    pytest.param(header_and(GOOD_PAYLOAD, {"alg": "EdDSA", "kid": "key-one",
                                           "jku": "http://169.254.169.254/keys"}),
                 "fields OB 3.0 does not allow: jku", id="jku-header"),
    pytest.param(header_and(GOOD_PAYLOAD, {"alg": "EdDSA", "kid": "key-one", "typ": "JOSE"}),
                 "typ is 'JOSE'", id="typ"),
    pytest.param("é.é.é".encode(), "characters other than base64url", id="bytes-not-ascii"),
    pytest.param(12345, "not a token", id="not-text"),
])
def test_malformed_input_is_reported_never_raised(token, reason):
    result = vcjwt.verify(token, LOOKUP, now=ISSUED)
    assert result.check("shape").outcome is Outcome.FAILED
    assert reason in result.check("shape").detail
    assert all(check.outcome is Outcome.NOT_CHECKED for check in result.checks[1:])
    assert not result.ok and result.credential is None


def test_a_2_mb_token_is_refused_before_it_is_read(monkeypatch):
    def parse(*args):
        raise AssertionError("an oversize token was parsed")
    monkeypatch.setattr(vcjwt, "_json_object", parse)
    result = vcjwt.verify("a" * (2 * 1024 * 1024), LOOKUP, now=ISSUED)
    assert result.check("shape").detail == "larger than 1 MB: not read"
    assert not result.ok


@pytest.mark.parametrize("jwk, reason", [
    pytest.param({**KEY.public_jwk, "kty": "RSA"}, "not an Ed25519 key", id="rsa"),
    pytest.param({**KEY.public_jwk, "alg": "HS256"}, "not for EdDSA signatures", id="alg"),
    pytest.param({**KEY.public_jwk, "x": "short"}, "not an Ed25519 public key", id="bad-x"),
])
def test_a_published_key_that_is_not_ed25519_fails_the_key_check(jwk, reason):
    token = vcjwt.sign(area_credential(), KEY)
    result = vcjwt.verify(token, vcjwt.key_set({"keys": [jwk]}, "a key file"), now=ISSUED)
    assert result.check("key").outcome is Outcome.FAILED
    assert reason in result.check("key").detail
    assert result.check("signature").outcome is Outcome.NOT_CHECKED


def test_a_lookup_that_fails_is_a_failed_key_check_not_a_crash():
    def broken(kid):
        raise OSError("key file unreadable")
    result = vcjwt.verify(vcjwt.sign(area_credential(), KEY), broken, now=ISSUED)
    assert result.check("key").detail == "key key-one could not be looked up: key file unreadable"
    assert not result.ok


def test_signing_needs_an_ed25519_key_and_a_subject_id():
    with pytest.raises(TypeError):
        vcjwt.sign(area_credential(), SimpleNamespace(kid="k", private_key=b"secret"))
    credential = area_credential()
    del credential["credentialSubject"]["id"]
    with pytest.raises(ValueError, match="sub"):
        vcjwt.sign(credential, KEY)


def test_the_installations_keys_verify_before_and_after_rotation(app):
    from apprentice.credentials import keys

    with app.app_context():
        old = keys.current_key()
        old_token = vcjwt.sign(area_credential(), old,
                               kid=f"https://library.example/apprentice/issuer/keys/{old.kid}")
        first = vcjwt.verify(old_token, vcjwt.installation_keys(), now=ISSUED)
        assert first.ok, first.failures
        assert first.key_source == "this installation's published keys (current key)"

        new = keys.rotate()
        after = vcjwt.verify(old_token, vcjwt.installation_keys(), now=ISSUED)
        assert after.ok, after.failures
        assert after.key_source.startswith("this installation's published keys (key retired on")
        assert vcjwt.verify(vcjwt.sign(area_credential(), new), vcjwt.installation_keys(),
                            now=ISSUED).ok
        stranger = vcjwt.verify(vcjwt.sign(area_credential(), KEY),
                                vcjwt.installation_keys(), now=ISSUED)
        assert stranger.check("key").detail == "unknown key key-one"


def test_the_installations_issuer_profile_makes_a_valid_credential(app):
    from apprentice.credentials import issuer

    with app.test_request_context():
        profile = issuer.issuer_reference()
        credential = ob.area_credential(award(), issuer=profile, credential_id=CREDENTIAL_ID)
    assert schema_errors(credential) == [] and undefined_terms(credential) == []
    assert credential["issuer"]["id"] == profile["id"]
    assert credential["credentialSubject"]["achievement"]["id"].startswith(
        f"{profile['url'].rstrip('/')}/achievements/")
