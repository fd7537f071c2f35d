"""One contract every store backend passes (Haystack-style): subclass ``StoreContract`` and give ``store``.

The data is a slice of the real corpus (its vectors come from the shared cache).  Assertions are on ids
and order, never on raw BM25 values (Milvus Lite returns them with the opposite sign).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import numpy as np
import pytest

from rag.records import Chunk, Document
from rag.sentences import quotable_units
from rag.store import Filters, Ranked, Store, StoreError
from rag.textnorm import fold


@dataclasses.dataclass(frozen=True)
class Slice:
    """Five documents of the real corpus (``contract_slice`` in conftest.py): three of one file, two of another."""

    documents: list[Document]
    chunks: list[Chunk]


def _descending(r: Ranked) -> bool:
    return all(a >= b - 1e-6 for a, b in zip(r.scores, r.scores[1:]))


class FailingEmbedder:
    """Fails part-way through a write, to check that a failed rebuild leaves the old data readable."""

    def __init__(self, inner) -> None:
        self.inner, self.id, self.dim = inner, inner.id, inner.dim

    def embed_passages(self, texts):
        raise RuntimeError("embedder went away")

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)


class StoreContract:
    """Subclasses provide the ``store`` fixture: an empty store of their backend (``create=True``)."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        raise NotImplementedError

    @pytest.fixture
    def filled(self, store: Store, contract_slice: Slice) -> Store:
        store.rebuild(contract_slice.documents, contract_slice.chunks)
        return store

    def reopen(self, store: Store) -> Store:
        """A new handle on the same stored data (after closing ``store``)."""
        raise NotImplementedError

    def test_reopen_sees_the_same_data(self, filled: Store, contract_slice: Slice) -> None:
        again = self.reopen(filled)
        try:
            assert again.count() == len(contract_slice.chunks)
            assert sorted(d.doc_id for d in again.documents()) == sorted(d.doc_id for d in contract_slice.documents)
        finally:
            again.close()

    def test_empty_store(self, store: Store) -> None:
        assert store.count() == 0 and store.documents() == [] and store.chunks(["x"]) == []

    def test_rebuild_holds_exactly_the_documents(self, filled: Store, contract_slice: Slice) -> None:
        assert filled.count() == len(contract_slice.chunks)
        assert sorted(d.doc_id for d in filled.documents()) == sorted(d.doc_id for d in contract_slice.documents)
        assert set(filled.content_keys().values()) == {d.source_file for d in contract_slice.documents}
        st = filled.status()
        assert st["exists"] and st["counts"]["chunks"] == len(contract_slice.chunks)
        assert st["counts"]["documents"] == len(contract_slice.documents)

    def test_chunks_come_back_in_the_order_asked(self, filled: Store, contract_slice: Slice) -> None:
        a, b = contract_slice.chunks[3], contract_slice.chunks[0]
        assert filled.chunks([a.chunk_id, "no-such-chunk", b.chunk_id]) == [a, b]

    def test_dense_finds_a_clause_by_its_own_vector(self, filled: Store, contract_slice: Slice, corpus_embedder) -> None:
        target = contract_slice.chunks[5]
        vec = corpus_embedder.embed_passages([target.embed_text()])[0]
        r = filled.dense(vec, 4)
        assert r.ids[0] == target.chunk_id and len(r.ids) == 4 and _descending(r)
        assert np.allclose(filled.vectors([target.chunk_id, "no-such-chunk"]), [vec, np.zeros_like(vec)], atol=1e-5)

    def test_lexical_finds_the_rare_words(self, filled: Store, contract_slice: Slice) -> None:
        target = max(contract_slice.chunks, key=lambda c: len(c.text))
        r = filled.lexical(target.text[:40], 5)
        assert target.chunk_id in r.ids[:3] and _descending(r) and all(s > 0 for s in r.scores)
        assert filled.lexical("zzqqxx", 5).ids == ()

    def test_containing_counts_the_clauses_holding_a_word(self, filled: Store, contract_slice: Slice) -> None:
        texts = [fold(c.embed_text()) for c in contract_slice.chunks]
        rare = next(w for c in contract_slice.chunks for w in re.findall(r"[\u4e00-\u9fff]{4}", c.text)
                    if sum(w in t for t in texts) == 1)
        words = ["企业", rare, "zzqqxx"]
        assert filled.containing(words) == [sum(w in t for t in texts) for w in words]
        assert filled.containing(words)[:2] != [0, 0] and filled.containing([]) == []
        with pytest.raises(StoreError, match="plain word"):
            filled.containing(['x" or kind == "doc'])

    def test_hybrid_fuses_both_legs(self, filled: Store, contract_slice: Slice, corpus_embedder) -> None:
        target = contract_slice.chunks[7]
        query = target.text[:20]
        qvec = corpus_embedder.embed_queries([query])[0]
        r = filled.hybrid(query, qvec, 5)
        legs = set(filled.dense(qvec, 5).ids) | set(filled.lexical(query, 5).ids)
        assert r.ids and target.chunk_id in r.ids and set(r.ids) <= legs and _descending(r)

    def test_filters_restrict_every_leg(self, filled: Store, contract_slice: Slice, corpus_embedder) -> None:
        doc = next(d for d in contract_slice.documents if d.issuer and d.date)
        other = next(d for d in contract_slice.documents if d.source_file != doc.source_file)
        query = "企业 支持 政策"
        qvec = corpus_embedder.embed_queries([query])[0]
        for f in (Filters(doc_ids=(doc.doc_id,)), Filters(year=doc.year), Filters(issuer=doc.issuer[-4:]),
                  Filters(source_file=other.source_file.rsplit("/", 1)[-1])):
            for r in (filled.dense(qvec, 10, f), filled.lexical(query, 10, f), filled.hybrid(query, qvec, 10, f)):
                assert r.ids, f
                assert all(f.accepts(c) for c in filled.chunks(list(r.ids))), f
        assert filled.dense(qvec, 5, Filters(year=1990)) == Ranked() == filled.lexical(query, 5, Filters(year=1990))

    def test_units_documents_and_neighbours(self, filled: Store, contract_slice: Slice) -> None:
        doc = max(contract_slice.documents, key=lambda d: sum(c.doc_id == d.doc_id for c in contract_slice.chunks))
        rows = sorted((c for c in contract_slice.chunks if c.doc_id == doc.doc_id), key=lambda c: c.ordinal)
        assert len(rows) >= 3 and filled.document_chunks(doc.doc_id) == rows
        assert filled.neighbours(rows[1].chunk_id, 1) == [rows[0], rows[2]]
        assert filled.neighbours(rows[0].chunk_id, 1) == [rows[1]]
        assert filled.neighbours("no-such-chunk", 1) == []
        units = filled.unit_vectors([rows[1].chunk_id, "no-such-chunk"])
        assert units[0].shape == (len(quotable_units(rows[1].text)), filled.vectors([rows[1].chunk_id]).shape[1])
        assert units[1].shape[0] == 0

    def test_upsert_replaces_a_document_and_adds_a_new_one(self, filled: Store, contract_slice: Slice) -> None:
        doc = contract_slice.documents[0]
        same_file = [d for d in contract_slice.documents if d.source_file == doc.source_file]  # a file is replaced whole
        old = [c for c in contract_slice.chunks if c.doc_id in {d.doc_id for d in same_file}]
        changed = dataclasses.replace(old[0], chunk_id=old[0].chunk_id + "x", text=old[0].text + "（本条已修订）")
        filled.upsert(same_file, [changed, *old[1:]])
        assert filled.chunks([old[0].chunk_id]) == [] and filled.chunks([changed.chunk_id]) == [changed]
        assert filled.count() == len(contract_slice.chunks)
        new_doc = dataclasses.replace(doc, doc_id="newdoc0001", source_file="uploads/new.txt", title="新通知")
        new_chunk = dataclasses.replace(old[1], chunk_id="newchunk0001", doc_id="newdoc0001", source_file="uploads/new.txt")
        filled.upsert([new_doc], [new_chunk])
        assert filled.count() == len(contract_slice.chunks) + 1
        assert "newdoc0001" in {d.doc_id for d in filled.documents()}
        assert filled.lexical(changed.text[-12:], 3).ids[0] == changed.chunk_id

    def test_delete_by_id_path_and_name(self, filled: Store, contract_slice: Slice) -> None:
        first, second = contract_slice.documents[0], contract_slice.documents[-1]
        gone = filled.delete([first.doc_id])
        assert [d.doc_id for d in gone] == [first.doc_id]
        assert first.doc_id not in {d.doc_id for d in filled.documents()}
        assert all(c.doc_id != first.doc_id for c in filled.chunks([c.chunk_id for c in contract_slice.chunks]))
        name = second.source_file.rsplit("/", 1)[-1]
        assert {d.source_file for d in filled.delete([name])} == {second.source_file}
        with pytest.raises(StoreError, match="nothing to remove"):
            filled.delete(["no-such-file.txt"])
        assert filled.count() == sum(c.doc_id in {d.doc_id for d in filled.documents()} for c in contract_slice.chunks)

    def test_failed_rebuild_leaves_the_old_data(self, filled: Store, contract_slice: Slice) -> None:
        before = (filled.count(), sorted(d.doc_id for d in filled.documents()))
        good = filled.embedder  # type: ignore[attr-defined]
        filled.embedder = FailingEmbedder(good)  # type: ignore[attr-defined]
        extra = dataclasses.replace(contract_slice.chunks[0], chunk_id="brandnew0001", text="全新的条款文本，尚未向量化。")
        try:
            with pytest.raises(RuntimeError, match="embedder went away"):
                filled.rebuild(contract_slice.documents, [*contract_slice.chunks, extra])
        finally:
            filled.embedder = good  # type: ignore[attr-defined]
        assert (filled.count(), sorted(d.doc_id for d in filled.documents())) == before
        with pytest.raises(StoreError, match="duplicate chunk ids"):
            filled.rebuild(contract_slice.documents, contract_slice.chunks + contract_slice.chunks[:1])
        assert filled.count() == before[0]
