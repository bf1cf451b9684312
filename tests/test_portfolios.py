"""Portfolios (apprentice.portfolios): a person's record as a page, a PDF, JSON and CSV.

One world for most tests, built like the demo: Jordan's programme with sign-offs by
Marian in the first area (one corrected, one revoked), one by Samuel in the second area
(which is all his pairing covers), entries in both, and a learning statement with a
section per area and images that point at a local file and at the network.
"""

from __future__ import annotations

import builtins
import csv
import html
import io
import json
import re
import socket
import sys
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator
from pypdf import PdfReader

from apprentice.competencies import services as frameworks
from apprentice.competencies.models import SupervisionLevel
from apprentice.db import db_session, utcnow
from apprentice.people.services import get_person
from apprentice.portfolios import export, pdf
from apprentice.portfolios.services import portfolio_of
from apprentice.statements import services as statements
from apprentice.training import services
from apprentice.training.models import EntryCompetency, LogEntry
from tests.factories import add_entries
from tests.loop import as_person, sign_off_after_practice, statements_sent
from tests.support import dates
from tests.support.clients import CSRF_META

INDEPENDENT = SupervisionLevel.INDEPENDENT
MENTOR_AVAILABLE = SupervisionLevel.MENTOR_AVAILABLE
# Images in the statement: a local file (the sanitiser drops it) and the network (kept
# by the sanitiser: the PDF's URL fetcher must refuse it).
HOSTILE_STATEMENT = (
    "I learned the desk.\n\n![passwd](file:///etc/passwd)\n\n"
    "![tracker](http://127.0.0.1:9/track.png)\n\n<img src=\"file:///etc/passwd\">")


def normalised(text: str) -> str:
    """Text with every run of white space one space (a PDF breaks lines anywhere)."""
    return " ".join(text.split())


def pdf_text(body: bytes) -> str:
    return normalised(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages))


def sign_off_line(code: str, level: str, mentor: str) -> str:
    """A regex: the competency ``code``, then (before any other competency's code) the
    line saying who signed it off at which level."""
    return (rf"\b{re.escape(code)} (?:(?!\b[A-Z]{{2,3}}-\d\d\b).)*?"
            rf"Signed off at {re.escape(level)} by {re.escape(mentor)} on ")


def without_csrf(page: str) -> str:
    """The page with its CSRF token (signed with the time: it differs by the second)
    taken out wherever it is."""
    match = CSRF_META.search(page)
    return page.replace(match.group(1), "") if match else page


