"""Where clause records and their vectors live: the ``Store`` protocol every backend implements.

Two backends pass the same contract tests (``tests/store_contract.py``):

- ``faiss`` (:mod:`rag.store.faiss_store`): FAISS + stored bm25s under ``index/<name>/``, the embedded default;
- ``milvus`` (:mod:`rag.store.milvus_store`): pymilvus ``MilvusClient``, embedded (Milvus Lite, a local
  ``.db`` folder) or a Milvus server/cluster by URI, for corpora that outgrow one machine.

The interface speaks chunk ids, not row numbers, so a result stays meaningful while another writer
replaces the data: a chunk deleted between two calls is simply absent from the second answer.
Search results are :class:`Ranked` (ids with their scores, best first); fusion, reranking and
answer scoring stay in :mod:`rag.retrieve` and :mod:`rag.answer`, identical for every backend.
"""

from rag.store.base import (PLAIN_WORD, Filters, Ranked, Store, StoreError, StoreMismatchError, StoreNotFoundError,
                            embed_chunks, removed_by, replaced_by, rrf, same_text, text_hash)

__all__ = ["PLAIN_WORD", "Filters", "Ranked", "Store", "StoreError", "StoreMismatchError", "StoreNotFoundError",
           "embed_chunks", "removed_by", "replaced_by", "rrf", "same_text", "text_hash"]
