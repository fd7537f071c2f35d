"""Readers for the formats notices are published in, chosen by file extension.

``.txt``/``.md`` are decoded text; ``.pdf``, ``.docx``, ``.doc`` and ``.html``/``.htm`` go through
their reader (:mod:`.pdf`, :mod:`.word`, :mod:`.legacy_doc`, :mod:`.web`).  Every reader returns an
:class:`Extracted` and refuses what it cannot read with ``UnreadableFile`` and a reason.  A Word file
whose content is the other Word format than its name says (a .doc saved as .docx) is read as what it is.
"""

from __future__ import annotations

from pathlib import Path

from rag.config import Config
from rag.ingest.formats.extracted import Extracted
from rag.ingest.read import read_bytes, text_of

__all__ = ["Extracted", "read_file"]

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office (.doc) container
_ZIP = b"PK\x03\x04"


def read_file(path: Path, cfg: Config) -> Extracted:
    """The text of one file, by its extension (content sniffed for Word files)."""
    data = read_bytes(path, cfg.ingest.max_file_bytes)
    suffix = path.suffix.lower()
    if suffix in (".doc", ".docx"):
        suffix = ".doc" if data.startswith(_OLE) else ".docx" if data.startswith(_ZIP) else suffix
    if suffix == ".pdf":
        from rag.ingest.formats.pdf import read_pdf

        return read_pdf(data, cfg.formats)
    if suffix == ".docx":
        from rag.ingest.formats.word import read_docx

        return read_docx(data)
    if suffix == ".doc":
        from rag.ingest.formats.legacy_doc import read_doc

        return read_doc(path, cfg.formats)
    if suffix in (".html", ".htm"):
        from rag.ingest.formats.web import read_html

        return read_html(data, cfg.formats)
    return Extracted(text_of(data))