def words(page: str) -> str:
    """A page's text without its tags, as one line."""
    return normalised(html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def world(app, loop, make_person):
    """Jordan's record (see the module's docstring); the ids and codes tests look for."""
    samuel = make_person(name="Samuel Reyes", roles=["mentor"])
    blake = make_person(name="Blake Apprentice", roles=["apprentice"])
    today = dates.today()
    with app.app_context():
        jordan = get_person(loop["apprentice"].id)
        marian = get_person(loop["mentor"].id)
        carmen = get_person(loop["coordinator"].id)
        area_one, area_two = frameworks.get_framework(loop["framework"].id).current_areas[:2]
        first, corrected, revoked, unsigned = area_one.current_competencies[:4]
        second = area_two.current_competencies[0]
        services.create_pairing(jordan, get_person(samuel.id),
                                starts_on=today - timedelta(days=30), area_ids=[area_two.id])

        def verified(competency, mentor, text, days):
            entry = services.save_entry(jordan, services.EntryDetails(
                occurred_on=today - timedelta(days=days), minutes=50, activity=int(INDEPENDENT),
                mentor_id=mentor.id, competency_ids=[competency.id], description=text),
                submit=True)
            services.verify_entries([entry], mentor)
            return entry

        def sign(mentor, competency, entry, level=INDEPENDENT, corrects=None):
            return services.sign_off(mentor, jordan, competency, level=int(level),
                                     entry_ids=[entry.id], corrects=corrects,
                                     comment=f"Seen {competency.code} done well.")

        e_first = verified(first, marian, "Ran the issue desk alone for the morning.", 9)
        e_corrected = verified(corrected, marian, "Handled holds and renewals.", 8)
        e_revoked = verified(revoked, marian, "Closed the branch and balanced the cash.", 7)
        e_second = verified(second, get_person(samuel.id),
                            "Explained the catalogue to a patron.", 6)
        s_first = sign(marian, first, e_first)
        s_original = sign(marian, corrected, e_corrected, level=MENTOR_AVAILABLE)
        s_correction = sign(marian, corrected, e_corrected, corrects=s_original)
        s_revoked = sign(marian, revoked, e_revoked)
        services.revoke(s_revoked, carmen, "Signed for the wrong apprentice.")
        s_second = sign(get_person(samuel.id), second, e_second)
        statements.save(jordan, statements.StatementDraft(HOSTILE_STATEMENT, {
            area_one.id: "The first area taught me patience.",
            area_two.id: "The second area taught me the catalogue."}), jordan, based_on=0)
        return {
            "jordan": loop["apprentice"], "marian": loop["mentor"], "samuel": samuel,
            "carmen": loop["coordinator"], "unpaired": loop["other"], "blake": blake,
            "area_one": area_one.name, "area_two": area_two.name,
            "codes": {"first": first.code, "corrected": corrected.code,
                      "revoked": revoked.code, "unsigned": unsigned.code,
                      "second": second.code},
            "sign_offs": {"first": s_first.id, "original": s_original.id,
                          "correction": s_correction.id, "revoked": s_revoked.id,
                          "second": s_second.id},
            "entries": {"first": e_first.description, "revoked": e_revoked.description,
                        "second": e_second.description},
        }


def download(app, person, url):
    response = as_person(app, person).get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


# -- the PDF ------------------------------------------------------------------------------

def test_the_pdf_lists_each_standing_sign_off_with_its_mentor_and_level(app, world):
    jordan, today = world["jordan"], dates.today()
    response = download(app, jordan, f"/apprentices/{jordan.id}/portfolio.pdf")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="portfolio-jordan-lee-{today.isoformat()}.pdf"')
    text = pdf_text(response.data)
    codes = world["codes"]
    independently = f"level 5 ({INDEPENDENT.label})"
    for key, mentor in (("first", "Marian Okafor"), ("corrected", "Marian Okafor"),
                        ("second", "Samuel Reyes")):
        assert re.search(sign_off_line(codes[key], independently, mentor) + today.isoformat(),
                         text), (key, text[:3000])
    # Three sign-offs stand; the revoked one and the corrected original are not listed.
    assert text.count("Signed off at") == 3
    assert MENTOR_AVAILABLE.label not in text
    revoked_part = text[text.index(codes["revoked"]):text.index(codes["unsigned"])]
    assert "Signed off" not in revoked_part and "In progress" in revoked_part
    # The evidence each sign-off cites, the statement, and the running footer.
    assert world["entries"]["first"] in text
    assert "The second area taught me the catalogue." in text
    assert re.search(r"Jordan Lee · record as of " + today.isoformat(), text)
    pages = len(PdfReader(io.BytesIO(response.data)).pages)
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text


def test_the_pdf_is_tagged_with_a_title_and_a_language(app, world):
    jordan = world["jordan"]
    reader = PdfReader(io.BytesIO(download(
        app, jordan, f"/apprentices/{jordan.id}/portfolio.pdf").data))
    assert reader.metadata.title == (
        f"Apprenticeship portfolio of Jordan Lee, as of {dates.today().isoformat()}")
    assert reader.metadata.author == "Jordan Lee"
    catalog = reader.trailer["/Root"]
    assert catalog["/Lang"] == "en"
    assert "/StructTreeRoot" in catalog and catalog["/MarkInfo"]["/Marked"]


def test_the_signed_off_only_pdf_and_page_leave_out_what_is_not_signed_off(app, world):
    jordan, codes = world["jordan"], world["codes"]
    text = pdf_text(download(app, jordan,
                             f"/apprentices/{jordan.id}/portfolio.pdf?signed=1").data)
    page = download(app, jordan, f"/apprentices/{jordan.id}/portfolio?signed=1").get_data(
        as_text=True)
    for shown in (text, page):
        assert all(codes[key] in shown for key in ("first", "corrected", "second"))
        assert codes["revoked"] not in shown and codes["unsigned"] not in shown
    everything = download(app, jordan, f"/apprentices/{jordan.id}/portfolio").get_data(
        as_text=True)
    assert codes["revoked"] in everything and codes["unsigned"] in everything
    assert 'value="1" checked' in page and 'value="0" checked' in everything


@pytest.mark.parametrize("failure", [
    pytest.param(None, id="not-installed"),
    pytest.param(OSError("cannot load library 'libpango-1.0-0'"), id="no-pango"),
])
def test_without_the_pdf_engine_the_pdf_link_says_so(app, world, monkeypatch, failure):
    if failure is None:
        monkeypatch.setitem(sys.modules, "weasyprint", None)  # import raises ImportError
    else:
        real_import = builtins.__import__

        def broken_import(name, *args, **kwargs):
            if name == "weasyprint":
                raise failure
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", broken_import)
    jordan = world["jordan"]
    response = as_person(app, jordan).get(f"/apprentices/{jordan.id}/portfolio.pdf")
    page = normalised(html.unescape(response.get_data(as_text=True)))
    assert response.status_code == 503
    assert "PDF export is not available on this server: " in page
    assert ("WeasyPrint is not installed" if failure is None else
            "a system library WeasyPrint needs, such as Pango, cannot be loaded "
            "(cannot load library 'libpango-1.0-0')") in page
    # Everyone else may not learn even that: the door comes first.
    blake = world["blake"]
    assert as_person(app, blake).get(f"/apprentices/{jordan.id}/portfolio.pdf"
                                     ).status_code == 404


# -- the URL fetcher: the app's own assets, nothing else ------------------------------------

@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "http://127.0.0.1:9/track.png",
    "https://example.org/style.css",
    "data:image/svg+xml;base64,PHN2Zy8+",
    "data:text/css,body{}",
    pdf.ASSET_BASE + "../../../etc/passwd",
    pdf.ASSET_BASE + "..%2F..%2Fetc%2Fpasswd",
    pdf.ASSET_BASE + "sub/apprentice.css",
    pdf.ASSET_BASE + "missing.css",
    pdf.ASSET_BASE + "apprentice.js",  # an asset, but not one a document needs
    pdf.ASSET_BASE + "apprentice.css?x=1",
    "https://apprentice.invalid/etc/passwd",
    "/etc/passwd",
])
def test_the_url_fetcher_refuses_anything_but_the_apps_own_assets(url):
    with pytest.raises(pdf.RefusedURL):
        pdf.read_asset(url)


