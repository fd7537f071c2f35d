"""Open the configured store backend (kept apart from the protocol so backends can import it freely)."""

from __future__ import annotations

from rag.config import Config
from rag.embed import Embedder
from rag.store.base import Store


def make_store(cfg: Config, embedder: Embedder, create: bool = False, replace: bool = False) -> Store:
    """Open ``cfg.store.backend``.

    ``create`` opens an empty store when nothing is built yet (first add); ``replace`` does not read or check
    what is stored at all, because the caller is about to rebuild it (an index of another embedder or
    chunker version is then replaced, not refused).
    """
    if cfg.store.backend == "faiss":
        from rag.store.faiss_store import FaissStore

        return FaissStore.open(cfg.index, embedder, create=create, replace=replace)
    from rag.store.milvus_store import MilvusStore

    return MilvusStore.open(cfg.store, embedder, create=create, replace=replace)
