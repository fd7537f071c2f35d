"""The persistent index: FAISS vectors + JSONL records + a manifest, written atomically.

Layout of ``<root>/<name>/``::

    manifest.json     embedder id/dim, chunker version, per-document content hashes, counts,
                      built_at, index type
    vectors.faiss     faiss.write_index (row i = chunks.jsonl line i); no pickle anywhere
    chunks.jsonl      one Chunk.to_dict() per line
    documents.jsonl   one Document.to_dict() per line
    bm25/             the keyword index (``rag.lexical``: bm25s files + tokenizer terms), so an open does not
                      tokenise the corpus again
    units.npy         float32 vectors of every chunk's quotable units (``rag.sentences.quotable_units``),
                      chunk by chunk in row order; numpy format, loaded with allow_pickle=False.
                      The answer stage scores sentences with these, so it embeds only the question.

Writes are atomic: the new index is written to ``.<name>.building-<pid>`` beside the target,
the old folder is renamed to ``.<name>.previous``, the new one renamed into place, and the
previous one deleted.  A process killed at any moment leaves either the old index in place,
or (in the instant between the two renames) ``.<name>.previous``, which ``load_index``
reads and the next write puts back.  Readers take all five files through one directory
handle, so a concurrent swap never mixes two builds.  Updates reuse the stored vectors of unchanged chunks, so only new or changed
text reaches the embedder.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.config import IndexConfig
from rag.embed import Embedder
from rag.records import Chunk, Document
from rag.sentences import quotable_units

from rag.ingest import CHUNKER_VERSION, document_key
from rag.lexical import BM25Index
from rag.store.base import (StoreError, StoreMismatchError, StoreNotFoundError, embed_chunks, mismatches, removed_by,
                            replaced_by, text_hash)

FORMAT_VERSION = 2  # 2: units.npy (sentence vectors)


class IndexNotFoundError(StoreNotFoundError):
    """No index at the configured path; the message says how to build one."""


class IndexMismatchError(StoreMismatchError):
    """The index was built with another embedder or chunker; the message says how to rebuild."""


class IndexUpdateError(StoreError):
    """An add/remove that cannot be applied (e.g. nothing matches what should be removed)."""


@dataclass
class Index:
    """Chunks and documents in memory, their vectors in a FAISS index (row i = ``chunks[i]``)."""

    path: Path
    chunks: list[Chunk]
    documents: list[Document]
    manifest: dict[str, Any]
    faiss_index: faiss.Index
    units: np.ndarray  # vectors of every chunk's quotable units, chunk by chunk in row order
    lexical: BM25Index | None = None  # the keyword index, as stored in bm25/ (None: the retriever builds one)
    _by_doc: dict[str, list[int]] = field(init=False, repr=False)
    _pos: dict[str, int] = field(init=False, repr=False)
    _unit_start: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pos = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        counts = [len(quotable_units(c.text)) for c in self.chunks]
        self._unit_start = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])
        if int(self._unit_start[-1]) != len(self.units):
            raise IndexMismatchError(f"index at {self.path}/ has {len(self.units)} unit vectors for "
                                     f"{int(self._unit_start[-1])} units; rebuild with: policy-rag index build [PATH ...]")
        by_doc: dict[str, list[int]] = {}
        for i, c in enumerate(self.chunks):
            by_doc.setdefault(c.doc_id, []).append(i)
        self._by_doc = {d: sorted(rows, key=lambda r: self.chunks[r].ordinal) for d, rows in by_doc.items()}

    @property
    def dim(self) -> int:
        return int(self.faiss_index.d)

    def __len__(self) -> int:
        return len(self.chunks)

    def search(self, qvecs: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Inner-product top-k: ``(scores, rows)`` of shape (n_queries, k), rows -1 where fewer exist.

        ``allowed`` (row ids) restricts the search inside FAISS, exact for flat and HNSW alike.
        """
        q = np.ascontiguousarray(np.atleast_2d(qvecs), dtype=np.float32)
        k = max(1, min(k, len(self.chunks)))
        if not self.chunks:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        params = None
        if allowed is not None:
            sel = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            params = (faiss.SearchParametersHNSW(sel=sel, efSearch=self.faiss_index.hnsw.efSearch)
                      if isinstance(self.faiss_index, faiss.IndexHNSW) else faiss.SearchParameters(sel=sel))
        return self.faiss_index.search(q, k, params=params)

    def vectors(self, rows: Sequence[int] | None = None) -> np.ndarray:
        """Stored vectors of the given rows (all rows by default)."""
        if rows is None:
            return self.faiss_index.reconstruct_n(0, len(self.chunks)) if self.chunks else np.zeros((0, self.dim), np.float32)
        return self.faiss_index.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    def row(self, chunk_id: str) -> int | None:
        """The FAISS row of a chunk (None when this snapshot does not hold it)."""
        return self._pos.get(chunk_id)

    def unit_vectors(self, chunk_id: str) -> np.ndarray:
        """Vectors of ``quotable_units(chunk.text)``, in order (computed when the index was built)."""
        row = self._pos.get(chunk_id)
        if row is None:
            return np.zeros((0, self.dim), np.float32)
        return self.units[self._unit_start[row]:self._unit_start[row + 1]]

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        """Every chunk of one document, in reading order."""
        return [self.chunks[r] for r in self._by_doc.get(doc_id, [])]

    def neighbours(self, chunk_id: str, n: int) -> list[Chunk]:
        """Up to ``n`` chunks either side of the chunk in its document, itself excluded, in order."""
        if chunk_id not in self._pos or n <= 0:
            return []
        rows = self._by_doc[self.chunks[self._pos[chunk_id]].doc_id]
        at = rows.index(self._pos[chunk_id])
        return [self.chunks[r] for r in rows[max(0, at - n):at] + rows[at + 1:at + 1 + n]]


