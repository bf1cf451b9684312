"""Open Badges 3.0 credentials (``OpenBadgeCredential``) for a completed area or a
whole programme, built from plain values: nothing here reads the database, so the
document's shape is tested on its own and the issuing service decides what to award.

Only terms the W3C VC 2.0 and OB 3.0 contexts define are used (a JSON-LD processor
in safe mode refuses undefined ones), so no context of our own is needed: the level
reached and the hours verified are OB ``Result``s that point at ``ResultDescription``s
of the achievement. The achievement's ``id`` is made from the framework's and the
area's lineage, never row ids, so it stays the same when competencies are reworded.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from apprentice.competencies.models import SupervisionLevel

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXTS = (VC_CONTEXT, OB_CONTEXT)
CREDENTIAL_TYPE = ("VerifiableCredential", "OpenBadgeCredential")
# The Profile properties copied from the issuer's profile: all are OB 3.0 terms.
PROFILE_KEYS = ("id", "type", "name", "url", "email", "description")
# A result type of our own in the OB "ext:" convention: hours are not a score.
HOURS_RESULT_TYPE = "ext:VerifiedHours"
# Markdown that would change how a statement reads in a wallet (links, emphasis, HTML).
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|!])")


class InvalidAward(ValueError):
    """The inputs cannot make a credential (a programming error, not user input)."""


@dataclass(frozen=True)
class CompetencyRef:
    """A competency as the credential names it: the wording at the time of issue."""

    code: str
    lineage: str
    statement: str


@dataclass(frozen=True)
class AreaRef:
    lineage: str
    name: str
    competencies: tuple[CompetencyRef, ...]
    description: str = ""


@dataclass(frozen=True)
class FrameworkRef:
    """The framework and the parts of its rule the criteria describe."""

    name: str
    lineage: str
    version: int
    area_completion_percent: int = 100
    electives_required: int = 0


@dataclass(frozen=True)
class Award:
    """What is awarded, to whom: one area (``areas`` of one) or the programme (the
    areas it counted). ``level_reached`` is the lowest standing level among the
    competencies counted; ``minutes_verified`` the verified practice time."""

    person_name: str
    email: str
    issued_on: datetime
    framework: FrameworkRef
    areas: tuple[AreaRef, ...]
    level_required: SupervisionLevel
    level_reached: SupervisionLevel
    minutes_verified: int
    # The credentialSubject.id (and the JWT ``sub``); None: an opaque urn:uuid made
    # from the credential id, so that nothing about the person is in it.
    subject_id: str | None = None


def new_credential_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def new_salt() -> str:
    return secrets.token_hex(16)


def identity_hash(email: str, salt: str) -> str:
    """OB 3.0's IdentityHash: ``sha256$`` and the hex SHA-256 of the identifier with the
    salt appended, both UTF-8. The address is compared in lower case, as people type it."""
    digest = hashlib.sha256((normal_email(email) + salt).encode("utf-8")).hexdigest()
    return f"sha256${digest}"


def normal_email(email: str) -> str:
    return email.strip().lower()


def email_matches(identifier: Mapping, email: str) -> bool:
    """Whether an ``IdentityObject`` names this e-mail address (a verifier's check)."""
    if identifier.get("identityType") != "emailAddress":
        return False
    if identifier.get("hashed") is True:
        return identifier.get("identityHash") == identity_hash(email, identifier.get("salt", ""))
    return identifier.get("identityHash") == normal_email(email)


def achievement_id(issuer: Mapping, framework: FrameworkRef,
                   area: AreaRef | None = None) -> str:
    """``<issuer site>/achievements/<framework lineage>[/<area lineage>]``: the same
    achievement in every credential for it, whatever its wording or row ids."""
    parts = [framework.lineage] + ([area.lineage] if area is not None else [])
    return f"{_site(issuer)}/achievements/" + "/".join(_segment(part) for part in parts)


def framework_url(issuer: Mapping, framework: FrameworkRef) -> str:
    """Where alignments point for the framework (its competencies under it)."""
    return f"{_site(issuer)}/frameworks/{_segment(framework.lineage)}"


def area_credential(award: Award, *, issuer: Mapping, credential_id: str,
                    salt: str | None = None, valid_until: datetime | None = None,
                    status: Mapping | None = None) -> dict:
    """The credential for one completed competency area."""
    if len(award.areas) != 1:
        raise InvalidAward("an area credential is for exactly one area")
    area = award.areas[0]
    framework = award.framework
    achievement = {
        "id": achievement_id(issuer, framework, area),
        "type": ["Achievement"],
        "achievementType": "MicroCredential",
        "name": area.name,
        "description": area.description.strip() or (
            f"The {area.name} competency area of the {framework.name} framework."),
        "criteria": {"narrative": _area_narrative(award, area)},
        "version": str(framework.version),
    }
    return _credential(award, achievement, area.competencies, issuer=issuer,
                       name=f"{area.name} ({framework.name})", credential_id=credential_id,
                       salt=salt, valid_until=valid_until, status=status)


def programme_credential(award: Award, *, issuer: Mapping, credential_id: str,
                         salt: str | None = None, valid_until: datetime | None = None,
                         status: Mapping | None = None) -> dict:
    """The credential for the whole programme: every area it counted."""
    if not award.areas:
        raise InvalidAward("a programme credential names the areas completed")
    framework = award.framework
    achievement = {
        "id": achievement_id(issuer, framework),
        "type": ["Achievement"],
        "achievementType": "ApprenticeshipCertificate",
        "name": framework.name,
        "description": f"Completion of the {framework.name} apprenticeship programme.",
        "criteria": {"narrative": _programme_narrative(award)},
        "version": str(framework.version),
    }
    competencies = tuple(c for area in award.areas for c in area.competencies)
    return _credential(award, achievement, competencies, issuer=issuer,
                       name=f"{framework.name}: programme completed",
                       credential_id=credential_id, salt=salt, valid_until=valid_until,
                       status=status)


# -- the parts ---------------------------------------------------------------------

def _credential(award: Award, achievement: dict, competencies: tuple[CompetencyRef, ...], *,
                issuer: Mapping, name: str, credential_id: str, salt: str | None,
                valid_until: datetime | None, status: Mapping | None) -> dict:
    if not credential_id.startswith("urn:uuid:"):
        raise InvalidAward("the credential id is a urn:uuid:")
    issued = _timestamp(award.issued_on)
    salt = salt or new_salt()
    target = framework_url(issuer, award.framework)
    achievement["alignment"] = [_framework_alignment(award.framework, target)] + [
        _competency_alignment(award.framework, c, target) for c in competencies]
    levels_id, hours_id = f"{achievement['id']}#supervision-level", f"{achievement['id']}#hours"
    achievement["resultDescription"] = [
        {
            "id": levels_id,
            "type": ["ResultDescription"],
            "name": "Supervision level reached in every competency",
            "resultType": "RubricCriterionLevel",
            "rubricCriterionLevel": [
                {"id": _level_id(achievement, level), "type": ["RubricCriterionLevel"],
                 "name": level.label, "level": level.slug, "points": str(int(level))}
                for level in SupervisionLevel],
            "requiredLevel": _level_id(achievement, award.level_required),
        },
        {
            "id": hours_id,
            "type": ["ResultDescription"],
            "name": "Hours of practice verified by a mentor",
            "resultType": HOURS_RESULT_TYPE,
            "valueMin": "0",
        },
    ]
    subject = {
        "id": award.subject_id or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, credential_id)}",
        "type": ["AchievementSubject"],
        "identifier": [
            {"type": "IdentityObject", "hashed": True,
             "identityHash": identity_hash(award.email, salt),
             "identityType": "emailAddress", "salt": salt},
            {"type": "IdentityObject", "hashed": False,
             "identityHash": award.person_name, "identityType": "name"},
        ],
        "achievement": achievement,
        "result": [
            {"type": ["Result"], "resultDescription": levels_id,
             "achievedLevel": _level_id(achievement, award.level_reached)},
            {"type": ["Result"], "resultDescription": hours_id,
             "value": _hours(award.minutes_verified)},
        ],
    }
    credential = {
        "@context": list(CONTEXTS),
        "id": credential_id,
        "type": list(CREDENTIAL_TYPE),
        "issuer": _profile(issuer),
        "validFrom": issued,
        "awardedDate": issued,
        "name": name,
        "credentialSubject": subject,
    }
    if valid_until is not None:
        credential["validUntil"] = _timestamp(valid_until)
    if status is not None:
        # Its place in the issuer's revocation list (statuslist.entry).
        credential["credentialStatus"] = dict(status)
    return credential


