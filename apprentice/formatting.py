"""Numbers in the words people use on the pages (templates reach them through the blueprint)."""

from __future__ import annotations


def duration(minutes: int | float | None) -> str:
    """A length of time as "4 h 45 min", "45 min" or "2 h"; never a decimal like "4.8".

    Rounds to the nearest whole minute; nothing (None) or zero reads "0 min".
    """
    total = max(0, round(minutes or 0))
    hours, rest = divmod(total, 60)
    if not hours:
        return f"{rest} min"
    hours_text = f"{hours:,} h"
    return f"{hours_text} {rest} min" if rest else hours_text
