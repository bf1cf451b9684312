"""Importing procedures (Markdown, HTML or plain text): a folder, or uploaded files.

Title from the front matter, else the first heading, else the file name;
tags, areas and competency codes from the front matter. The file's path
(relative to the folder, or inside the zip) is remembered, so importing the
same files again updates pages instead of duplicating them (and skips files
that did not change). The command and the upload form share :func:`import_files`.

Uploads are never trusted: their names are only data (the files are stored
under names we make), zips are checked for paths leaving the folder, and the
number and size of files are capped before anything is unpacked.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.utils import secure_filename

from apprentice.competencies.models import Competency, CompetencyArea
from apprentice.db import db_session
from apprentice.kb import permissions, search, services
from apprentice.kb.models import Procedure
from apprentice.people.models import StaffProfile
from apprentice.validation import Invalid

SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm"}
UPLOAD_SUFFIXES = SUFFIXES | {".zip"}
MAX_FILE_BYTES = 1_000_000  # a file: procedures hold at most 200,000 characters
MAX_FILES = 2_000  # files in one upload, zip members included
MAX_UNPACKED_BYTES = 50_000_000  # everything one upload unpacks to
CHUNK = 64 * 1024
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


def read_file(path: Path, name: str | None = None) -> tuple[dict, str, str]:
    """(front matter, title, Markdown body) of one file; ``name`` is the file's own
    name when ``path`` is where an upload was stored."""
    name = PurePosixPath(name or path.name)
    text = path.read_text(encoding="utf-8-sig", errors="replace").replace("\r\n", "\n")
    meta, body = parse_front_matter(text)
    title = meta.get("title", "")
    if name.suffix.lower() in (".html", ".htm"):
        parser = _HtmlToMarkdown()
        parser.feed(body)
        body, title = parser.markdown(), title or " ".join(parser.title.split())
    heading = re.match(r"\A\s*#\s+(.+?)\s*\n", body)
    if heading and not title:
        title, body = heading.group(1), body[heading.end():]
    if not title:
        title = name.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    return meta, title, body.strip() + "\n"


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # file names; why: ``reasons``
    problems: list[str] = field(default_factory=list)  # "name: what is wrong"
    reasons: dict[str, str] = field(default_factory=dict)

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append(name)
        self.reasons[name] = reason


@dataclass(frozen=True)
class SourceFile:
    """A file to import: ``name`` is its path relative to the folder imported (``/``
    between folders), which keys the procedure; ``path`` is where its bytes are."""

    name: str
    path: Path


def readable_size(number: int) -> str:
    return f"{number / 1_000_000:.1f} MB" if number >= 100_000 else f"{number / 1000:.0f} kB"


def _too_large(name: str, size: int | None = None) -> str:
    how_big = f"{readable_size(size)}" if size else f"over {readable_size(MAX_FILE_BYTES)}"
    return (f"{name}: too large ({how_big}; the limit is {readable_size(MAX_FILE_BYTES)} a file). "
            "Split it into several procedures.")


def import_files(files: Iterable[SourceFile], by: StaffProfile | None = None,
                 report: ImportReport | None = None) -> ImportReport:
    """Create or update a procedure for each file (the one import the command and the
    upload form both use)."""
    report = report or ImportReport()
    session = db_session()
    areas = {a.name.casefold(): a.id for a in session.scalars(
        select(CompetencyArea).where(CompetencyArea.retired.is_(False)))}
    codes = {c.code.casefold(): c.id for c in session.scalars(
        select(Competency).where(Competency.retired_in.is_(None)))}
    imported = {p.source_key: p for p in session.scalars(
        select(Procedure).where(Procedure.source_key.like("import:%")))}
    seen: set[str] = set()
    for source in files:
        name = source.name
        if PurePosixPath(name).suffix.lower() not in SUFFIXES:
            report.skip(name, "not a Markdown, HTML or text file")
            continue
        key = f"import:{name}"[:255]
        if key in seen:
            report.problems.append(f"{name}: has the same name as another file imported with "
                                   "it; only the first was imported.")
            continue
        seen.add(key)
        try:
            size = source.path.stat().st_size
            if size > MAX_FILE_BYTES:
                report.problems.append(_too_large(name, size))
                continue
            meta, title, body = read_file(source.path, name)
        except OSError as exc:
            report.problems.append(f"{name}: cannot be read ({exc.strerror or exc}).")
            continue
        draft = services.ProcedureDraft(
            title=title, body=body, tags=_list(meta.get("tags")),
            area_ids=[areas[a.casefold()] for a in _list(meta.get("areas"))
                      if a.casefold() in areas],
            competency_ids=[codes[c.casefold()] for c in _list(meta.get("competencies"))
                            if c.casefold() in codes],
            summary=f"Imported from {PurePosixPath(name).name}"[:services.MAX_SUMMARY],
        )
        existing = imported.get(key)
        try:
            if existing is None:
                services.create(draft, by, publish=True, source_key=key, sync=False)
                report.created.append(name)
            elif (existing.title, existing.body, existing.tags) == (
                    title, body, services.normalise_tags(draft.tags)):
                report.skip(name, "unchanged since it was last imported")
            else:
                services.save(existing, draft, by, based_on=existing.revision_number,
                              sync=False)
                report.updated.append(name)
        except Invalid as exc:
            session.rollback()
            report.problems.append(f"{name}: {exc}")
        except IntegrityError:  # the same file, imported by someone else this moment
            session.rollback()
            report.problems.append(f"{name}: was being imported by someone else at the same "
                                   "moment; import it again.")
    # Every file, a batch of the log at a time, before returning. An index not built on
    # this server yet is built instead: no dearer than indexing what was just imported.
    search.sync_quietly(rebuild_limit=max(search.AUTO_REBUILD_LIMIT,
                                          len(report.created) + len(report.updated)))
    return report


def import_folder(folder: Path, by: StaffProfile | None = None) -> ImportReport:
    """Create or update a procedure for every readable file under ``folder``."""
    return import_files(
        [SourceFile(path.relative_to(folder).as_posix(), path)
         for path in sorted(folder.rglob("*"))
         if path.suffix.lower() in SUFFIXES and path.is_file()], by)


def _list(value) -> list[str]:
    if not value:
        return []
    return value if isinstance(value, list) else [value]


# -- uploads ---------------------------------------------------------------------------

def _has_control(text: str) -> bool:
    return any(ord(char) < 32 or 0x7F <= ord(char) < 0xA0 for char in text)


def _upload_name(filename: str | None) -> str | None:
    """An uploaded file's own name (a browser may send a whole path), or None if it
    has no usable one."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in ("", ".", "..") or _has_control(name):
        return None
    return name