def test_the_url_fetcher_serves_the_apps_stylesheets_by_name():
    body, mime = pdf.read_asset(pdf.ASSET_BASE + "portfolio-print.css")
    assert mime == "text/css" and b"@page" in body


def test_typed_html_reaches_neither_local_files_nor_the_network(monkeypatch, caplog):
    opened, connected = [], []
    real_open, real_io_open = builtins.open, io.open

    def spying(real):
        def spy(file, *args, **kwargs):
            opened.append(str(file))
            return real(file, *args, **kwargs)
        return spy

    def no_network(_sock, address, *args):
        connected.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(builtins, "open", spying(real_open))
    monkeypatch.setattr(io, "open", spying(real_io_open))
    monkeypatch.setattr(socket.socket, "connect", no_network)
    document = (f'<!doctype html><html lang="en"><head><title>t</title>'
            f'<link rel="stylesheet" href="{pdf.ASSET_BASE}apprentice.css">'
            '<link rel="stylesheet" href="file:///etc/passwd">'
            '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head><body>'
            '<p>Typed text</p><img src="file:///etc/passwd" alt="a">'
            '<img src="http://127.0.0.1:9/x.png" alt="b"><img src="../../../etc/passwd" alt="c">'
            '<img src="/etc/passwd" alt="d"><img src="data:image/svg+xml,%3Csvg/%3E" alt="e">'
            '<iframe src="file:///etc/passwd"></iframe><object data="file:///etc/passwd"></object>'
            '</body></html>')
    with caplog.at_level("WARNING", logger="weasyprint"):
        text = pdf_text(pdf.write_pdf(document))
    assert "Typed text" in text and "root:" not in text
    assert connected == []
    assert not [path for path in opened if "passwd" in path]
    assert any(path.endswith("apprentice.css") for path in opened)  # the one allowed
    refused = [r.getMessage() for r in caplog.records if "own assets" in r.getMessage()]
    assert len(refused) >= 5, [r.getMessage() for r in caplog.records]


