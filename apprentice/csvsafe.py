"""CSV cells a spreadsheet will not run as formulas: every CSV the app writes goes
through ``safe_row`` (the audit trail, framework exports), most by ``csv_lines``.

The rule (OWASP, "CSV injection"): a text cell starting with = + - @, a tab or a
carriage return gets a leading apostrophe, which spreadsheets read as "this is text".
So does one that starts with apostrophes before one of those (so that reading back
is exact, below). Numbers stay numbers.

A CSV the app reads back (a framework export, imported again) goes through
``from_spreadsheet``: an apostrophe in front of one of those characters is the one the
export added, and is taken off, so a statement such as "-- see the manual" or
"=HYPERLINK(...)" survives the round trip as it was typed. An apostrophe in front of
anything else is text and stays. (A file typed by hand with "'=1" meaning those three
characters is read as "=1": write "''=1".)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

# A spreadsheet reads a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(text: str) -> bool:
    """Starts with = + - @, a tab or a carriage return, after any apostrophes."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def spreadsheet_safe(value):
    """A text cell a spreadsheet will not run as a formula: one starting with = + - @,
    a tab or a carriage return (after any apostrophes) gets a leading apostrophe.
    Anything else is unchanged."""
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


def safe_row(cells: Iterable) -> list:
    """A row for ``csv.writer.writerow``, every cell made spreadsheet-safe."""
    return [spreadsheet_safe(cell) for cell in cells]


def from_spreadsheet(value: str) -> str:
    """A cell as ``spreadsheet_safe`` had it before: the one apostrophe it added in front
    of = + - @, a tab or a carriage return taken off; any other text unchanged."""
    if value.startswith("'") and _formula_like(value):
        return value[1:]
    return value


def csv_lines(header: Sequence, rows: Iterable[Sequence]) -> Iterator[str]:
    """A CSV download a line at a time (a download streams and holds no whole file):
    the byte-order mark that tells spreadsheets the file is UTF-8, the header, then the
    rows, every cell spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(safe_row(cells))
        return buffer.getvalue()

    yield "\ufeff" + line(header)
    for row in rows:
        yield line(row)