def _profile(issuer: Mapping) -> dict:
    """The issuer as an OB Profile: id, type and name at least, and only OB terms."""
    if not issuer.get("id") or not issuer.get("name"):
        raise InvalidAward("the issuer profile needs an id and a name")
    profile = {key: issuer[key] for key in PROFILE_KEYS if issuer.get(key)}
    types = profile.get("type") or ["Profile"]
    profile["type"] = [types] if isinstance(types, str) else list(types)
    if "Profile" not in profile["type"]:
        raise InvalidAward("the issuer profile is of type Profile")
    return profile


def _framework_alignment(framework: FrameworkRef, url: str) -> dict:
    return {"type": ["Alignment"], "targetName": framework.name,
            "targetFramework": framework.name, "targetUrl": url,
            "targetDescription": f"Competency framework, version {framework.version}."}


def _competency_alignment(framework: FrameworkRef, competency: CompetencyRef,
                          framework_url: str) -> dict:
    return {"type": ["Alignment"], "targetName": competency.statement,
            "targetCode": competency.code, "targetFramework": framework.name,
            "targetUrl": f"{framework_url}/competencies/{_segment(competency.lineage)}"}


def _site(issuer: Mapping) -> str:
    """The issuer's site (its profile's ``url``, else its ``id``) without a final /."""
    return str(issuer.get("url") or issuer["id"]).rstrip("/")


