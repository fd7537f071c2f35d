"""The Store protocol, filters, ranked results and the helpers every backend shares (see rag/store/__init__.py)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from rag.embed import Embedder
from rag.ingest import CHUNKER_VERSION, document_key
from rag.records import Chunk, Document
from rag.sentences import quotable_units
from rag.textnorm import compact

__all__ = ["Filters", "Ranked", "Store", "StoreError", "StoreNotFoundError", "StoreMismatchError", "embed_chunks",
           "PLAIN_WORD", "check_words", "mismatches", "removed_by", "replaced_by", "rrf", "same_text", "text_hash"]

PLAIN_WORD = re.compile(r"[0-9a-z\u3400-\u9fff]{1,40}")  # what a backend may splice into a query (containing)


class StoreError(ValueError):
    """An update that cannot be applied (nothing matches a removal, an ambiguous file name …); says why."""


class StoreNotFoundError(FileNotFoundError):
    """Nothing has been built at the configured place yet; the message says how to build it."""


class StoreMismatchError(ValueError):
    """The store was built with another embedder, chunker or format; the message says how to rebuild."""


@dataclass(frozen=True)
class Filters:
    """Restrict hits: any of ``doc_ids`` (or their attachments); issuer substring; signing year; source file.

    Every backend applies exactly :meth:`accepts`: FAISS row by row, Milvus as an expression.
    """

    doc_ids: tuple[str, ...] = ()
    issuer: str | None = None
    year: int | None = None
    source_file: str | None = None  # a path as indexed, or a bare file name

    def __bool__(self) -> bool:
        return bool(self.doc_ids or self.issuer or self.year or self.source_file)

    def accepts(self, chunk: Chunk | Document) -> bool:
        """Chunks carry their document's fields, so the same test selects documents (Milvus) or chunks (FAISS)."""
        if self.doc_ids and chunk.doc_id not in self.doc_ids and (chunk.parent_id or "") not in self.doc_ids:
            return False
        if self.issuer and compact(self.issuer) not in compact(chunk.issuer or ""):
            return False
        if self.year and chunk.year != self.year:
            return False
        if self.source_file and self.source_file not in (chunk.source_file, file_name(chunk.source_file)):
            return False
        return True


def check_words(words: Sequence[str]) -> list[str]:
    """``words`` as given when each is a plain word (a backend may splice it into a query); else StoreError."""
    bad = [w for w in words if not PLAIN_WORD.fullmatch(w)]
    if bad:
        raise StoreError(f"not a plain word (letters, digits, CJK; at most 40): {bad[0]!r}")
    return list(words)


def text_hash(text: str) -> str:
    """The content hash stored texts and their vectors are known by."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_name(source_file: str) -> str:
    return source_file.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Ranked:
    """Chunk ids, best first, with the backend's score for each (cosine, BM25 or fused RRF)."""

    ids: tuple[str, ...] = ()
    scores: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.ids, self.scores))


class Store(Protocol):
    """Clause records, their vectors and sentence-unit vectors, a keyword index, and document records.

    Writes (``upsert``, ``delete``, ``rebuild``) are atomic for readers: they see the old data or the new,
    never half of an update.  ``upsert`` replaces documents with the same ``doc_id`` or source file.
    """

    backend: str

    def documents(self) -> list[Document]: ...

    def content_keys(self) -> dict[str, str]:
        """Each stored document's content hash -> its source file (to skip a file re-uploaded under a new name)."""
        ...

    def count(self) -> int: ...

    def containing(self, words: Sequence[str]) -> list[int]:
        """For each word (lower-case letters, digits, CJK: see :func:`check_words`), how many stored clauses'
        keyword text (folded heading path + text) contains it: how rare a question's word is here."""
        ...

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The records of ``ids`` in that order; ids no longer stored are left out."""
        ...

    def document_chunks(self, doc_id: str) -> list[Chunk]: ...

    def neighbours(self, chunk_id: str, n: int) -> list[Chunk]:
        """Up to ``n`` chunks either side in the same document, itself excluded, in reading order."""
        ...

    def dense(self, qvec: np.ndarray, k: int, filters: Filters | None = None) -> Ranked: ...

    def lexical(self, query: str, k: int, filters: Filters | None = None) -> Ranked: ...

    def hybrid(self, query: str, qvec: np.ndarray, k: int, filters: Filters | None = None) -> Ranked:
        """Both legs fused by plain RRF inside the backend (Milvus: one ``hybrid_search`` round trip)."""
        ...

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Stored clause vectors of ``ids`` (rows in that order; zeros for ids no longer stored)."""
        ...

    def unit_vectors(self, ids: Sequence[str]) -> list[np.ndarray]:
        """For each id, the vectors of ``quotable_units(chunk.text)`` in order (computed when written)."""
        ...

    def upsert(self, documents: Sequence[Document], chunks: Sequence[Chunk]) -> int:
        """Add or replace documents; returns how many texts had to be embedded."""
        ...

    def delete(self, keys: Iterable[str]) -> list[Document]:
        """Remove documents by doc id, source file path or bare file name; returns what was removed."""
        ...

    def rebuild(self, documents: Sequence[Document], chunks: Sequence[Chunk]) -> None:
        """Replace everything with exactly these documents, switched in at once when complete."""
        ...

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None:
        """Release connections and folder locks (Milvus Lite locks its folder to one process)."""
        ...


