"""What a format reader hands to cleaning: text, the noise it already recognised, and its pages.

A reader knows things plain text has lost: which line is a running header, where a page
starts, which line break is only a visual wrap.  It writes every line it saw (furniture
included) and records those facts as spans, so cleaning still works by deletion only and
every removed character is reported with its reason.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from rag.ingest.clean import LINE_WRAP, Removal
from rag.textnorm import unify_ideographs


@dataclass(frozen=True)
class Extracted:
    """A file's text as read, with the map back to its pages (``page_starts[i]`` = offset of page i+1)."""

    text: str
    known: tuple[Removal, ...] = ()  # spans recognised from the layout: furniture, visual wraps
    page_starts: tuple[int, ...] = ()  # () for formats without pages
    ocr_pages: tuple[int, ...] = ()  # 1-based pages whose text was recognised from an image
    notes: tuple[str, ...] = ()  # for the ingest report: attachment links, OCR figures

    def pages_of(self, start: int, end: int) -> tuple[int, ...]:
        """The 1-based pages that text offsets ``[start, end)`` lie on."""
        if not self.page_starts:
            return ()
        first = bisect.bisect_right(self.page_starts, start)
        last = bisect.bisect_right(self.page_starts, max(start, end - 1))
        return tuple(range(max(first, 1), last + 1))


class TextBuilder:
    """Writes a reader's lines one by one, remembering page starts and the known spans."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._known: list[Removal] = []
        self._pages: list[int] = []

    def start_page(self) -> None:
        self._pages.append(self._length)

    def line(self, text: str, reason: str | None = None, wraps: bool = False) -> None:
        """One line; ``reason`` marks it all as noise, ``wraps`` marks its line break as a visual wrap."""
        text = unify_ideographs(text.replace("\n", " ").replace("\r", " ")) + "\n"
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        if reason:
            self._known.append(Removal(start, self._length, reason, text))
        elif wraps:
            self._known.append(Removal(self._length - 1, self._length, LINE_WRAP, "\n"))

    def blank(self) -> None:
        """A paragraph gap: one empty line (never two in a row, never at the start)."""
        if self._parts and self._parts[-1] != "\n":
            self._parts.append("\n")
            self._length += 1

    def build(self, ocr_pages: tuple[int, ...] = (), notes: tuple[str, ...] = ()) -> Extracted:
        return Extracted("".join(self._parts), tuple(self._known), tuple(self._pages), ocr_pages, notes)
