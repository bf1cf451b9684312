"""Files the app hands over for saving (CSV, JSON, PDF, framework exports): one place
for the Content-Disposition header, and for streaming a body made while it is sent."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context

from apprentice import csvsafe


def file_slug(text: str, limit: int = 60) -> str:
    """``text`` as part of a file name: ASCII, lower case, hyphens, so every browser and
    file system keeps it as it is ("" when nothing is left: callers have a fallback)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:limit].strip("-")


def attachment(body: bytes | str | Iterator[str], filename: str, mimetype: str) -> Response:
    """``body`` as a download saved under ``filename`` (plain ASCII: callers make it).
    An iterator is streamed within the request, so a long file is never held whole."""
    if isinstance(body, Iterator):
        body = stream_with_context(body)
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def csv_download(filename: str, header: Sequence, rows: Iterable[Sequence]) -> Response:
    """Rows as a streamed CSV download, every cell spreadsheet-safe (csvsafe)."""
    return attachment(csvsafe.csv_lines(header, rows), filename, "text/csv")
