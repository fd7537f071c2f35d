"""The embedded default store: FAISS vectors, stored bm25s and JSONL records under ``index/<name>/``.

The files and their atomic writes are :mod:`rag.index`; this class answers the :class:`Store`
protocol over the current :class:`~rag.index.Index` snapshot.  Each call reads one snapshot, and a
write swaps in a whole new one, so a reader never sees half an update.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rag.config import IndexConfig
from rag.embed import Embedder
from rag.index import (Index, IndexNotFoundError, build_index, empty_index, index_status, load_index, remove_documents,
                       update_documents)
from rag.lexical import BM25Index, topk
from rag.records import Chunk, Document
from rag.store.base import Filters, Ranked, check_words, rrf
from rag.textnorm import fold


class FaissStore:
    backend = "faiss"

    def __init__(self, cfg: IndexConfig, embedder: Embedder, index: Index) -> None:
        self.cfg, self.embedder = cfg, embedder
        self._keyword_texts: tuple[Index, list[str]] | None = None  # folded path + text of one snapshot, on first use
        self._set(index)

    @classmethod
    def open(cls, cfg: IndexConfig, embedder: Embedder, create: bool = False, replace: bool = False) -> FaissStore:
        if replace:
            return cls(cfg, embedder, empty_index(cfg, embedder))
        try:
            return cls(cfg, embedder, load_index(cfg, embedder))
        except IndexNotFoundError:
            if not create:
                raise
            return cls(cfg, embedder, empty_index(cfg, embedder))

    def _set(self, index: Index) -> None:
        lexical = index.lexical or BM25Index(index.chunks)  # stored with the index; built here only for old ones
        self._snap = (index, lexical)  # one attribute: readers take both halves of the same build

    @property
    def index(self) -> Index:
        return self._snap[0]

    def documents(self) -> list[Document]:
        return list(self.index.documents)

    def content_keys(self) -> dict[str, str]:
        return {m["content_hash"]: m["source_file"] for m in self.index.manifest.get("documents", {}).values()}

    def count(self) -> int:
        return len(self.index.chunks)

    def containing(self, words: Sequence[str]) -> list[int]:
        index, held = self.index, self._keyword_texts
        if held is None or held[0] is not index:
            held = self._keyword_texts = (index, [fold(c.embed_text()) for c in index.chunks])
        return [sum(w in t for t in held[1]) for w in check_words(words)]

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        index = self.index
        return [index.chunks[index.row(c)] for c in ids if index.row(c) is not None]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        return self.index.document_chunks(doc_id)

    def neighbours(self, chunk_id: str, n: int) -> list[Chunk]:
        return self.index.neighbours(chunk_id, n)

    @staticmethod
    def _allowed(index: Index, filters: Filters | None) -> np.ndarray | None:
        if not filters:
            return None
        return np.asarray([i for i, c in enumerate(index.chunks) if filters.accepts(c)], dtype=np.int64)

    def dense(self, qvec: np.ndarray, k: int, filters: Filters | None = None) -> Ranked:
        index = self.index
        allowed = self._allowed(index, filters)
        if allowed is not None and not len(allowed):
            return Ranked()
        scores, rows = index.search(np.asarray(qvec, np.float32)[None, :], k, allowed=allowed)
        keep = [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]
        return Ranked(tuple(index.chunks[r].chunk_id for r, _ in keep), tuple(s for _, s in keep))

    def lexical(self, query: str, k: int, filters: Filters | None = None) -> Ranked:
        index, bm25 = self._snap
        scores = bm25.scores(query)
        allowed = self._allowed(index, filters)
        if allowed is not None:
            scores = np.where(np.isin(np.arange(len(scores)), allowed), scores, -np.inf)
        rows = [int(r) for r in topk(scores, k) if scores[r] > 0]
        return Ranked(tuple(index.chunks[r].chunk_id for r in rows), tuple(float(scores[r]) for r in rows))

    def hybrid(self, query: str, qvec: np.ndarray, k: int, filters: Filters | None = None) -> Ranked:
        return rrf([self.dense(qvec, k, filters), self.lexical(query, k, filters)], (1.0, 1.0), k, rrf_k=60)

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        index = self.index
        rows = [index.row(c) for c in ids]
        out = np.zeros((len(ids), index.dim), np.float32)
        have = [i for i, r in enumerate(rows) if r is not None]
        if have:
            out[have] = index.vectors([rows[i] for i in have])
        return out

    def unit_vectors(self, ids: Sequence[str]) -> list[np.ndarray]:
        return [self.index.unit_vectors(c) for c in ids]

    def upsert(self, documents: Sequence[Document], chunks: Sequence[Chunk]) -> int:
        index, embedded = update_documents(self.cfg, self.embedder, documents, chunks)
        self._set(index)
        return embedded

    def delete(self, keys: Iterable[str]) -> list[Document]:
        before = {d.doc_id: d for d in self.index.documents}
        index = remove_documents(self.cfg, self.embedder, keys)
        self._set(index)
        left = {d.doc_id for d in index.documents}
        return [d for i, d in before.items() if i not in left]

    def rebuild(self, documents: Sequence[Document], chunks: Sequence[Chunk]) -> None:
        self._set(build_index(self.cfg, self.embedder, documents, chunks))

    def status(self) -> dict[str, Any]:
        return {"backend": self.backend, **index_status(self.cfg)}

    def close(self) -> None:
        """Nothing to release: the snapshot is in memory and every write is its own file operation."""
