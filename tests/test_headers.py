"""Security headers on every kind of apprentice response, and pages that need no inline code.

The policy forbids inline scripts and styles, so the tests also check that no
template and no rendered Markdown relies on them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from apprentice.config import ConfigError
from apprentice.core.headers import content_security_policy
from apprentice.kb.rendering import render, sanitise
from apprentice.records import dashboards
from tests.conftest import build_app
from tests.support.host import intranet_app, load_intranet

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CSP = "Content-Security-Policy"
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http:; "
          "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'")


def assert_protected(response):
    """apprentice's full set of headers, as a browser receives them."""
    headers = response.headers
    assert headers[CSP] == POLICY
    assert "unsafe-inline" not in headers[CSP]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"


def asset_headers(client, url="/assets/apprentice.css", **kwargs):
    """The headers of a file response, closed at once (a file stays open otherwise)."""
    with client.get(url, **kwargs) as response:
        assert response.status_code == 200
        return response.headers


def test_the_policy_is_the_one_documented():
    assert content_security_policy("'self'") == POLICY


def test_the_sign_in_page_and_its_assets_carry_the_headers(client):
    page = client.get("/sign-in")
    assert "Sign in" in page.get_data(as_text=True)
    assert_protected(page)
    for asset in ("/assets/apprentice.css", "/assets/apprentice.js", "/favicon.ico"):
        with client.get(asset) as response:  # a file response: closed after
            assert response.status_code == 200, asset
            assert_protected(response)


def test_a_signed_in_page_carries_the_headers(as_coordinator):
    page = as_coordinator.get("/")
    assert "Carmen Ortiz" in page.get_data(as_text=True)
    assert_protected(page)


@pytest.mark.parametrize("url", [
    pytest.param("/no-such-page", id="no-page-at-all"),
    pytest.param("/frameworks/999999", id="no-such-framework"),
])
def test_a_page_not_found_carries_the_headers(as_coordinator, url):
    response = as_coordinator.get(url)
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert_protected(response)


