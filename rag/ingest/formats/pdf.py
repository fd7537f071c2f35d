"""Read a PDF: its text layer line by line, tables as tables, scanned pages through OCR.

The text written for a PDF keeps every line the page shows, furniture included, so the
cleaner reports what it drops; the layout decides what plain text cannot: which lines are
running headers, footers and page numbers (:mod:`.furniture`), and which line breaks are only
visual wraps (a line running to the right margin, continued by an unindented line).
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.config import FormatsConfig
from rag.ingest.clauses import starts_with_marker
from rag.ingest.formats.extracted import Extracted, TextBuilder
from rag.ingest.formats.furniture import PageLine, find_furniture
from rag.ingest.formats.ocr import ocr_lines, ocr_missing
from rag.ingest.formats.tables import table_lines
from rag.ingest.read import UnreadableFile


@dataclass(frozen=True)
class _Line:
    page: int  # 0-based
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # font size: the width of one Chinese character


@dataclass(frozen=True)
class _Table:
    page: int
    top: float
    rows: tuple[tuple[str | None, ...], ...]


@dataclass(frozen=True)
class _Page:
    height: float
    items: tuple[_Line | _Table, ...]  # top to bottom
    ocr: bool


def read_pdf(data: bytes, cfg: FormatsConfig) -> Extracted:
    """The text of every page; pages without a text layer are OCRed, or named in the error."""
    try:
        import pdfplumber
        from pdfplumber.utils.exceptions import PdfminerException
    except ImportError as exc:
        raise UnreadableFile("reading PDF needs pdfplumber: pip install 'policy-rag[formats]'") from exc
    pages: list[_Page] = []
    unread: list[_NoTextLayer] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for i, page in enumerate(pdf.pages):
                try:
                    pages.append(_read_page(page, i, cfg))
                except _NoTextLayer as exc:
                    unread.append(exc)
                    pages.append(_Page(float(page.height), (), False))
    except PdfminerException as exc:
        raise UnreadableFile(_pdf_problem(exc.args[0] if exc.args else exc)) from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # pdfminer on a damaged file
        raise UnreadableFile(f"damaged PDF, cannot be parsed ({type(exc).__name__}: {exc})") from exc
    if not pages:
        raise UnreadableFile("PDF without pages")
    if unread:
        numbers = ", ".join(str(e.page + 1) for e in unread)
        raise UnreadableFile(f"page(s) {numbers} of {len(pages)} have no text layer (scanned images) and cannot be "
                             f"read: {unread[0].why}")
    ocr_pages = tuple(i + 1 for i, p in enumerate(pages) if p.ocr)
    extracted = _write(pages, cfg, ocr_pages)
    if not extracted.text.strip():
        raise UnreadableFile("PDF has no text on any page")
    return extracted


def _pdf_problem(exc: object) -> str:
    name = type(exc).__name__
    if "Password" in name or "Encrypt" in name:
        return "encrypted PDF: it needs a password to open; save an unprotected copy"
    if "Syntax" in name or "NoValid" in name or "EOF" in name:
        return f"not a valid PDF ({name}: {exc})"
    return f"cannot read PDF ({name}: {exc})"


def _inside(obj: dict[str, Any], boxes: Sequence[tuple[float, float, float, float]]) -> bool:
    cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
    return any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)


def _read_page(page: Any, number: int, cfg: FormatsConfig) -> _Page:
    if not any(c["text"].strip() for c in page.chars):
        if not page.images:
            return _Page(float(page.height), (), False)
        return _Page(float(page.height), tuple(_ocr_page(page, number, cfg)), True)
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]
    body = page.filter(lambda o: not (o.get("object_type") == "char" and _inside(o, boxes))) if boxes else page
    items: list[_Line | _Table] = []
    for ln in body.extract_text_lines(strip=True, return_chars=True):
        if ln["text"].strip():
            size = statistics.median(float(c["size"]) for c in ln["chars"])
            items.append(_Line(number, ln["text"], ln["x0"], ln["x1"], ln["top"], ln["bottom"], size))
    items += [_Table(number, t.bbox[1], _rows(t)) for t in tables]
    return _Page(float(page.height), tuple(sorted(items, key=lambda it: it.top)), False)


def _rows(table: Any) -> tuple[tuple[str | None, ...], ...]:
    """The table's cells, with a cell merged down the rows repeated in each row it covers.

    pdfplumber gives ``None`` for every covered cell; the merged rectangle covering it says
    whether it was merged from above (repeat the text) or from the left (write it once).
    """
    rows = [list(r) for r in table.extract()]
    centres: dict[int, float] = {}
    for r in table.rows:
        for j, cell in enumerate(r.cells):
            if cell is not None:
                centres.setdefault(j, (cell[0] + cell[2]) / 2)
    for i, (row, geometry) in enumerate(zip(rows, table.rows)):
        for j, value in enumerate(row):
            if value is not None or i == 0 or j not in centres:
                continue
            cy = (geometry.bbox[1] + geometry.bbox[3]) / 2
            cover = next((c for c in table.cells if c[0] <= centres[j] <= c[2] and c[1] <= cy <= c[3]), None)
            if cover is not None and cover[1] < geometry.bbox[1] - 0.5:
                row[j] = rows[i - 1][j]
    return tuple(tuple(r) for r in rows)


def _ocr_page(page: Any, number: int, cfg: FormatsConfig) -> list[_Line]:
    """A scanned page's lines, in PDF points like text-layer lines."""
    missing = "OCR is off (formats.ocr = false)" if not cfg.ocr else ocr_missing(cfg.ocr_lang)
    if missing:
        raise _NoTextLayer(number, missing)
    image = page.to_image(resolution=cfg.ocr_dpi).original
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    scale = 72.0 / cfg.ocr_dpi
    return [_Line(number, ln.text, ln.x0 * scale, ln.x1 * scale, ln.top * scale, ln.bottom * scale,
                  (ln.bottom - ln.top) * scale)
            for ln in ocr_lines(buf.getvalue(), cfg.ocr_lang, cfg.ocr_psm, cfg.ocr_timeout)]