def test_a_statements_images_are_not_fetched_for_the_pdf(app, world, monkeypatch):
    connected = []

    def no_network(_sock, address, *args):
        connected.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    jordan = world["jordan"]
    text = pdf_text(download(app, jordan, f"/apprentices/{jordan.id}/portfolio.pdf").data)
    assert "I learned the desk." in text and "root:" not in text
    assert connected == []


# -- JSON ----------------------------------------------------------------------------------

def schema() -> dict:
    return json.loads(export.schema_text())


def test_the_json_validates_against_its_schema_and_holds_the_whole_record(app, world):
    jordan, ids = world["jordan"], world["sign_offs"]
    response = download(app, jordan, f"/apprentices/{jordan.id}/portfolio.json")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="portfolio-jordan-lee-{dates.today().isoformat()}.json"')
    document = response.get_json()
    Draft202012Validator.check_schema(schema())
    validator = Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(document)] == []
    assert (document["schema_version"], document["schema"]) == (1, schema()["$id"])
    sign_offs = {s["id"]: s for s in document["sign_offs"]}
    assert set(sign_offs) == set(ids.values())  # revoked and corrected ones too
    assert sign_offs[ids["revoked"]]["revocation"]["reason"] == "Signed for the wrong apprentice."
    assert not sign_offs[ids["revoked"]]["stands"]
    assert sign_offs[ids["original"]]["corrected_by_id"] == ids["correction"]
    assert sign_offs[ids["correction"]]["corrects_id"] == ids["original"]
    competencies = {c["code"]: c for p in document["programmes"] for a in p["areas"]
                    for c in a["competencies"]}
    codes = world["codes"]
    assert competencies[codes["corrected"]]["standing_sign_off_id"] == ids["correction"]
    assert competencies[codes["revoked"]]["standing_sign_off_id"] is None
    assert competencies[codes["unsigned"]]["status"] == "not-started"
    assert len(document["entries"]) == 4
    assert document["statement"]["overall"]["markdown"] == HOSTILE_STATEMENT.strip()
    statement_html = document["statement"]["overall"]["html"]  # sanitised: text, no tag
    assert '<img src="file:' not in statement_html and "&lt;img src=" in statement_html
    assert document["newest_sign_off_hash"]


def test_the_schema_is_served_to_people_signed_in(app, world, client):
    response = as_person(app, world["blake"]).get("/portfolio-schema/v1.json")
    assert response.status_code == 200 and response.mimetype == "application/schema+json"
    assert response.get_json() == schema()
    assert as_person(app, world["blake"]).get("/portfolio-schema/v2.json").status_code == 404
    assert client.get("/portfolio-schema/v1.json").status_code == 302  # to sign in


def test_the_schema_documents_every_field(app):
    """Every property has a description or is a reference to a documented definition."""
    undocumented = []

    def walk(node, path):
        for name, child in node.get("properties", {}).items():
            if "description" not in child and "$ref" not in child and name not in (
                    "id", "name", "code", "date", "reason", "signed_at", "saved_at",
                    "revoked_at", "competency_code", "area_id", "minutes"):
                undocumented.append(f"{path}.{name}")
            walk(child, f"{path}.{name}")
        for name, child in node.get("$defs", {}).items():
            walk(child, f"$defs.{name}")

    walk(schema(), "")
    assert undocumented == []