def make_faiss_index(cfg: IndexConfig, vectors: np.ndarray, dim: int) -> tuple[faiss.Index, str]:
    """Exact inner product for small corpora; HNSW above ``cfg.ann_threshold`` vectors."""
    if len(vectors) > cfg.ann_threshold:
        index = faiss.IndexHNSWFlat(dim, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = cfg.hnsw_ef_construction
        index.hnsw.efSearch = cfg.hnsw_ef_search
        kind = "hnsw"
    else:
        index = faiss.IndexFlatIP(dim)
        kind = "flat-ip"
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index, kind


def _embedder_info(embedder: Embedder) -> dict[str, Any]:
    return {"id": embedder.id, "dim": int(embedder.dim)}


def _rows_key(chunks: Sequence[Chunk]) -> str:
    """Identifies the chunk rows a stored keyword index belongs to (a swap between two reads is noticed)."""
    return hashlib.sha256("\x1f".join(c.chunk_id for c in chunks).encode()).hexdigest()[:16]


def _assemble(
    cfg: IndexConfig, embedder: Embedder, documents: Sequence[Document], chunks: Sequence[Chunk],
    reuse: dict[str, np.ndarray] | None = None,
) -> tuple[Index, int]:
    """Vectors for ``chunks`` and their units (reused by text hash where possible, else embedded) -> Index.

    Returns the index and how many texts were sent to the embedder.
    """
    chunks = list(chunks)
    documents = list(documents)
    ids = [c.chunk_id for c in chunks]
    if len(set(ids)) != len(ids):
        raise IndexUpdateError("duplicate chunk ids: the same document was given twice")
    vectors, units, embedded = embed_chunks(embedder, chunks, reuse)
    fi, kind = make_faiss_index(cfg, vectors, embedder.dim)
    by_doc: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c)
    manifest = {
        "format": FORMAT_VERSION,
        "embedder": _embedder_info(embedder),
        "chunker_version": CHUNKER_VERSION,
        "index_type": kind,
        "hnsw": {"m": cfg.hnsw_m, "ef_construction": cfg.hnsw_ef_construction} if kind == "hnsw" else None,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "counts": {"documents": len(documents), "chunks": len(chunks), "vectors": int(fi.ntotal),
                   "units": len(units)},
        "documents": {
            d.doc_id: {"source_file": d.source_file, "title": d.title,
                       "chunks": len(by_doc.get(d.doc_id, [])),
                       "content_hash": document_key(by_doc.get(d.doc_id, []))}
            for d in documents
        },
    }
    return Index(cfg.path, chunks, documents, manifest, fi, units), embedded


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _writer(target: Path) -> Iterator[None]:
    """One writer per index at a time (an update reads the old index, then replaces it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(f".{target.name}.lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _sidecars(target: Path) -> tuple[Path, Path]:
    return target.with_name(f".{target.name}.building-{os.getpid()}"), target.with_name(f".{target.name}.previous")


def _clean_stale_builds(target: Path) -> None:
    """Remove half-written folders of builds whose process is gone (killed mid-write)."""
    for p in target.parent.glob(f".{target.name}.building-*"):
        try:
            os.kill(int(p.name.rsplit("-", 1)[1]), 0)
        except (ValueError, ProcessLookupError):
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:
            continue


def _recover(target: Path) -> None:
    """Put back ``.<name>.previous`` if a process died between the two renames of a swap (writers only)."""
    _, previous = _sidecars(target)
    if not (target / "manifest.json").exists() and (previous / "manifest.json").exists():
        if target.exists():
            shutil.rmtree(target)
        os.rename(previous, target)


def save(index: Index) -> None:
    """Write ``index`` to its path atomically (temp folder beside it, then rename); hold :func:`_writer`."""
    target = index.path
    _recover(target)
    _clean_stale_builds(target)
    tmp, previous = _sidecars(target)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    faiss.write_index(index.faiss_index, str(tmp / "vectors.faiss"))
    _write_jsonl(tmp / "chunks.jsonl", (c.to_dict() for c in index.chunks))
    _write_jsonl(tmp / "documents.jsonl", (d.to_dict() for d in index.documents))
    with open(tmp / "units.npy", "wb") as f:
        np.save(f, np.ascontiguousarray(index.units, dtype=np.float32), allow_pickle=False)
    index.lexical = index.lexical or BM25Index(index.chunks)
    index.lexical.save(tmp / "bm25", _rows_key(index.chunks))
    (tmp / "manifest.json").write_text(json.dumps(index.manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    for path in [*tmp.rglob("*"), tmp]:
        _fsync(path)
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        os.rename(target, previous)
    os.rename(tmp, target)
    shutil.rmtree(previous, ignore_errors=True)


def build_index(cfg: IndexConfig, embedder: Embedder, documents: Sequence[Document], chunks: Sequence[Chunk]) -> Index:
    """A fresh index of exactly these documents/chunks, replacing any index at ``cfg.path``."""
    index, _ = _assemble(cfg, embedder, documents, chunks)
    with _writer(cfg.path):
        save(index)
    return index


def _live(target: Path) -> Path:
    """Where the current index is: the target, or ``.previous`` if a swap was cut short.

    Readers never rename anything (a writer may be mid-swap); the next write recovers.
    """
    _, previous = _sidecars(target)
    if not (target / "manifest.json").exists() and (previous / "manifest.json").exists():
        return previous
    return target


def _read_manifest(cfg: IndexConfig) -> tuple[Path, dict[str, Any]]:
    live = _live(cfg.path)
    try:
        return live, json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexNotFoundError(f"no index at {cfg.path}/; build it with: policy-rag index build [PATH ...] "
                                 f"(default: the configured corpus)") from None


def check_compatible(manifest: dict[str, Any], embedder: Embedder, where: Path) -> None:
    """Raise :class:`IndexMismatchError` unless the index matches this embedder and chunker."""
    problems = mismatches(manifest, embedder, FORMAT_VERSION)
    if problems:
        raise IndexMismatchError(f"index at {where}/ was built with " + "; ".join(problems)
                                 + ".\nrebuild with: policy-rag index build [PATH ...] "
                                 "(add --embedder BACKEND before `index` to pick another embedder)")


def _read_snapshot(folder: Path) -> tuple[dict[str, Any], faiss.Index, list[Chunk], list[Document], np.ndarray]:
    """Read all five files through one directory handle: a concurrent swap renames folders, so
    every file comes from the same build, or the folder vanished (FileNotFoundError)."""
    dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        def read(name: str) -> bytes:
            with os.fdopen(os.open(name, os.O_RDONLY, dir_fd=dfd), "rb") as f:
                return f.read()

        manifest = json.loads(read("manifest.json"))
        fi = faiss.deserialize_index(np.frombuffer(read("vectors.faiss"), dtype=np.uint8))
        chunks = [Chunk.from_dict(json.loads(line)) for line in read("chunks.jsonl").decode("utf-8").splitlines()
                  if line.strip()]
        documents = [Document.from_dict(json.loads(line))
                     for line in read("documents.jsonl").decode("utf-8").splitlines() if line.strip()]
        units = np.load(io.BytesIO(read("units.npy")), allow_pickle=False)
    finally:
        os.close(dfd)
    return manifest, fi, chunks, documents, units


def load_index(cfg: IndexConfig, embedder: Embedder, attempts: int = 3) -> Index:
    """Open the index at ``cfg.path`` for this embedder (mismatches raise, with the fix)."""
    for attempt in range(attempts):
        live, manifest = _read_manifest(cfg)
        check_compatible(manifest, embedder, cfg.path)
        try:
            manifest, fi, chunks, documents, units = _read_snapshot(live)
            break
        except FileNotFoundError:  # replaced while we read it: read the new one
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)
    check_compatible(manifest, embedder, cfg.path)
    if isinstance(fi, faiss.IndexHNSW):
        fi.hnsw.efSearch = cfg.hnsw_ef_search
    if not fi.ntotal == len(chunks) == manifest.get("counts", {}).get("chunks"):
        raise IndexMismatchError(f"index at {cfg.path}/ is inconsistent ({fi.ntotal} vectors, {len(chunks)} chunks); "
                                 "rebuild with: policy-rag index build [PATH ...]")
    return Index(cfg.path, chunks, documents, manifest, fi, units, BM25Index.load(live / "bm25", len(chunks),
                                                                                  _rows_key(chunks)))


def empty_index(cfg: IndexConfig, embedder: Embedder) -> Index:
    """An index with nothing in it yet (in memory only), for a first ``add``."""
    fi, kind = make_faiss_index(cfg, np.zeros((0, embedder.dim), np.float32), embedder.dim)
    return Index(cfg.path, [], [], {"index_type": kind}, fi, np.zeros((0, embedder.dim), np.float32))


def _load_or_empty(cfg: IndexConfig, embedder: Embedder) -> Index:
    try:
        return load_index(cfg, embedder)
    except IndexNotFoundError:
        return empty_index(cfg, embedder)


def _reusable(index: Index) -> dict[str, np.ndarray]:
    """Stored chunk and unit vectors by text hash: what an update need not embed again."""
    vecs = index.vectors()
    reuse = {text_hash(c.embed_text()): vecs[i] for i, c in enumerate(index.chunks)}
    for c in index.chunks:
        reuse.update(zip((text_hash(u.strip()) for _, u in quotable_units(c.text)), index.unit_vectors(c.chunk_id)))
    return reuse


def add_documents(cfg: IndexConfig, embedder: Embedder, documents: Sequence[Document], chunks: Sequence[Chunk]) -> Index:
    """Add or replace documents (same ``doc_id`` or same ``source_file``); only new text is embedded."""
    return update_documents(cfg, embedder, documents, chunks)[0]


def update_documents(
    cfg: IndexConfig, embedder: Embedder, documents: Sequence[Document], chunks: Sequence[Chunk],
) -> tuple[Index, int]:
    """:func:`add_documents`, also returning how many texts were sent to the embedder."""
    with _writer(cfg.path):
        old = _load_or_empty(cfg, embedder)
        gone = {d.doc_id for d in replaced_by(old.documents, documents)}
        kept_docs = [d for d in old.documents if d.doc_id not in gone]
        kept_chunks = [c for c in old.chunks if c.doc_id not in gone]
        index, embedded = _assemble(cfg, embedder, kept_docs + list(documents), kept_chunks + list(chunks),
                                    _reusable(old))
        save(index)
    return index, embedded


def remove_documents(cfg: IndexConfig, embedder: Embedder, doc_ids_or_source_files: Iterable[str]) -> Index:
    """Drop documents by ``doc_id``, source file path or file name; nothing is re-embedded.

    A bare file name shared by files in different folders is refused as ambiguous: give the path.
    """
    keys = set(doc_ids_or_source_files)
    with _writer(cfg.path):
        old = load_index(cfg, embedder)
        gone = {d.doc_id for d in removed_by(old.documents, keys)}
        index, _ = _assemble(cfg, embedder, [d for d in old.documents if d.doc_id not in gone],
                             [c for c in old.chunks if c.doc_id not in gone], _reusable(old))
        save(index)
    return index


def index_status(cfg: IndexConfig) -> dict[str, Any]:
    """What is on disk at ``cfg.path`` (no embedder needed): exists, counts, embedder, size, type."""
    target = cfg.path
    try:
        live, manifest = _read_manifest(cfg)
    except IndexNotFoundError as exc:
        return {"path": str(target), "exists": False, "message": str(exc)}
    size = sum(p.stat().st_size for p in live.iterdir() if p.is_file())
    return {
        "path": str(target),
        "exists": True,
        "embedder": manifest.get("embedder"),
        "chunker_version": manifest.get("chunker_version"),
        "compatible_chunker": manifest.get("chunker_version") == CHUNKER_VERSION,
        "index_type": manifest.get("index_type"),
        "built_at": manifest.get("built_at"),
        "counts": manifest.get("counts"),
        "bytes": size,
        "documents": {k: v.get("source_file") for k, v in manifest.get("documents", {}).items()},
    }