class _NoTextLayer(UnreadableFile):
    """A scanned page that cannot be OCRed: collected so the error names every such page."""

    def __init__(self, page: int, why: str) -> None:
        super().__init__(why)
        self.page, self.why = page, why


def _write(pages: list[_Page], cfg: FormatsConfig, ocr_pages: tuple[int, ...]) -> Extracted:
    lines = [it for p in pages for it in p.items if isinstance(it, _Line)]
    furniture = find_furniture(
        [PageLine(ln.page, ln.text, ln.top / pages[ln.page].height, ln.bottom / pages[ln.page].height) for ln in lines],
        len(pages), cfg.furniture_band, cfg.furniture_share,
    )
    noise = {id(ln): reason for i, ln in enumerate(lines) if (reason := furniture.get(i))}
    body = [ln for ln in lines if id(ln) not in noise]
    left, right = min((ln.x0 for ln in body), default=0.0), max((ln.x1 for ln in body), default=0.0)
    steps = [b.top - a.top for a, b in zip(body, body[1:]) if a.page == b.page and b.top > a.top]
    pitch = statistics.median(steps) if steps else 0.0
    stream = [it for p in pages for it in p.items if id(it) not in noise]
    following = {id(a): b for a, b in zip(stream, stream[1:])}

    def gap(a: _Line, b: _Line) -> bool:
        return a.page == b.page and pitch > 0 and b.top - a.top > cfg.paragraph_gap * pitch

    def wraps(a: _Line) -> bool:
        b = following.get(id(a))
        if not isinstance(b, _Line) or gap(a, b) or b.page > a.page + 1:
            return False
        full = right - a.x1 <= cfg.wrap_slack * a.size
        indented = b.x0 - left > 0.5 * b.size
        english = a.text[-1].isascii() and a.text[-1].isalpha() and b.text[0].isascii() and b.text[0].isalpha()
        return full and not indented and not english and not starts_with_marker(b.text)

    out = TextBuilder()
    previous: _Line | _Table | None = None
    header: tuple[str | None, ...] | None = None  # of a table that may continue on the next page
    for number, page in enumerate(pages):
        out.start_page()
        first_on_page = True
        for item in page.items:
            if id(item) in noise:
                out.line(item.text, reason=noise[id(item)])  # type: ignore[union-attr]
                continue
            if isinstance(item, _Table):
                rows = item.rows
                if first_on_page and isinstance(previous, _Table) and header and len(rows[0]) == len(header):
                    rows = (header,) + (rows[1:] if rows[0] == header else rows)
                header = rows[0]
                out.blank()
                for text in table_lines(rows):
                    out.line(text)
                out.blank()
            else:
                if isinstance(previous, _Line) and gap(previous, item):
                    out.blank()
                out.line(item.text, wraps=wraps(item))
                header = None
            previous, first_on_page = item, False
    return out.build(ocr_pages)