# -- CSV -----------------------------------------------------------------------------------

FORMULAS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1", "\r=1", "'=quoted"]


def test_the_csv_lists_entries_and_sign_offs_with_formulas_neutralised(app, world, loop):
    today = dates.today()
    with app.app_context():
        session = db_session()
        for n, text in enumerate(FORMULAS):
            entry = LogEntry(person_id=loop["apprentice"].id, mentor_id=loop["mentor"].id,
                             occurred_on=today - timedelta(days=1), minutes=30, activity=5,
                             description=text, state="submitted", form_token=f"csv{n}",
                             submitted_at=utcnow())
            entry.competency_links = [EntryCompetency(competency_id=loop["competency"].id)]
            session.add(entry)
        session.commit()
    jordan = world["jordan"]
    response = download(app, jordan, f"/apprentices/{jordan.id}/portfolio.csv")
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="portfolio-jordan-lee-{today.isoformat()}.csv"')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).removeprefix(
        "\ufeff"))))
    cells = [cell for row in rows for cell in row.values()]
    assert [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))] == []
    described = {row["description or comment"] for row in rows if row["record"] == "entry"}
    assert {"'" + text for text in FORMULAS} <= described
    sign_offs = {int(row["id"]): row for row in rows if row["record"] == "sign-off"}
    ids = world["sign_offs"]
    assert set(sign_offs) == set(ids.values())
    assert sign_offs[ids["revoked"]]["status"].startswith("revoked ")
    assert sign_offs[ids["original"]]["status"] == f"corrected by sign-off {ids['correction']}"
    assert sign_offs[ids["first"]]["status"] == "stands"
    assert sign_offs[ids["first"]]["mentor"] == "Marian Okafor"


# -- who sees what ------------------------------------------------------------------------

FORMATS = ("", ".pdf", ".json", ".csv")


@pytest.mark.parametrize("suffix", FORMATS, ids=lambda s: s or "page")
def test_a_portfolio_one_may_not_see_is_the_plain_404_of_nobody(app, world, suffix):
    jordan = world["jordan"]
    for outsider in (world["blake"], world["unpaired"]):
        client = as_person(app, outsider)
        refused = client.get(f"/apprentices/{jordan.id}/portfolio{suffix}")
        nobody = client.get(f"/apprentices/999999/portfolio{suffix}")
        assert refused.status_code == nobody.status_code == 404
        page = refused.get_data(as_text=True)
        assert without_csrf(page) == without_csrf(nobody.get_data(as_text=True))
        assert "Jordan" not in page and world["entries"]["first"] not in page


@pytest.mark.parametrize("viewer", ["jordan", "marian", "carmen"])
def test_the_person_their_mentor_and_a_coordinator_see_every_area(app, world, viewer):
    jordan = world["jordan"]
    page = download(app, world[viewer], f"/apprentices/{jordan.id}/portfolio").get_data(
        as_text=True)
    assert world["area_one"] in page and world["area_two"] in page
    assert "This copy shows" not in page


def test_a_mentor_paired_for_one_area_sees_only_that_area_in_every_format(app, world):
    jordan, samuel, codes = world["jordan"], world["samuel"], world["codes"]
    base = f"/apprentices/{jordan.id}/portfolio"
    page = download(app, samuel, base).get_data(as_text=True)
    text = pdf_text(download(app, samuel, base + ".pdf").data)
    document = download(app, samuel, base + ".json").get_json()
    table = download(app, samuel, base + ".csv").get_data(as_text=True)
    hidden = (codes["first"], codes["revoked"], world["entries"]["first"],
              "The first area taught me patience.", "Marian Okafor")
    for shown in (page, text, json.dumps(document, ensure_ascii=False), table):
        assert codes["second"] in shown and world["entries"]["second"] in shown
        assert [h for h in hidden if h in shown] == []
    assert f"This copy shows {world['area_two']} only" in normalised(page)
    assert world["area_one"] not in page and world["area_one"] not in text
    assert document["areas_limited_to"] == [world["area_two"]]
    assert [a["name"] for p in document["programmes"] for a in p["areas"]] == [
        world["area_two"]]
    assert [s["id"] for s in document["sign_offs"]] == [world["sign_offs"]["second"]]
    assert [e["description"] for e in document["entries"]] == [world["entries"]["second"]]
    assert [p["title"] for p in document["statement"]["areas"]] == [world["area_two"]]
    assert document["newest_sign_off_hash"] is None
    validator = Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(document)] == []


