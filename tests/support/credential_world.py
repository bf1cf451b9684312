"""A small world for credential tests: a two-area programme ("Circulation desk", "Reference
desk", one competency each), its apprentice with the first area complete, and the people
who may or may not read their record; and :func:`complete_and_issue` to issue a credential
the way a coordinator does (credentials.services.issue), with a real signed token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from apprentice.competencies import services as frameworks
from apprentice.competencies.interchange import (
    AreaSpec,
    CompetencySpec,
    FrameworkSpec,
    RuleSpec,
)
from apprentice.competencies.models import AreaKind, SupervisionLevel
from apprentice.people.services import get_person
from apprentice.programmes import services as programmes
from apprentice.training import services
from tests.loop import sign_off_after_practice
from tests.support import dates

INDEPENDENT = SupervisionLevel.INDEPENDENT


@dataclass
class CredentialWorld:
    apprentice: object  # Robin, who completes the first area
    mentor: object  # Marian, paired with Robin for every area
    area_mentor: object  # Samuel, paired with Robin for the second area only
    unpaired: object  # Uma, paired with nobody
    other: object  # Blake, another apprentice
    coordinator: object  # Carmen
    framework_id: int
    area_ids: tuple[int, int]
    competency_ids: tuple[int, int]


def build_credential_world(app, make_person) -> CredentialWorld:
    """The people and the programme, Robin enrolled and paired; nothing signed off yet."""
    today = dates.today()
    robin = make_person(name="Robin Quick", roles=["apprentice"])
    marian = make_person(name="Marian Okafor", roles=["mentor"])
    samuel = make_person(name="Samuel Reyes", roles=["mentor"])
    uma = make_person(name="Unpaired Uma", roles=["mentor"])
    blake = make_person(name="Blake Apprentice", roles=["apprentice"])
    carmen = make_person(name="Carmen Ortiz", roles=["coordinator"])
    with app.app_context():
        coordinator = get_person(carmen.id)
        framework = frameworks.create_from_spec(FrameworkSpec(
            name="Desk basics", status="active", rule=RuleSpec(electives_required=0),
            areas=[AreaSpec("Circulation desk", AreaKind.REQUIRED, competencies=[
                       CompetencySpec("DSK-01", "Runs the circulation desk alone.")]),
                   AreaSpec("Reference desk", AreaKind.REQUIRED, competencies=[
                       CompetencySpec("REF-01", "Answers a reference question alone.")])]),
            by=coordinator)
        programmes.enrol(get_person(robin.id), framework, start=today - timedelta(days=60),
                         by=coordinator)
        first, second = framework.current_areas[:2]
        services.create_pairing(get_person(robin.id), get_person(marian.id),
                                starts_on=today - timedelta(days=60))
        services.create_pairing(get_person(robin.id), get_person(samuel.id),
                                starts_on=today - timedelta(days=60), area_ids=[second.id])
        return CredentialWorld(
            apprentice=robin, mentor=marian, area_mentor=samuel, unpaired=uma, other=blake,
            coordinator=carmen, framework_id=framework.id, area_ids=(first.id, second.id),
            competency_ids=(first.current_competencies[0].id,
                            second.current_competencies[0].id))


def complete_area(app, world: CredentialWorld, index: int = 0) -> None:
    """Robin's area ``index`` complete: an entry verified and signed off by Marian."""
    sign_off_after_practice(app, world.apprentice.id, world.mentor.id,
                            world.competency_ids[index], level=int(INDEPENDENT))


def issue(app, world: CredentialWorld, index: int = 0,
          base_url: str = "http://localhost") -> dict:
    """Carmen issues Robin the credential for area ``index`` (complete); what was stored.
    In a request's context, as from the coordinator's page: the credential's URLs (its
    issuer, its key, its status list) are this app's, under ``base_url``."""
    from apprentice.credentials import services as credentials

    with app.test_request_context(base_url=base_url):
        issued = credentials.issue(get_person(world.apprentice.id), world.framework_id,
                                   world.area_ids[index], get_person(world.coordinator.id))
        return {"id": issued.id, "credential_id": issued.credential_id,
                "uuid": issued.credential_id.removeprefix("urn:uuid:"),
                "token": issued.token, "name": issued.name,
                "status_list": issued.status_list, "status_index": issued.status_index}


def complete_and_issue(app, world: CredentialWorld, index: int = 0,
                       base_url: str = "http://localhost") -> dict:
    complete_area(app, world, index)
    return issue(app, world, index, base_url)
