"""A table row as one self-contained line: “设区市: 青禾市 | 补助上限(万元): 15”.

Read row by row, a table loses its column names and a question about one row cannot be
answered or cited.  Every reader (PDF, Word, web page) turns its cells into rows of strings,
``None`` standing for a cell covered by a merged neighbour; the same rules then apply.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_BREAK = re.compile(r"\s*\n\s*")
_SPACE = re.compile(r"[ \t\u00a0\u3000]+")


def cell_text(text: str | None) -> str:
    """A cell's text on one line: a break wrapped inside Chinese text is dropped, others become a space."""
    if not text:
        return ""
    joined = _BREAK.sub(lambda m: " " if _ascii_edges(text, m.start(), m.end()) else "", text.strip())
    return _SPACE.sub(" ", joined)


def _ascii_edges(text: str, start: int, end: int) -> bool:
    return start > 0 and end < len(text) and text[start - 1].isascii() and text[end].isascii()


def table_lines(rows: Sequence[Sequence[str | None]]) -> list[str]:
    """One line per body row, each cell prefixed by its column name; the first row names the columns.

    ``None`` is a cell covered by the merged cell to its left: the merged text is written once.
    Readers repeat the text of a cell merged down the rows, so that every row stands alone.
    """
    grid = [[None if c is None else cell_text(c) for c in row] for row in rows if any(row)]
    if not grid:
        return []
    width = max(len(r) for r in grid)
    header = _header(grid[0] + [""] * (width - len(grid[0])))
    if len(grid) == 1:
        return [" | ".join(c for c in grid[0] if c)]
    lines = []
    for row in grid[1:]:
        cells = [f"{header[j]}: {value}" if header[j] else value for j, value in enumerate(row) if value]
        if cells:
            lines.append(" | ".join(cells))
    return lines


def _header(row: list[str | None]) -> list[str]:
    """Column names; a name merged across columns names each of them."""
    names: list[str] = []
    for c in row:
        names.append(c if c is not None else (names[-1] if names else ""))
    return names