def test_portfolio_for_holds_the_rule_the_pages_follow(app, world):
    """The service answers None (the views' 404) for whoever may not see the record, and
    cuts it to the areas a mentor's pairing covers."""
    from apprentice.portfolios.services import portfolio_for

    with app.app_context():
        def areas_for(key):
            found = portfolio_for(get_person(world[key].id), world["jordan"].id)
            return None if found is None else (
                [a.area.name for p in found.programmes for a in p.areas], found.limited_to)

        everything = [world["area_one"], world["area_two"]]
        for key in ("jordan", "marian", "carmen"):
            names, limited_to = areas_for(key)
            assert names[:2] == everything and limited_to is None, key
        assert areas_for("samuel") == ([world["area_two"]], (world["area_two"],))
        assert areas_for("blake") is None and areas_for("unpaired") is None
        assert portfolio_for(get_person(world["carmen"].id), 999999) is None


def test_the_statement_is_the_records_as_of_the_portfolios_day(app, world):
    """The statement comes from the record (apprentice.records), as of the same day."""
    from apprentice.records import record_of

    jordan = world["jordan"]
    with app.app_context():
        today = portfolio_of(jordan.id)
        assert today.statement.revision == record_of(jordan.id).statement.number
        assert [p.title for p in today.statement.areas] == [world["area_one"],
                                                           world["area_two"]]
        assert portfolio_of(jordan.id, as_of=dates.today() - timedelta(days=1)).statement is None


# -- the read model's cost ------------------------------------------------------------------

@pytest.mark.parametrize("areas", [pytest.param(None, id="every-area"),
                                   pytest.param("one", id="one-area")])
def test_a_portfolio_takes_as_many_queries_for_300_entries_as_for_5(app, world, loop, areas):
    add_entries(app, loop, 5)
    with app.app_context():
        area_id = frameworks.get_framework(loop["framework"].id).current_areas[0].id
    chosen = None if areas is None else {area_id}

    def build():
        with app.app_context():
            portfolio = portfolio_of(loop["apprentice"].id, areas=chosen)
            assert portfolio is not None and portfolio.statement is not None

    few = statements_sent(app, build)
    add_entries(app, loop, 295, first=5)
    many = statements_sent(app, build)
    assert few == many
    with app.app_context():
        assert len(portfolio_of(loop["apprentice"].id).entries) == 304


# -- where it is linked from ---------------------------------------------------------------

def test_the_apprentice_page_and_home_link_to_the_portfolio(app, world):
    jordan = world["jordan"]
    link = f'href="/apprentices/{jordan.id}/portfolio"'
    assert link in download(app, world["marian"], f"/apprentices/{jordan.id}").get_data(
        as_text=True)
    assert link in download(app, jordan, "/").get_data(as_text=True)


def test_the_page_offers_every_download(app, world):
    jordan = world["jordan"]
    page = download(app, jordan, f"/apprentices/{jordan.id}/portfolio?signed=1").get_data(
        as_text=True)
    for href in (f"/apprentices/{jordan.id}/portfolio.pdf?signed=1",
                 f"/apprentices/{jordan.id}/portfolio.json",
                 f"/apprentices/{jordan.id}/portfolio.csv", "/portfolio-schema/v1.json"):
        assert f'href="{href}"' in page


# -- the demo ------------------------------------------------------------------------------

