"""Read a Word .docx: body paragraphs and tables in document order, headers and footers as noise.

python-docx gives a merged cell once per grid position it spans; a cell repeated across a row
is written once, a cell repeated down the rows stays in each row so every row stands alone.
Headers and footers are written first and last and marked, so the report counts them.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from rag.ingest.clean import RUNNING_FOOTER, RUNNING_HEADER
from rag.ingest.formats.extracted import Extracted, TextBuilder
from rag.ingest.formats.tables import table_lines
from rag.ingest.read import UnreadableFile


def read_docx(data: bytes) -> Extracted:
    """The document's text; a damaged or mislabelled file is refused with the reason."""
    try:
        import docx
        from docx.oxml.ns import qn
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as exc:
        raise UnreadableFile("reading .docx needs python-docx: pip install 'policy-rag[formats]'") from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(f"not a valid .docx ({exc}): damaged, or another format with a .docx name") from exc
    except (KeyError, ValueError) as exc:  # a zip without the Word parts, or broken XML
        raise UnreadableFile(f"not a valid .docx: the Word document part is missing or broken ({exc})") from exc
    headers, footers = _furniture(document)
    out = TextBuilder()
    for text in headers:
        out.line(text, reason=RUNNING_HEADER)
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:p"):
            for text in Paragraph(element, document).text.split("\n"):
                out.line(text)
        elif element.tag == qn("w:tbl"):
            out.blank()
            for text in table_lines(_rows(Table(element, document))):
                out.line(text)
            out.blank()
    for text in footers:
        out.line(text, reason=RUNNING_FOOTER)
    return out.build()


def _rows(table: Any) -> list[list[str | None]]:
    """Cell texts per grid position; ``None`` where the cell is the one to its left (merged across)."""
    rows = []
    for row in table.rows:
        cells: list[str | None] = []
        previous = None
        for cell in row.cells:
            cells.append(None if cell._tc is previous else cell.text)
            previous = cell._tc
        rows.append(cells)
    return rows


def _furniture(document: Any) -> tuple[list[str], list[str]]:
    """The distinct non-empty header and footer lines of all sections."""
    headers: list[str] = []
    footers: list[str] = []
    for section in document.sections:
        for part, found in ((section.header, headers), (section.first_page_header, headers),
                            (section.footer, footers), (section.first_page_footer, footers)):
            for p in part.paragraphs:
                text = p.text.strip()
                if text and text not in found:
                    found.append(text)
    return headers, footers
