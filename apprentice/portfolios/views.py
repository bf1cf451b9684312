"""A person's portfolio: the page, and the same record as PDF, JSON and CSV; and the JSON's
schema. Whoever may not see the person's portfolio gets the plain 404 of any missing
page, in every format."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
)

from apprentice.auth.access import requires
from apprentice.auth.services import current_staff
from apprentice.core import downloads
from apprentice.forms import ID
from apprentice.portfolios import export, pdf, permissions, services
from apprentice.portfolios.services import Portfolio

bp = Blueprint("portfolios", __name__)


def _portfolio(person_id: int, *, signed_only: bool = False, entries: bool = False
               ) -> Portfolio:
    """The portfolio as the viewer may see it; 404 if they may not, or nobody is there."""
    found = services.portfolio_for(current_staff(), person_id, signed_only=signed_only,
                                   entries=entries)
    if found is None:
        abort(404)
    return found


def _file(portfolio: Portfolio, extension: str, mimetype: str, body) -> Response:
    """``body`` as a download the browser saves under the portfolio's file name."""
    return downloads.attachment(body, export.filename(portfolio, extension), mimetype)


def _signed_only() -> bool:
    """``?signed=1``: signed-off competencies only; anything else lists them all."""
    return request.args.get("signed") == "1"


@bp.route(f"/apprentices/<{ID}:person_id>/portfolio")
@requires(permissions.may_open_portfolios)
def show(person_id: int):
    """The portfolio as a page that reads like a document (and prints like one)."""
    portfolio = _portfolio(person_id, signed_only=_signed_only())
    return render_template("apprentice/portfolios/portfolio.html", portfolio=portfolio,
                           own=portfolio.person.id == current_staff().id,
                           schema_version=export.SCHEMA_VERSION)


@bp.route(f"/apprentices/<{ID}:person_id>/portfolio.pdf", endpoint="pdf")
@requires(permissions.may_open_portfolios)
def pdf_download(person_id: int):
    """The same document as a tagged PDF with page numbers; 503 with the reason when
    the server cannot make PDFs."""
    portfolio = _portfolio(person_id, signed_only=_signed_only())
    try:
        pdf.engine()
    except pdf.PdfUnavailable as exc:
        current_app.logger.warning("portfolio PDF not available: %s", exc)
        return render_template("apprentice/portfolios/pdf_unavailable.html",
                               reason=str(exc), person_id=person_id), 503
    return _file(portfolio, "pdf", "application/pdf", pdf.portfolio_pdf(
        portfolio, current_app.config["APPRENTICE_PDF_PAGE_SIZE"]))


@bp.route(f"/apprentices/<{ID}:person_id>/portfolio.json", endpoint="json")
@requires(permissions.may_open_portfolios)
def json_download(person_id: int):
    """The whole record, every competency, entries included (schema: :func:`schema`)."""
    portfolio = _portfolio(person_id, entries=True)
    return _file(portfolio, "json", "application/json",
                 json.dumps(export.to_json(portfolio), ensure_ascii=False, indent=2))


@bp.route(f"/apprentices/<{ID}:person_id>/portfolio.csv", endpoint="csv")
@requires(permissions.may_open_portfolios)
def csv_download(person_id: int):
    """Entries and sign-offs, one per row, safe to open in a spreadsheet."""
    portfolio = _portfolio(person_id, entries=True)
    return _file(portfolio, "csv", "text/csv", export.csv_lines(portfolio))  # UTF-8


@bp.route("/portfolio-schema/v<int(min=1, max=1000):version>.json")
@requires(permissions.may_open_portfolios)
def schema(version: int):
    """The JSON Schema a portfolio's JSON follows, as shipped in the package."""
    try:
        text = export.schema_text(version)
    except FileNotFoundError:
        abort(404)
    return Response(text, mimetype="application/schema+json")


@bp.route(f"/programmes/<{ID}:enrolment_id>/certificate")
@requires(permissions.may_open_portfolios)
def certificate(enrolment_id: int):
    """A certificate-style page once the programme's rule is met; 404 until then, and
    for whoever may not see the programme."""
    found = services.certificate_of(current_staff(), enrolment_id)
    if found is None:
        abort(404)
    return render_template("apprentice/portfolios/certificate.html", certificate=found,
                           own=found.person.id == current_staff().id)