def mismatches(manifest: dict[str, Any], embedder: Embedder, format_version: int) -> list[str]:
    """Why stored data cannot serve this embedder and chunker (empty when it can): every backend's check."""
    built = manifest.get("embedder", {})
    problems = []
    if built.get("id") != embedder.id or int(built.get("dim", -1)) != int(embedder.dim):
        problems.append(f"embedder {built.get('id')} (dim {built.get('dim')}), "
                        f"but the configured one is {embedder.id} (dim {embedder.dim})")
    if manifest.get("chunker_version") != CHUNKER_VERSION:
        problems.append(f"chunker version {manifest.get('chunker_version')}, current is {CHUNKER_VERSION}")
    if manifest.get("format") != format_version:
        problems.append(f"format {manifest.get('format')}, current is {format_version}")
    return problems


def rrf(legs: Sequence[Ranked], weights: Sequence[float], k: int, rrf_k: int) -> Ranked:
    """Weighted reciprocal-rank fusion: score(id) = Σ weight / (rrf_k + rank)."""
    fused: dict[str, float] = {}
    for leg, w in zip(legs, weights):
        for rank, cid in enumerate(leg.ids):
            fused[cid] = fused.get(cid, 0.0) + w / (rrf_k + rank + 1)
    order = sorted(fused, key=lambda c: -fused[c])[:k]
    return Ranked(tuple(order), tuple(fused[c] for c in order))


def replaced_by(stored: Sequence[Document], documents: Sequence[Document]) -> list[Document]:
    """Stored documents that adding ``documents`` replaces: same ``doc_id`` or same source file, exactly."""
    keys = {d.doc_id for d in documents} | {d.source_file for d in documents}
    return [d for d in stored if d.doc_id in keys or d.source_file in keys]


def same_text(held: dict[str, str], documents: Sequence[Document], chunks: Sequence[Chunk]) -> dict[str, str]:
    """New documents whose text is already stored under another source file: doc_id -> that file.

    ``held`` is :meth:`Store.content_keys`; the key of a document is :func:`rag.ingest.document_key`.
    """
    out = {}
    for d in documents:
        first = held.get(document_key([c for c in chunks if c.doc_id == d.doc_id]))
        if first is not None and first != d.source_file:
            out[d.doc_id] = first
    return out


def removed_by(stored: Sequence[Document], keys: Iterable[str]) -> list[Document]:
    """Stored documents a removal of ``keys`` (doc ids, source paths, bare file names) takes out.

    A bare file name shared by files in different folders is refused as ambiguous: give the path.
    """
    keys = set(keys)
    for key in keys:
        files = {d.source_file for d in stored if file_name(d.source_file) == key}
        if len(files) > 1 and key not in files:
            raise StoreError(f"{key!r} is the name of {len(files)} files: {', '.join(sorted(files))}; "
                             "give the path of the one to remove")
    gone = [d for d in stored if d.doc_id in keys or d.source_file in keys or file_name(d.source_file) in keys]
    if not gone:
        raise StoreError(f"nothing to remove: no document id or source file matches {', '.join(sorted(keys))}")
    return gone


def embed_chunks(
    embedder: Embedder, chunks: Sequence[Chunk], reuse: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Clause vectors (of ``embed_text()``) and unit vectors (of ``quotable_units``, chunk by chunk).

    Vectors in ``reuse`` (by text hash) are not embedded again; returns both arrays and how many texts
    went to the embedder.  Every backend writes exactly these vectors.
    """
    def run(texts: Sequence[str]) -> tuple[np.ndarray, int]:
        hashes = [text_hash(t) for t in texts]
        todo = [i for i, h in enumerate(hashes) if h not in (reuse or {})]
        out = np.zeros((len(texts), embedder.dim), np.float32)
        if todo:
            new = embedder.embed_passages([texts[i] for i in todo])
            if new.shape != (len(todo), embedder.dim):
                raise StoreError(f"embedder {embedder.id} returned shape {new.shape}, expected {(len(todo), embedder.dim)}")
            out[todo] = new
        for i, h in enumerate(hashes):
            if reuse and h in reuse:
                out[i] = reuse[h]
        return out, len(todo)

    vectors, a = run([c.embed_text() for c in chunks])
    units, b = run([u.strip() for c in chunks for _, u in quotable_units(c.text)])
    return vectors, units, a + b
