"""A portfolio as a PDF, laid out by WeasyPrint from the same document as the page.

The document holds text people typed (log entries, the learning statement), so
WeasyPrint fetches nothing on its own: :func:`read_asset` serves the app's own
stylesheets and images from the package's ``static`` folder, by name, and refuses every
other URL (http, https, file:, data:, a path with a folder in it), so no typed image or
link reaches the network or a local file. Its fonts are DejaVu, from Debian's
``fonts-dejavu-core`` (found by fontconfig; nothing to fetch).

WeasyPrint needs Pango, a system library; where it cannot be loaded, :func:`engine`
raises :class:`PdfUnavailable` with the reason, and the page says so (503) instead of
failing. The PDF is tagged (PDF/UA-1) where the installed WeasyPrint can do it.
"""

from __future__ import annotations

import re

from flask import render_template

from apprentice.resources import PACKAGE_DIR

STATIC_DIR = PACKAGE_DIR / "static"
# The one origin the PDF's assets are named under. ".invalid" never resolves (RFC 2606),
# and read_asset answers it from STATIC_DIR: nothing is fetched from anywhere.
ASSET_BASE = "https://apprentice.invalid/assets/"
STYLESHEETS = ("portfolio-print.css",)
# A file right in STATIC_DIR: a name, no folder, no escapes.
ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9]+)+")
ASSET_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png",
               ".ico": "image/vnd.microsoft.icon"}
PAGE_SIZES = {"letter": "letter", "a4": "A4"}


class PdfUnavailable(RuntimeError):
    """WeasyPrint (or a library it needs) cannot be loaded on this server."""


class RefusedURL(ValueError):
    """A URL the PDF may not load: anything but the app's own static assets."""


def read_asset(url: str) -> tuple[bytes, str]:
    """(content, MIME type) of an asset named under :data:`ASSET_BASE`, read from the
    package's static folder; :class:`RefusedURL` for any other URL."""
    name = url[len(ASSET_BASE):] if url.startswith(ASSET_BASE) else ""
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    path = STATIC_DIR / name
    if (not ASSET_NAME.fullmatch(name) or suffix not in ASSET_TYPES
            or not path.is_file() or path.resolve().parent != STATIC_DIR.resolve()):
        raise RefusedURL(f"the PDF loads only apprentice's own assets, not {url[:200]!r}")
    return path.read_bytes(), ASSET_TYPES[suffix]


def engine():
    """The weasyprint module, or :class:`PdfUnavailable` saying why it cannot load."""
    try:
        import weasyprint
    except ImportError as exc:
        raise PdfUnavailable(f"WeasyPrint is not installed ({exc}).") from exc
    except OSError as exc:  # WeasyPrint is there, Pango (a system library) is not
        raise PdfUnavailable(f"a system library WeasyPrint needs, such as Pango, cannot "
                             f"be loaded ({exc}).") from exc
    return weasyprint


def asset_fetcher(weasyprint):
    """WeasyPrint's URL fetcher answering from :func:`read_asset` only. WeasyPrint 68
    and later take a ``URLFetcher`` subclass; older ones a function answering a dict."""
    from weasyprint import urls

    if hasattr(urls, "URLFetcher"):
        class AssetFetcher(urls.URLFetcher):
            def fetch(self, url, headers=None):
                body, mime = read_asset(url)
                return urls.URLFetcherResponse(url, body, {"Content-Type": mime})

        return AssetFetcher(timeout=1, allowed_protocols=(), allow_redirects=False)

    def fetch(url):
        body, mime = read_asset(url)
        return {"string": body, "mime_type": mime, "redirected_url": url}

    return fetch


def pdf_options(weasyprint) -> dict:
    """Tagged, accessible PDF: PDF/UA-1 where the installed version has it, else tags."""
    from weasyprint import pdf

    if "pdf/ua-1" in getattr(pdf, "VARIANTS", {}):
        return {"pdf_variant": "pdf/ua-1"}
    if "pdf_tags" in getattr(weasyprint, "DEFAULT_OPTIONS", {}):
        return {"pdf_tags": True}
    return {}


def write_pdf(html: str, page_size: str = "letter") -> bytes:
    """The PDF of ``html``, a whole document naming its stylesheets under
    :data:`ASSET_BASE` (its title and ``lang`` become the PDF's)."""
    weasyprint = engine()
    fetcher = asset_fetcher(weasyprint)
    paper = weasyprint.CSS(string=f"@page {{ size: {PAGE_SIZES[page_size]}; }}",
                           url_fetcher=fetcher)
    document = weasyprint.HTML(string=html, base_url=ASSET_BASE, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[paper], **pdf_options(weasyprint))


def portfolio_pdf(portfolio, page_size: str = "letter") -> bytes:
    """The PDF of ``portfolio`` (apprentice.portfolios.services.Portfolio): the page's
    document in ``templates/apprentice/portfolios/pdf.html``, laid out by :func:`write_pdf`."""
    html = render_template("apprentice/portfolios/pdf.html", portfolio=portfolio,
                           asset_base=ASSET_BASE, stylesheets=STYLESHEETS)
    return write_pdf(html, page_size)