def _member_name(raw: str) -> str | None:
    """A zip member's path, tidied (``./a//b`` is ``a/b``); None when it would leave the
    folder it is unpacked into (absolute, a drive, ``..``)."""
    name = raw.replace("\\", "/")
    parts = name.split("/")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or ".." in parts:
        return None
    return "/".join(part for part in parts if part not in ("", "."))


def _too_many_in_directory(path: Path) -> bool:
    """True when a zip's end record announces more files (or a bigger directory) than
    an upload may hold: checked before ``zipfile`` reads the whole directory."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 65_557))  # the end record, a comment of up to 64 kB
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return False  # not a zip at all: zipfile says so
    entries = int.from_bytes(tail[at + 10:at + 12], "little")  # 0xFFFF: a ZIP64, too many
    directory = int.from_bytes(tail[at + 12:at + 16], "little")
    return entries > MAX_FILES or directory > MAX_FILES * 1024


ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
              ValueError, NotImplementedError, RuntimeError)


@dataclass
class _Staging:
    """Uploaded files written to a temporary folder under names we choose."""

    folder: Path
    report: ImportReport
    files: list[SourceFile] = field(default_factory=list)
    stored: int = 0  # files written, for their names
    unpacked: int = 0  # bytes written

    def _write(self, name: str, source: BinaryIO, limit: int, *,
               unpacked: bool = True) -> Path | None:
        """Copy at most ``limit`` bytes of ``source``; None when it holds more."""
        self.stored += 1
        suffix = PurePosixPath(name).suffix.lower()
        stem = secure_filename(PurePosixPath(name).stem)[:40] or "file"
        target = self.folder / f"{self.stored:05d}-{stem}{suffix}"
        written = 0
        with target.open("wb") as out:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    break
                out.write(chunk)
        if written > limit:
            target.unlink()
            return None
        if unpacked:
            self.unpacked += written
        return target

    def add(self, name: str, source: BinaryIO) -> None:
        if len(self.files) >= MAX_FILES:
            self.report.problems.append(f"{name}: not imported; one upload holds at most "
                                        f"{MAX_FILES:,} files.")
            return
        path = self._write(name, source, MAX_FILE_BYTES)
        if path is None:
            self.report.problems.append(_too_large(name))
        else:
            self.files.append(SourceFile(name, path))

    def add_zip(self, name: str, source: BinaryIO, upload_limit: int) -> None:
        path = self._write(name, source, upload_limit, unpacked=False)
        if path is None:
            self.report.problems.append(f"{name}: refused: larger than an upload may be "
                                        f"({readable_size(upload_limit)}).")
            return
        refused = f"{name}: refused, nothing in it was imported:"
        try:
            if _too_many_in_directory(path):
                self.report.problems.append(f"{refused} it holds more than {MAX_FILES:,} "
                                            "files.")
                return
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(self.files) + len(members) > MAX_FILES:
                    self.report.problems.append(
                        f"{refused} it holds {len(members):,} files; one upload holds at most "
                        f"{MAX_FILES:,}.")
                    return
                declared = sum(m.file_size for m in members)
                if self.unpacked + declared > MAX_UNPACKED_BYTES:
                    self.report.problems.append(
                        f"{refused} it would unpack to {readable_size(declared)}; the limit is "
                        f"{readable_size(MAX_UNPACKED_BYTES)} for one upload.")
                    return
                unsafe = next((m.filename for m in members if _member_name(m.filename) is None),
                              None)
                if unsafe is not None:
                    self.report.problems.append(
                        f"{refused} “{unsafe}” would be unpacked outside its folder.")
                    return
                for member in members:
                    self._add_member(archive, member, name)
        except ZIP_ERRORS:
            self.report.problems.append(f"{name}: cannot be opened as a zip file.")

    def _add_member(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo,
                    zip_name: str) -> None:
        name = _member_name(member.filename)
        parts = name.split("/")
        if parts[0] == "__MACOSX" or any(part.startswith(".") for part in parts):
            return  # the hidden files archivers add (.DS_Store, ._name), not procedures
        suffix = PurePosixPath(name).suffix.lower()
        if _has_control(name):
            self.report.skip(name, "its name holds control characters")
        elif stat.S_ISLNK(member.external_attr >> 16):
            self.report.skip(name, "a link, not a file")
        elif suffix == ".zip":
            self.report.skip(name, "a zip inside a zip is not opened")
        elif suffix not in SUFFIXES:
            self.report.skip(name, "not a Markdown, HTML or text file")
        elif member.flag_bits & 0x1:
            self.report.problems.append(f"{name}: is encrypted; zip it without a password.")
        elif member.file_size > MAX_FILE_BYTES:
            self.report.problems.append(_too_large(name, member.file_size))
        else:
            try:
                with archive.open(member) as source:
                    self.add(name, source)
            except ZIP_ERRORS:
                self.report.problems.append(f"{name}: cannot be unpacked from {zip_name}.")


def import_uploads(uploads: Iterable[tuple[str | None, BinaryIO]], by: StaffProfile | None,
                   *, upload_limit: int = MAX_UNPACKED_BYTES) -> ImportReport:
    """Import uploaded files and zips of them (coordinators): the same import as a
    folder holding them, so uploading a file again updates its procedure."""
    if not permissions.may_import(by):
        raise Invalid({None: "Only coordinators import procedures."})
    report = ImportReport()
    uploads = list(uploads)
    if not uploads:
        raise Invalid({"files": "Choose one or more files to import."})
    with tempfile.TemporaryDirectory(prefix="apprentice-import-") as folder:
        staging = _Staging(Path(folder), report)
        for filename, stream in uploads:
            name = _upload_name(filename)
            suffix = PurePosixPath(name or "").suffix.lower()
            if name is None:
                report.problems.append(f"{filename!r}: has no usable file name.")
            elif suffix == ".zip":
                staging.add_zip(name, stream, upload_limit)
            elif suffix in SUFFIXES:
                staging.add(name, stream)
            else:
                report.skip(name, "not a Markdown, HTML or text file (or a .zip of them)")
        return import_files(staging.files, by, report)
