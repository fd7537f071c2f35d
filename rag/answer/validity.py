"""Validity lines: is a cited document in force, expired, or past its deadline on ``as_of``?

People act on these notices, so an answer quoting a measure that expired last year, or
an application window that has closed, must say so next to the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from rag.records import Chunk, Citation


def cn_date(iso: str) -> str:
    """``2027-12-31`` -> ``2027年12月31日`` (a malformed date is shown as given)."""
    try:
        d = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d.year}年{d.month}月{d.day}日"


def _parse(iso: str | None) -> date | None:
    try:
        return date.fromisoformat(iso) if iso else None
    except ValueError:
        return None


def lapsed(chunk: Chunk, as_of: date) -> tuple[bool, bool, bool]:
    """(expired, not yet in force, deadline passed) for a clause's document on ``as_of``; unparseable dates count as unknown."""
    start, end, deadline = _parse(chunk.valid_from), _parse(chunk.valid_until), _parse(chunk.deadline)
    return bool(end and end < as_of), bool(start and start > as_of), bool(deadline and deadline < as_of)


def validity_lines(citations: Sequence[Citation], as_of: date) -> tuple[str, ...]:
    """One line per stated date of each cited document, flagged against ``as_of``."""
    lines: list[str] = []
    seen: set[str] = set()
    today = cn_date(as_of.isoformat())
    for cit in citations:
        c = cit.chunk
        if c.doc_id in seen:
            continue
        seen.add(c.doc_id)
        name = f"《{c.title.strip('《》')}》"
        start, end, deadline = _parse(c.valid_from), _parse(c.valid_until), _parse(c.deadline)
        if start and start > as_of:
            lines.append(f"注意：{name}自{cn_date(c.valid_from or '')}起施行，截至{today}尚未生效。")
        elif start and not end:
            lines.append(f"{name}自{cn_date(c.valid_from or '')}起施行。")
        if end and end < as_of:
            lines.append(f"注意：{name}有效期至{cn_date(c.valid_until or '')}，截至{today}已失效，请核实是否有新的规定。")
        elif end:
            lines.append(f"该措施有效期至{cn_date(c.valid_until or '')}（{name}）。")
        if deadline and deadline < as_of:
            lines.append(f"注意：{name}规定的截止时间为{cn_date(c.deadline or '')}，截至{today}已过期。")
        elif deadline:
            lines.append(f"{name}规定的截止时间为{cn_date(c.deadline or '')}。")
    return tuple(lines)
