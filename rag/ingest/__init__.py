"""The ingest stage: files -> clean text -> documents -> clause chunks, with a report.

One bad file never stops the run: it becomes an ``IngestError`` naming the file and the
reason, and the other files are still ingested.  Every source character ends up in a
chunk or in ``FileReport.removed`` with the reason it was dropped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rag.config import Config
from rag.ingest.clauses import CHUNKER_VERSION, ClauseChunker
from rag.ingest.clean import CleanText, Removal, clean
from rag.ingest.documents import split_documents
from rag.ingest.formats import Extracted, read_file
from rag.ingest.read import UnreadableFile
from rag.progress import track
from rag.records import Chunk, Document
from rag.sentences import instruction_sentences

__all__ = ["CHUNKER_VERSION", "FileReport", "IngestError", "IngestResult", "Removal", "document_key", "ingest",
           "ingest_file", "iter_files", "source_name"]


@dataclass(frozen=True)
class IngestError:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class FileReport:
    """What one file gave, and what was dropped from it and why."""

    source_file: str
    chars: int
    documents: int
    chunks: int
    noise_chars: int
    duplicate_chars: int
    removed: tuple[Removal, ...]
    pages: int = 0  # of a paged source (PDF)
    ocr_pages: tuple[int, ...] = ()  # pages read by OCR
    notes: tuple[str, ...] = ()  # what the reader adds: attachment links, chrome left out


@dataclass(frozen=True)
class IngestResult:
    documents: list[Document]
    chunks: list[Chunk]
    errors: list[IngestError]
    files: list[FileReport]
    duplicates_removed: int  # duplicate sections/documents dropped (count of spans)


def iter_files(paths: Sequence[str | Path], extensions: Sequence[str],
               corpus: str | Path = "") -> Iterator[tuple[Path, Path] | IngestError]:
    """``(file, root)`` for files named directly and files with a wanted extension inside folders (sorted).

    ``root`` is what the file's name is relative to (:func:`source_name`): the folder given, or for a file
    named directly the ``corpus`` folder when it lies inside it (so ``index add data/corpus/x.txt`` names the
    same document as ``index build data/corpus``), else its own folder.
    """
    exts = {e.lower() for e in extensions}
    corpus_root = Path(corpus).resolve() if corpus else None
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            root = p.resolve()
            for f in sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in exts):
                if f.is_symlink() and not f.resolve().is_relative_to(root):
                    yield IngestError(str(f), f"symbolic link to {f.resolve()}, outside the folder being ingested: skipped")
                else:
                    yield f, p
        elif p.is_file():
            inside = corpus_root is not None and p.resolve().is_relative_to(corpus_root)
            yield p, (Path(corpus) if inside else p.parent)
        else:
            yield IngestError(str(p), "no such file or folder")


def ingest_file(read: Extracted, source_file: str,
                chunker: ClauseChunker) -> tuple[list[Document], list[Chunk], FileReport]:
    """One read file through clean -> split -> chunk; a chunk of a paged file knows its pages."""
    cleaned: CleanText = clean(read.text, read.known)
    split = split_documents(cleaned, source_file)
    chunks: list[Chunk] = []
    for doc in split.documents:
        chunks += chunker.split(doc, cleaned)
    chunks = [replace(c, instructions=found) if (found := instruction_sentences(c.text)) else c for c in chunks]
    if read.page_starts:
        chunks = [replace(c, pages=pages, ocr=any(p in read.ocr_pages for p in pages))
                  for c in chunks for pages in [read.pages_of(c.char_start, c.char_end)]]
    removed = tuple(sorted(cleaned.removed + tuple(split.removed), key=lambda r: (r.start, r.end)))
    dup = sum(r.end - r.start for r in removed if r.is_duplicate)
    report = FileReport(
        source_file=source_file,
        chars=len(read.text),
        documents=len(split.documents),
        chunks=len(chunks),
        noise_chars=sum(r.end - r.start for r in removed) - dup,
        duplicate_chars=dup,
        removed=removed,
        pages=len(read.page_starts),
        ocr_pages=read.ocr_pages,
        notes=read.notes,
    )
    return split.documents, chunks, report


def source_name(path: Path, root: Path, namespace: str = "") -> str:
    """A document's identity: its path relative to the folder it was ingested from, or ``namespace/<file
    name>`` for uploads; so same-named files in different folders stay different documents, and an upload
    never takes the name of a corpus file.

    Undecodable bytes of a file name are kept as ``\\xff`` escapes: the name stays unique and printable.
    """
    if namespace:
        name = f"{namespace.rstrip('/')}/{path.name}"
    else:
        name = path.absolute().relative_to(root.absolute()).as_posix()
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def document_key(chunks: Sequence[Chunk]) -> str:
    """Hash of a document's clauses in reading order: equal keys mean the same text, wherever it lies."""
    h = hashlib.sha256()
    for c in sorted(chunks, key=lambda c: c.ordinal):
        h.update(c.embed_text().encode("utf-8", "surrogatepass") + b"\x1e")
    return h.hexdigest()[:16]


def ingest(paths: Sequence[str | Path], cfg: Config, namespace: str = "", progress: bool = False) -> IngestResult:
    """Ingest files and folders (``cfg.ingest.extensions``); per-file errors are collected.

    ``namespace`` names the documents ``namespace/<file name>`` (uploads) instead of by path.
    A document whose text repeats one already ingested in this run is skipped with a reason.
    ``progress`` reports the files on stderr (:func:`rag.progress.track`).
    """
    chunker = ClauseChunker(cfg.chunk.max_tokens, cfg.chunk.min_chars, cfg.chunk.encoding)
    documents: list[Document] = []
    chunks: list[Chunk] = []
    errors: list[IngestError] = []
    files: list[FileReport] = []
    seen: dict[str, str] = {}  # document key -> the source file that had it first
    entries = list(iter_files(paths, cfg.ingest.extensions, cfg.corpus))
    for entry in track(entries, len(entries), "ingest", unit="file") if progress else entries:
        if isinstance(entry, IngestError):
            errors.append(entry)
            continue
        item, root = entry
        try:
            read = read_file(item, cfg)
        except UnreadableFile as exc:
            errors.append(IngestError(str(item), exc.reason))
            continue
        docs, file_chunks, report = ingest_file(read, source_name(item, root, namespace), chunker)
        if not docs:
            errors.append(IngestError(str(item), "no document found (no notice title and no sentence ending in 。)"))
            continue
        for doc in docs:
            mine = [c for c in file_chunks if c.doc_id == doc.doc_id]
            first = seen.setdefault(document_key(mine), doc.source_file)
            if first != doc.source_file:
                errors.append(IngestError(str(item), f"《{doc.title}》 has the same text as in {first}: "
                                                     "skipped as a duplicate"))
                continue
            documents.append(doc)
            chunks += mine
        files.append(report)
    duplicates = sum(1 for f in files for r in f.removed if r.is_duplicate)
    return IngestResult(documents, chunks, errors, files, duplicates)
