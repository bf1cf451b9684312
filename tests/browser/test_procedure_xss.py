"""A procedure holding an XSS corpus, written through the procedure form and opened in the
browser, runs no script: not on its page, its edit form's preview, its history's
comparison, nor in search results. Each payload would set a window flag or open a dialog."""

from __future__ import annotations

import re

import pytest

from tests.browser.steps import CARMEN, click_to_go, expect, expect_message, search

pytestmark = pytest.mark.browser

TITLE = "Zanzibar desk <img src=x onerror=\"window.__xss='title'\"> routine"
TAGS = "zanzibar, <script>window.__xss='tag'</script>, \"><svg onload=window.__xss='tagsvg'>"
# Markdown and raw HTML, as pasted from elsewhere or typed by someone testing the wiki.
CORPUS = """## Zanzibar routine

Plain words first: the zanzibar desk opens at nine.

<script>window.__xss = 'script'; alert('script')</script>
<img src="x" onerror="window.__xss = 'img'; alert('img')">
<svg onload="window.__xss = 'svg'; alert('svg')"><circle r="4"></circle></svg>
<svg><script>window.__xss = 'svg-script'</script></svg>
<iframe src="javascript:parent.__xss = 'iframe'"></iframe>
<iframe srcdoc="<script>parent.__xss = 'srcdoc'</script>"></iframe>
<object data="javascript:window.__xss = 'object'"></object>
<embed src="javascript:window.__xss = 'embed'">
<details open ontoggle="window.__xss = 'toggle'"><summary>x</summary>y</details>
<input autofocus onfocus="window.__xss = 'focus'">
<body onload="window.__xss = 'body'">
<math><mtext><table><mglyph><style><img src=x onerror="window.__xss = 'mxss'">
<noscript><p title="</noscript><img src=x onerror=window.__xss='noscript'>"></noscript>
<form action="javascript:window.__xss = 'form'"><button>go</button></form>
<meta http-equiv="refresh" content="0;url=javascript:window.__xss = 'meta'">
<div style="background:url(javascript:window.__xss = 'css')">styled</div>
<a href="javascript:window.__xss = 'a'">a javascript link</a>
<a href=" &#14; javascript:window.__xss = 'a-spaced'">a spaced link</a>
<a href="data:text/html,<script>alert('data')</script>">a data link</a>

[a markdown link](javascript:window.__xss='md-link')
[mixed case](JaVaScRiPt:window.__xss='md-case')
[entity](javascript&#58;window.__xss='md-entity')
![an image](javascript:window.__xss='md-image')
![x](x" onerror="window.__xss='md-attr')
[by reference][ref]

[ref]: javascript:window.__xss='md-ref'

| step | what |
|---|---|
| 1 | <img src=x onerror="window.__xss='table'"> |
| 2 | `<script>code stays text</script>` |

```html
<script>window.__xss = 'fenced'</script>
```
"""

SCAN = """() => {
  const bad = [];
  const isAppScript = s => s.src && new URL(s.src).origin === location.origin
                           && !s.textContent.trim();
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const value = attr.value.replace(/[\\u0000-\\u0020]/g, '').toLowerCase();
      if (attr.name.startsWith('on')) bad.push(`${el.tagName} ${attr.name}`);
      const urls = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'srcdoc'];
      if (urls.includes(attr.name)
          && /^(javascript|vbscript|data):/.test(value) && !value.startsWith('data:image/')) {
        bad.push(`${el.tagName} ${attr.name}=${attr.value}`);
      }
    }
  }
  for (const el of document.querySelectorAll('script')) {
    if (!isAppScript(el)) bad.push(`script: ${el.outerHTML.slice(0, 80)}`);
  }
  for (const el of document.querySelectorAll('iframe, object, embed, meta[http-equiv]')) {
    bad.push(el.outerHTML.slice(0, 80));
  }
  return bad;
}"""


def box(page, label: str):
    """A text field of the procedure form, by the start of its label."""
    return page.locator("main").get_by_role("textbox", name=re.compile("^" + re.escape(label)))


def runs_no_script(page, pages, where: str) -> None:
    page.wait_for_load_state("networkidle")
    assert page.evaluate("() => window.__xss") is None, (
        f"a payload ran on {where}: {page.evaluate('() => window.__xss')}")
    assert not pages.dialogs, f"a dialog opened on {where}: {pages.dialogs}"
    assert page.evaluate(SCAN) == [], f"active content got through on {where}"


def test_a_procedure_full_of_script_runs_none(page, pages, sign_in, check_axe):
    sign_in(page, CARMEN)
    page.goto("/procedures/new")
    box(page, "Title").fill(TITLE)
    box(page, "Text (Markdown)").fill(CORPUS)
    box(page, "Tags").fill(TAGS)
    click_to_go(page, page.get_by_role("button", name="Save"))
    expect_message(page, "Procedure saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    article = page.locator("main article")
    expect(article).to_contain_text("the zanzibar desk opens at nine")
    expect(article).to_contain_text("<script>code stays text</script>")
    runs_no_script(page, pages, "the procedure's page")
    # The links that were left are harmless to follow.
    for link in article.get_by_role("link").all():
        href = (link.get_attribute("href") or "").strip().lower()
        assert not href.startswith(("javascript", "data", "vbscript")), href
    check_axe(page)
    show = page.url

    click_to_go(page, page.get_by_role("link", name="Edit"))
    expect(box(page, "Text (Markdown)")).to_have_value(
        re.compile(re.escape("<script>window.__xss = 'script'; alert('script')</script>")))
    runs_no_script(page, pages, "the edit form and its preview")
    box(page, "Text (Markdown)").fill(
        CORPUS + "\n<img src=y onerror=\"window.__xss='second'\"> one more line\n")
    summary = box(page, "What you changed")
    if summary.count():
        summary.fill("<b onmouseover=\"window.__xss='summary'\">more</b>")
    click_to_go(page, page.get_by_role("button", name="Save"))
    expect_message(page, "Saved as revision 2.")
    runs_no_script(page, pages, "the procedure's second revision")

    page.goto(show.rstrip("/") + "/history?old=1&new=2")
    expect(page.locator("main pre")).to_contain_text("one more line")
    runs_no_script(page, pages, "the history's comparison")
    check_axe(page)

    search(page, "zanzibar")
    expect(page.locator("main").get_by_role("link", name=re.compile("Zanzibar desk"))
           ).to_be_visible()
    runs_no_script(page, pages, "the search results")
    page.goto("/procedures/")
    runs_no_script(page, pages, "the list of procedures")
