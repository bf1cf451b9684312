"""Importing a folder of procedures (Markdown, HTML or plain text).

Title from the front matter, else the first heading, else the file name;
tags, areas and competency codes from the front matter. The file's path is
remembered, so importing the same folder again updates pages instead of
duplicating them (and skips files that did not change).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy import select

from apprentice.competencies.models import Competency, CompetencyArea
from apprentice.db import db_session
from apprentice.kb import search, services
from apprentice.kb.models import Procedure
from apprentice.people.models import StaffProfile
from apprentice.validation import Invalid

SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm"}
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def parse_front_matter(text: str) -> tuple[dict, str]:
    """The ``key: value`` / ``key: [a, b]`` lines between ``---`` fences, and the rest."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            continue
        value = value.strip()
        if value.startswith("[") and value.endswith("]"):
            meta[key.strip().lower()] = [v.strip().strip("'\"") for v in value[1:-1].split(",")
                                         if v.strip()]
        else:
            meta[key.strip().lower()] = value.strip("'\"")
    return meta, text[match.end():]


class _HtmlToMarkdown(HTMLParser):
    """Just enough of HTML to Markdown for procedure files: headings, paragraphs, lists."""

    BLOCKS = {"p", "div", "br", "tr", "table", "ul", "ol", "section", "article"}

    def __init__(self):
        super().__init__()
        self.out: list[str] = []
        self.title = ""
        self._in_title = False
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(self._skip - 1, 0)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data):
        if self._skip:
            return
        if self._in_title:
            self.title += data
        else:
            self.out.append(" ".join(data.split()) if data.strip() else "")

    def markdown(self) -> str:
        return re.sub(r"\n{3,}", "\n\n", "".join(self.out)).strip()


def read_file(path: Path) -> tuple[dict, str, str]:
    """(front matter, title, Markdown body) of one file."""
    text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    meta, body = parse_front_matter(text)
    title = meta.get("title", "")
    if path.suffix.lower() in (".html", ".htm"):
        parser = _HtmlToMarkdown()
        parser.feed(body)
        body, title = parser.markdown(), title or " ".join(parser.title.split())
    heading = re.match(r"\A\s*#\s+(.+?)\s*\n", body)
    if heading and not title:
        title, body = heading.group(1), body[heading.end():]
    if not title:
        title = path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    return meta, title, body.strip() + "\n"


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def import_folder(folder: Path, by: StaffProfile | None = None) -> ImportReport:
    """Create or update a procedure for every readable file under ``folder``."""
    report = ImportReport()
    session = db_session()
    areas = {a.name.casefold(): a.id for a in session.scalars(
        select(CompetencyArea).where(CompetencyArea.retired.is_(False)))}
    codes = {c.code.casefold(): c.id for c in session.scalars(
        select(Competency).where(Competency.retired_in.is_(None)))}
    imported = {p.source_key: p for p in session.scalars(
        select(Procedure).where(Procedure.source_key.like("import:%")))}
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES):
        key = f"import:{path.relative_to(folder).as_posix()}"[:255]
        try:
            meta, title, body = read_file(path)
        except OSError as exc:
            report.problems.append(f"{path.name}: cannot be read ({exc}).")
            continue
        tags = meta.get("tags", [])
        draft = services.ProcedureDraft(
            title=title, body=body, tags=tags if isinstance(tags, list) else [tags],
            area_ids=[areas[a.casefold()] for a in _list(meta.get("areas"))
                      if a.casefold() in areas],
            competency_ids=[codes[c.casefold()] for c in _list(meta.get("competencies"))
                            if c.casefold() in codes],
            summary=f"Imported from {path.name}",
        )
        existing = imported.get(key)
        try:
            if existing is None:
                services.create(draft, by, publish=True, source_key=key, sync=False)
                report.created.append(path.name)
            elif (existing.title, existing.body, existing.tags) == (
                    title, body, services.normalise_tags(draft.tags)):
                report.skipped.append(path.name)
            else:
                services.save(existing, draft, by, based_on=existing.revision_number,
                              sync=False)
                report.updated.append(path.name)
        except Invalid as exc:
            session.rollback()
            report.problems.append(f"{path.name}: {exc}")
    search.sync_quietly()  # the whole folder in one pass over the index
    return report


def _list(value) -> list[str]:
    if not value:
        return []
    return value if isinstance(value, list) else [value]
