"""Open the configured store backend (kept apart from the protocol so backends can import it freely)."""

from __future__ import annotations

from pathlib import Path

from rag.config import Config
from rag.embed import Embedder
from rag.store.base import Store


def make_store(cfg: Config, embedder: Embedder, create: bool = False) -> Store:
    """Open ``cfg.store.backend``; ``create`` opens an empty store when nothing is built yet (build, add)."""
    if cfg.store.backend == "faiss":
        from rag.store.faiss_store import FaissStore

        return FaissStore.open(cfg.index, embedder, create=create)
    from rag.store.milvus_store import MilvusStore

    return MilvusStore.open(cfg.store, embedder, create=create, root=Path(cfg.index.root))