def test_a_server_error_page_carries_the_headers(app, as_coordinator, monkeypatch):
    def broken():
        raise RuntimeError("the dashboard broke")

    monkeypatch.setattr(dashboards, "coordinator_dashboard", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as in production, with the page
    response = as_coordinator.get("/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert_protected(response)


def test_the_search_api_carries_the_headers(app, as_coordinator):
    from apprentice.kb import search

    with app.app_context():
        search.rebuild()  # an empty index, but one: the API answers with results
    response = as_coordinator.get("/api/search?q=renewals")
    assert response.is_json and response.get_json()["query"] == "renewals"
    assert_protected(response)


@pytest.mark.parametrize("url", [
    pytest.param("/audit/records.csv", id="audit-trail"),
    pytest.param("/frameworks/{framework}/export.csv", id="framework"),
])
def test_csv_exports_carry_the_headers(app, as_coordinator, url):
    from apprentice.competencies import services as frameworks

    with app.app_context():
        framework_id = frameworks.load_default_framework().id
    response = as_coordinator.get(url.format(framework=framework_id))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    response.get_data()  # the audit trail streams: read it to the end
    assert_protected(response)


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/sign-in").headers
    secure = client.get("/sign-in", base_url="https://apprentice.library.example")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert_protected(secure)


def test_hsts_behind_a_trusted_https_proxy(tmp_path):
    app = build_app(tmp_path, APPRENTICE_TRUSTED_PROXIES=1)
    client = app.test_client()
    plain = asset_headers(client)
    proxied = asset_headers(client, headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in plain
    assert proxied["Strict-Transport-Security"] == "max-age=31536000"
    app.extensions["apprentice"].database.dispose()


def test_frame_ancestors_can_name_a_portal(tmp_path):
    app = build_app(tmp_path, APPRENTICE_FRAME_ANCESTORS="self https://portal.library.example")
    headers = asset_headers(app.test_client())
    assert headers[CSP].endswith("frame-ancestors 'self' https://portal.library.example")
    # X-Frame-Options cannot name the portal: left out, so old browsers do not refuse it.
    assert "X-Frame-Options" not in headers
    app.extensions["apprentice"].database.dispose()


@pytest.mark.parametrize("value", ["'self'; script-src *", "'self', https://a.example",
                                   "'self'\nX-Evil: 1", "  "])
def test_frame_ancestors_that_would_break_the_header_stop_the_start(tmp_path, value):
    with pytest.raises(ConfigError, match="APPRENTICE_FRAME_ANCESTORS"):
        build_app(tmp_path, APPRENTICE_FRAME_ANCESTORS=value)


# -- in a host ----------------------------------------------------------------------------

HOST_POLICY = "default-src 'self' https://cdn.library.example"


@pytest.fixture
def intranet():
    yield from load_intranet("apprentice_tests_headers_intranet")


@pytest.fixture
def host(intranet, tmp_path):
    with intranet_app(intranet, tmp_path) as app:
        yield app


def test_a_hosts_own_pages_get_none_of_apprentices_headers(host):
    response = host.test_client().get("/login")
    assert response.status_code == 200
    assert CSP not in response.headers and "X-Frame-Options" not in response.headers


def test_apprentice_pages_in_a_host_carry_the_headers_but_no_hsts(host):
    client = host.test_client()
    with client.get("/training/assets/apprentice.css",
                    base_url="https://intranet.example") as response:
        assert_protected(response)
        assert "Strict-Transport-Security" not in response.headers  # the host's call
    unknown = client.get("/training/frameworks/999999")  # not signed in: the host's login
    assert unknown.status_code == 302
    assert_protected(unknown)


def test_a_hosts_own_policy_is_kept(host):
    @host.after_request
    def intranet_policy(response):
        response.headers[CSP] = HOST_POLICY
        return response

    headers = asset_headers(host.test_client(), "/training/assets/apprentice.css")
    assert headers[CSP] == HOST_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"  # the rest still added


def test_a_policy_already_on_the_response_is_not_replaced(app):
    """A host (or a view) that set the header first keeps it: apprentice only fills gaps."""
    from flask import Response

    from apprentice.core.headers import add_security_headers

    with app.test_request_context("/"):
        response = add_security_headers(Response(headers={CSP: HOST_POLICY}))
    assert response.headers.getlist(CSP) == [HOST_POLICY]
    assert response.headers["Referrer-Policy"] == "same-origin"


# -- nothing that needs unsafe-inline -------------------------------------------------------

INLINE_STYLE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def test_no_template_has_inline_style_script_or_handler():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern in (INLINE_STYLE, INLINE_SCRIPT, EVENT_HANDLER):
            found += [f"{path.relative_to(TEMPLATES)}: {hit.group(0).strip()}"
                      for hit in pattern.finditer(text)]
    assert found == []


def test_the_scanner_catches_inline_code():
    """The patterns above can fail."""
    page = '<p style="color:red" onclick="x()">a</p><script>alert(1)</script><script src="a.js">'
    assert INLINE_STYLE.search(page) and EVENT_HANDLER.search(page)
    assert [hit.group(0) for hit in INLINE_SCRIPT.finditer(page)] == ["<script>"]


def test_markdown_tables_align_by_class_not_style():
    html = str(render("| Item | Where | Fine |\n|:--|:-:|--:|\n| DVD | Desk | $1 |"))
    assert not INLINE_STYLE.search(html)
    assert '<th class="ap-align-left">Item</th>' in html
    assert '<td class="ap-align-center">Desk</td>' in html
    assert '<td class="ap-align-right">$1</td>' in html


def test_html_in_a_procedure_keeps_no_style_and_only_alignment_classes():
    cleaned = str(sanitise('<table><tr><td style="text-align:right" class="ap-align-right '
                           'ap-wide">x</td></tr></table><p style="color:red">y</p>'))
    assert '<td class="ap-align-right">x</td>' in cleaned
    assert "style" not in cleaned and "ap-wide" not in cleaned


def test_the_alignment_classes_are_styled():
    css = (Path(__file__).resolve().parent.parent / "apprentice" / "static"
           / "apprentice.css").read_text()
    for side in ("left", "center", "right"):
        assert f"td.ap-align-{side} {{ text-align: {side}; }}" in css


def test_pages_and_exports_are_not_stored_but_assets_are_cacheable(as_coordinator):
    """Staff records stay off a shared desk computer's disk (ASVS 14.3.2); the app's own
    stylesheet and script may be cached."""
    for url in ("/", "/people/", "/audit/records.csv", "/log/procedure-suggestions?q=shelf"):
        response = as_coordinator.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
    with as_coordinator.get("/assets/apprentice.css") as asset:
        assert "no-store" not in asset.headers.get("Cache-Control", "")


def test_pages_keep_other_sites_windows_at_arms_length(as_coordinator):
    """A page opened from another site gets no handle on ours (ASVS 3.4.8)."""
    assert as_coordinator.get("/").headers["Cross-Origin-Opener-Policy"] == "same-origin"
    export = as_coordinator.get("/audit/records.csv")
    export.get_data()
    assert "Cross-Origin-Opener-Policy" not in export.headers