def _segment(text: str) -> str:
    return quote(text, safe="")


def _level_id(achievement: Mapping, level: SupervisionLevel) -> str:
    return f"{achievement['id']}#level-{level.slug}"


def _area_narrative(award: Award, area: AreaRef) -> str:
    return "\n".join([_rule_sentence(award), "", *_competency_lines(area.competencies)])


def _programme_narrative(award: Award) -> str:
    framework = award.framework
    electives = (f" and {framework.electives_required} elective area"
                 f"{'' if framework.electives_required == 1 else 's'}"
                 if framework.electives_required else "")
    lines = [f"Complete every required area{electives} of the "
             f"{_md(framework.name)} framework (version {framework.version}).",
             _rule_sentence(award), "", "Areas completed:"]
    for area in award.areas:
        lines += ["", f"**{_md(area.name)}**", "", *_competency_lines(area.competencies)]
    return "\n".join(lines)


def _rule_sentence(award: Award) -> str:
    percent = award.framework.area_completion_percent
    share = "every competency" if percent >= 100 else f"at least {percent}% of the competencies"
    return (f"A mentor signs off {share} of an area after observed practice, at the "
            f"supervision level *{_md(award.level_required.label)}* or above.")


def _competency_lines(competencies: tuple[CompetencyRef, ...]) -> list[str]:
    return [f"- {_md(c.code)}: {_md(c.statement)}" for c in competencies]


def _md(text: str) -> str:
    """User text inside the Markdown narrative, shown as written."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _timestamp(moment: datetime) -> str:
    """A DateTimeZ to the second: ``2026-12-01T12:00:00Z`` (the JWT dates are whole
    seconds, and OB compares them with these)."""
    if moment.tzinfo is None:
        raise InvalidAward("dates in a credential carry a time zone")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hours(minutes: int) -> str:
    if minutes < 0:
        raise InvalidAward("verified minutes are not negative")
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")
