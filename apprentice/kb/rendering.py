"""Markdown to safe HTML: rendered by markdown-it, then sanitised by nh3 (Ammonia).

Raw HTML in the Markdown is not passed through, and whatever comes out is
cleaned again against an allow-list, so no script, event handler or
``javascript:``/``data:``/``vbscript:`` link survives in any spelling. Every
place that shows procedure text (pages, previews, snippets, diffs) goes through
:func:`sanitise` or :func:`render`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)

# Table alignment as a class, not markdown-it's ``style="text-align:..."``: the
# Content-Security-Policy allows no inline style (apprentice/core/headers.py).
ALIGN_CLASSES = {"left": "ap-align-left", "center": "ap-align-center",
                 "right": "ap-align-right"}


def _align_by_class(state) -> None:
    """Turn each table cell's alignment style into one of ``ALIGN_CLASSES``."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs:
            style = str(token.attrs.pop("style", ""))
            align = ALIGN_CLASSES.get(style.removeprefix("text-align:").strip())
            if align:
                token.attrs["class"] = align


_markdown.core.ruler.push("ap_align_by_class", _align_by_class)

SECTION_TAGS = {"h1", "h2"}  # a section of a page starts at each of these headings
APP_IDS = "ap-"  # the app's own element ids: a heading's anchor never takes one of them


def _heading_text(inline) -> str:
    """A heading's words as a reader sees them (emphasis, code and links undone)."""
    return " ".join("".join(child.content for child in inline.children or []
                            if child.type in ("text", "code_inline")).split())


def _slug(text: str) -> str:
    slug = "-".join(re.findall(r"\w+", text.lower()))[:80] or "section"
    return "s-" + slug if slug.startswith(APP_IDS) else slug


def _anchor_headings(state) -> None:
    """Give every heading an ``id`` made from its words ("Checking in an item" ->
    ``checking-in-an-item``, a second one ``-2``), so search can link to the section
    that answers (:func:`sections` reads the same ids)."""
    taken: set[str] = set()
    tokens = state.tokens
    for position, token in enumerate(tokens):
        if token.type == "heading_open" and position + 1 < len(tokens):
            slug = anchor = _slug(_heading_text(tokens[position + 1]))
            number = 1
            while anchor in taken:
                number += 1
                anchor = f"{slug}-{number}"
            taken.add(anchor)
            token.attrs["id"] = anchor


_markdown.core.ruler.push("ap_anchor_headings", _anchor_headings)

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote",
    "pre", "code", "em", "strong", "del", "s", "a", "img", "table", "thead", "tbody", "tr",
    "th", "td", "mark", "ins", "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "span": {"class"},
    **{f"h{level}": {"id"} for level in range(1, 7)},  # the sections' anchors
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitise(html: str) -> Markup:
    """Clean HTML against the allow-list; the result is safe to put in a page."""
    return Markup(nh3.clean(  # noqa: S704 - nh3 has just cleaned it
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        # Cells keep their alignment class and no other; no tag keeps a style.
        allowed_classes={"th": set(ALIGN_CLASSES.values()), "td": set(ALIGN_CLASSES.values())},
    ))


@lru_cache(maxsize=256)
def render(markdown: str) -> Markup:
    """A procedure's Markdown as safe HTML. The same text always gives the same HTML,
    so the pages read most are rendered once per process (a third of a procedure
    page's time was rendering its Markdown again)."""
    return sanitise(_markdown.render(markdown or ""))


class _TextOnly(HTMLParser):
    """Rendered HTML to the words a reader sees: a space wherever a block, a list
    item, a line break or a table cell ends, so words never run together."""

    BREAKS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre",
              "table", "tr", "th", "td", "ul", "ol", "img"}

    def __init__(self):
        super().__init__()  # character references are decoded into the text
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":  # an image counts by its description
            self.parts.append(f" {dict(attrs).get('alt') or ''} ")
        elif tag in self.BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.BREAKS:
            self.parts.append(" ")

    def handle_data(self, data):
        self.parts.append(data)


def plain_text(markdown: str) -> str:
    """A procedure's Markdown as the plain text a reader sees (no ``##``, ``**``, table
    pipes or link targets), on one line: what search snippets are cut from.

    Not HTML: whatever shows it must escape it (a ``<`` written in the text comes
    back as ``<``).
    """
    parser = _TextOnly()
    parser.feed(_markdown.render(markdown or ""))
    parser.close()
    return " ".join("".join(parser.parts).split())



@dataclass(frozen=True)
class Section:
    """A part of a page: the text before its first heading (``anchor`` None), or a
    top-level heading (``#`` or ``##``) and what follows up to the next one."""

    anchor: str | None
    heading: str | None
    text: str  # plain text, as :func:`plain_text` gives it


def sections(markdown: str) -> list[Section]:
    """A page's sections in order, each with the anchor the rendered page gives its
    heading; a page without headings is one section. Empty ones are left out."""
    tokens = _markdown.parse(markdown or "")
    starts = [position for position, token in enumerate(tokens)
              if token.type == "heading_open" and token.tag in SECTION_TAGS
              and token.level == 0]
    found = []
    for begin, end in zip([0, *starts], [*starts, len(tokens)], strict=True):
        part = tokens[begin:end]
        if not part:
            continue
        anchor = heading = None
        if part[0].type == "heading_open" and begin in starts:
            anchor, heading = part[0].attrs.get("id"), _heading_text(part[1])
            part = part[3:]  # the heading's words are its own field, not its text
        parser = _TextOnly()
        parser.feed(_markdown.renderer.render(part, _markdown.options, {}))
        parser.close()
        text = " ".join("".join(parser.parts).split())
        if text or heading:
            found.append(Section(anchor, heading, text))
    return found
