"""Files the app hands over for saving (CSV, JSON, PDF, framework exports): one place
for the Content-Disposition header, and for streaming a body made while it is sent."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context

from apprentice import csvsafe


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
