"""Every demo procedure reads on a phone: no sideways scrolling of the page or of the text
(8 of them hold tables wider than a phone), and axe finds nothing."""

from __future__ import annotations

import pytest

from tests.browser.steps import JORDAN, expect, go

pytestmark = pytest.mark.browser


def test_every_demo_procedure_reads_on_a_phone(page_at, sign_in, check_axe):
    page = page_at("phone")
    sign_in(page, JORDAN)
    go(page, "Procedures")
    addresses = page.locator("main ul li > a").evaluate_all("links => links.map(a => a.href)")
    assert len(addresses) >= 40, "the demo's procedures are not listed"
    too_wide = []
    for address in addresses:
        page.goto(address)
        expect(page.locator("main article")).to_be_visible()
        page_width, text_width = page.evaluate("""() => {
            const article = document.querySelector('main article');
            return [document.documentElement.scrollWidth > window.innerWidth,
                    article.scrollWidth > article.clientWidth];
        }""")
        if page_width or text_width:
            too_wide.append(f"{page.title()} ({'page' if page_width else 'text'})")
        check_axe(page)
    assert not too_wide, f"scroll sideways on a phone: {too_wide}"
