"""Running headers, running footers and page numbers of a paged document.

A line in the top or bottom band of a page is furniture when it is a page number (“- 3 -”,
“第3页 共9页”, “3/9”) or when the same line, digits aside, sits in that band on a large share
of the pages.  Body lines that happen to start a page repeat on few pages, so they stay.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rag.ingest.clean import PAGE_NUMBER, RUNNING_FOOTER, RUNNING_HEADER

_PAGE_NUMBER = re.compile(
    r"[-—–_·\s]*(?:第\s*)?\d{1,4}\s*(?:页)?\s*(?:(?:/|共)\s*\d{1,4}\s*页?)?[-—–_·\s]*"
    r"|[-—–\s]*[IVXLC]{1,6}[-—–\s]*"
)
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class PageLine:
    """A line of a page and where it sits: ``top``/``bottom`` as shares of the page height (0 = top)."""

    page: int  # 0-based
    text: str
    top: float
    bottom: float


def find_furniture(lines: Sequence[PageLine], pages: int, band: float, share: float) -> dict[int, str]:
    """``{index in lines: reason}`` for every line that is page furniture, not text."""
    def zone(ln: PageLine) -> str | None:
        return "top" if ln.bottom <= band else "bottom" if ln.top >= 1 - band else None

    def key(ln: PageLine) -> str:
        return _DIGITS.sub("#", _SPACE.sub("", ln.text))

    pages_with = Counter((z, k) for z, k, _page in {(zone(ln), key(ln), ln.page) for ln in lines if zone(ln)})
    repeated = {zk for zk, n in pages_with.items() if n >= 2 and n >= share * pages}
    found: dict[int, str] = {}
    for i, ln in enumerate(lines):
        z = zone(ln)
        if z is None:
            continue
        if _PAGE_NUMBER.fullmatch(ln.text):
            found[i] = PAGE_NUMBER
        elif (z, key(ln)) in repeated:
            found[i] = RUNNING_HEADER if z == "top" else RUNNING_FOOTER
    return found
