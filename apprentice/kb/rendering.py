"""Markdown to safe HTML: rendered by markdown-it, then sanitised by nh3 (Ammonia).

Raw HTML in the Markdown is not passed through, and whatever comes out is
cleaned again against an allow-list, so no script, event handler or
``javascript:``/``data:``/``vbscript:`` link survives in any spelling. Every
place that shows procedure text (pages, previews, snippets, diffs) goes through
:func:`sanitise` or :func:`render`.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote",
    "pre", "code", "em", "strong", "del", "s", "a", "img", "table", "thead", "tbody", "tr",
    "th", "td", "mark", "ins", "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"style"},
    "td": {"style"},
    "ol": {"start"},
    "span": {"class"},
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
        filter_style_properties={"text-align"},
    ))


def render(markdown: str) -> Markup:
    """A procedure's Markdown as safe HTML."""
    return sanitise(_markdown.render(markdown or ""))