def test_in_the_demo_jordans_pdf_lists_each_standing_sign_off(app):
    assert app.test_cli_runner().invoke(args=["apprentice", "demo"]).exit_code == 0
    with app.app_context():
        from apprentice.demo import DEMO_SIGN_OFFS
        from apprentice.people.services import find_by_email
        from apprentice.records import record_of

        jordan = find_by_email("apprentice@example.org")
        standing = [(s.competency.code, f"level {s.level.value} ({s.level.label})",
                     s.mentor.name) for s in record_of(jordan.id).standing]
    assert len(standing) == len(DEMO_SIGN_OFFS)  # all of Access Services, and TEC-01
    text = pdf_text(download(app, jordan, f"/apprentices/{jordan.id}/portfolio.pdf").data)
    for code, level, mentor in standing:
        assert re.search(sign_off_line(code, level, mentor), text), code


# -- a programme's certificate -------------------------------------------------------------

@pytest.fixture
def tiny_programme(app, make_person):
    """A one-competency programme, enrolled, its mentor paired: (apprentice, mentor,
    coordinator, enrolment id, a function completing it)."""
    from apprentice.competencies.interchange import (
        AreaSpec,
        CompetencySpec,
        FrameworkSpec,
        RuleSpec,
    )
    from apprentice.competencies.models import AreaKind
    from apprentice.programmes import services as programmes

    apprentice = make_person(name="Robin Quick", roles=["apprentice"])
    mentor = make_person(name="Marian Okafor", roles=["mentor"])
    coordinator = make_person(name="Carmen Ortiz", roles=["coordinator"])
    today = dates.today()
    with app.app_context():
        framework = frameworks.create_from_spec(FrameworkSpec(
            name="Desk basics", status="active", rule=RuleSpec(electives_required=0),
            areas=[AreaSpec("Circulation desk", AreaKind.REQUIRED, competencies=[
                CompetencySpec("DSK-01", "Runs the circulation desk alone.")])]),
            by=get_person(coordinator.id))
        enrolment = programmes.enrol(get_person(apprentice.id), framework,
                                     start=today - timedelta(days=60),
                                     by=get_person(coordinator.id))
        services.create_pairing(get_person(apprentice.id), get_person(mentor.id),
                                starts_on=today - timedelta(days=60))
        competency_id = framework.current_areas[0].current_competencies[0].id
        enrolment_id = enrolment.id

    def complete():
        sign_off_after_practice(app, apprentice.id, mentor.id, competency_id,
                                level=int(INDEPENDENT))

    return apprentice, mentor, coordinator, enrolment_id, complete


def test_a_complete_programme_has_a_certificate_linked_from_its_page(app, tiny_programme):
    apprentice, mentor, coordinator, enrolment_id, complete = tiny_programme
    url = f"/programmes/{enrolment_id}/certificate"
    assert as_person(app, apprentice).get(url).status_code == 404  # not complete yet
    assert url not in as_person(app, apprentice).get(f"/programmes/{enrolment_id}").get_data(
        as_text=True)
    complete()
    for reader in (apprentice, coordinator):
        page = words(download(app, reader, url).get_data(as_text=True))
        assert "Programme complete" in page
        assert "This certifies that Robin Quick has met every requirement of Desk basics" in page
        assert "1 competency signed off by Marian Okafor, in 1 area, with 1 h of practice" in page
    assert f'href="{url}"' in as_person(app, apprentice).get(
        f"/programmes/{enrolment_id}").get_data(as_text=True)
    # The programme page is not a mentor's (programmes.permissions), nor its certificate.
    assert as_person(app, mentor).get(url).status_code == 404


def test_a_withdrawn_programme_has_no_certificate(app, tiny_programme):
    from apprentice.programmes import services as programmes
    from apprentice.programmes.models import EnrolmentStatus

    apprentice, _mentor, coordinator, enrolment_id, complete = tiny_programme
    complete()
    with app.app_context():
        programmes.finish(programmes.get_enrolment(enrolment_id), EnrolmentStatus.WITHDRAWN,
                          by=get_person(coordinator.id))
    assert as_person(app, apprentice).get(
        f"/programmes/{enrolment_id}/certificate").status_code == 404
