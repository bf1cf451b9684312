"""On a phone every button, every link standing on its own (in a list, a menu, a row of
actions) and every checkbox or radio, with its label, is at least 44 by 44 px: the pages
each role uses daily, menu open, measured in the browser. A link inside a sentence is
left out (it is read, not aimed at)."""

from __future__ import annotations

import pytest

from tests.browser.steps import CARMEN, JORDAN, MARIAN

pytestmark = pytest.mark.browser

SMALLEST = 44

# Small targets on the page, as (what, width, height), from the rendered layout.
MEASURE = """(smallest) => {
  const inSentence = (el) => {
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith('inline')) {
      block = block.parentElement;
    }
    if (!block || block.tagName === 'LI') { return false; }
    const all = (block.innerText || '').replace(/\\s+/g, ' ').trim();
    const own = (el.innerText || '').replace(/\\s+/g, ' ').trim();
    return all.length > own.length + 3;
  };
  const small = [];
  document.querySelectorAll('a[href], button, summary, input, select, textarea')
    .forEach((el) => {
      if (el.type === 'hidden' || el.closest('.ap-visually-hidden')) { return; }
      const box = el.getBoundingClientRect();
      if (!box.width || !box.height) { return; }
      if (el.tagName === 'A' && inSentence(el)) { return; }
      let [w, h] = [box.width, box.height];
      if (el.type === 'checkbox' || el.type === 'radio') {
        const label = el.closest('label')
          || (el.id && document.querySelector(`label[for="${el.id}"]`));
        if (label) {
          const around = label.getBoundingClientRect();
          [w, h] = [Math.max(w, around.width), Math.max(h, around.height)];
        }
      }
      if (w < smallest - 0.5 || h < smallest - 0.5) {
        const name = (el.innerText || el.value || el.name || el.type || '').trim();
        const size = `${Math.round(w)}x${Math.round(h)}`;
        small.push(`${el.tagName.toLowerCase()} '${name.slice(0, 40)}' ${size}`);
      }
    });
  return small;
}"""

PAGES = {
    JORDAN: ["/", "/log/", "/log/new", "/programmes/mine", "/procedures/",
             "/procedures/?q=renewals"],
    # Marian's apprentice: the page her home links to.
    MARIAN: ["/", "/review/", ("/", "Open Jordan Lee's record")],
    CARMEN: ["/", "/pairings/", "/programmes/", "/programmes/enrol", "/people/", "/audit/"],
}


@pytest.mark.parametrize("who", list(PAGES), ids=["jordan", "marian", "carmen"])
def test_tap_targets_are_at_least_44_px_on_a_phone(page_at, sign_in, server, who):
    page = page_at("phone")
    sign_in(page, who)
    small = {}
    for path in PAGES[who]:
        if isinstance(path, tuple):
            start, link = path
            page.goto(server + start)
            path = page.get_by_role("link", name=link).get_attribute("href")
        page.goto(server + path)
        assert page.title() and "not found" not in page.title().lower(), path
        page.locator("summary", has_text="Menu").click()  # the menu's links count too
        found = page.evaluate(MEASURE, SMALLEST)
        if found:
            small[path] = found
    assert small == {}, f"tap targets under {SMALLEST} px on a phone: {small}"
