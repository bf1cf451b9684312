"""A credential for worlds that need one without completing an area first (the access
matrix's world, the audit trail's activity): signed and stored as ``services.issue``
does, minus its rule that the area be complete, which tests/test_credential_issuing.py
tests through ``issue`` itself. Needs an app context; makes its own request context for
the issuer's URLs."""

from __future__ import annotations

import base64
from types import SimpleNamespace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app

from apprentice.competencies.models import CompetencyArea, SupervisionLevel
from apprentice.credentials import openbadges, services
from apprentice.credentials.models import IssuedCredential
from apprentice.db import db_session, utcnow
from apprentice.people.models import StaffProfile


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_key(kid: str) -> SimpleNamespace:
    """A signing key shaped like ``keys.current_key()``, and its public JWK: for tests
    that sign as some other issuer, with no instance folder."""
    private = Ed25519PrivateKey.generate()
    x = b64url(private.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw))
    return SimpleNamespace(kid=kid, private_key=private, public_jwk={
        "kid": kid, "kty": "OKP", "crv": "Ed25519", "x": x, "use": "sig", "alg": "EdDSA"})


def issue_for_area(person: StaffProfile, area: CompetencyArea,
                   by: StaffProfile) -> IssuedCredential:
    """A standing credential for ``area`` issued to ``person`` by ``by``; committed."""
    framework = area.framework
    award = openbadges.Award(
        person_name=person.name, email=person.email, issued_on=utcnow().replace(microsecond=0),
        framework=openbadges.FrameworkRef(framework.name, framework.lineage, framework.version,
                                          framework.area_completion_percent,
                                          framework.electives_required),
        areas=(openbadges.AreaRef(area.lineage, area.name, tuple(
            openbadges.CompetencyRef(c.code, c.lineage, c.statement)
            for c in area.current_competencies)),),
        level_required=SupervisionLevel(framework.level_required),
        level_reached=SupervisionLevel(framework.level_required), minutes_verified=90)
    with current_app.test_request_context():
        issued = services._store(person, framework, area, award, by)
        db_session().commit()
    return issued
